"""The real-service fixtures really work: containers run in the test images,
a command runs over the fixture sshd, Chromium renders a local page, and the
shared builders (run_cl, tree) do what other tests rely on."""

import os
import subprocess

import pytest

from tests.conftest import CL, Exec, Link, cl_env, run_cl, tree
from tests.services import RECIPE_LABEL, RECIPES, require_service


def _run_container(client, image, command):
    container = client.containers.run(image, command, network_disabled=True, detach=True)
    try:
        status = container.wait()
        return status["StatusCode"], container.logs(stdout=True, stderr=True).decode()
    finally:
        container.remove(force=True)


def test_busybox_image_runs_shell_without_network(docker_engine, busybox_image):
    code, output = _run_container(docker_engine, busybox_image, ["sh", "-c", "echo hi"])
    assert (code, output) == (0, "hi\n")


def test_busybox_image_has_applets_tmp_and_users(docker_engine, busybox_image):
    script = ("stat -c %a /tmp; cut -d: -f1 /etc/passwd | tr '\\n' ' '; echo; "
              "ls /sbin /usr/bin | grep -c . ; ip link | grep -c ' eth0' || true")
    code, output = _run_container(docker_engine, busybox_image, ["sh", "-c", script])
    mode, users, applets, eth0 = output.split("\n")[:4]
    assert code == 0, output
    assert mode == "1777"
    assert users.split() == ["root", "nobody"]
    assert int(applets) > 100
    assert eth0 == "0"  # network disabled: only the loopback device


def test_images_carry_their_recipe_label(docker_engine, busybox_image, python_image):
    for name in (busybox_image, python_image):
        assert docker_engine.images.get(name).labels[RECIPE_LABEL] == RECIPES[name]


def test_python_image_runs_python(docker_engine, python_image):
    code, output = _run_container(docker_engine, python_image, ["python3", "-c", "print(1+1)"])
    assert (code, output) == (0, "2\n")


def test_python_image_runs_the_readme_sort(docker_engine, python_image):
    script = ("printf 'import sys\\nfor line in sorted(sys.stdin): print(line, end=\"\")\\n'"
              " > /tmp/sort.py && printf 'pear\\napple\\nfig\\n' | python /tmp/sort.py")
    code, output = _run_container(docker_engine, python_image, ["sh", "-c", script])
    assert (code, output) == (0, "apple\nfig\npear\n")


def test_ssh_runs_a_command_over_the_fixture_sshd(sshd):
    done = subprocess.run([*sshd.ssh_args(), "echo", "hi"], capture_output=True, text=True,
                          timeout=60)
    assert (done.returncode, done.stdout) == (0, "hi\n"), done.stderr


def test_ssh_session_finds_the_cl_script(sshd):
    done = subprocess.run([*sshd.ssh_args(), "command -v cl"], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert os.path.samefile(done.stdout.strip(), CL)


def test_ssh_rejects_an_unknown_key(sshd, tmp_path):
    stranger = tmp_path / "stranger"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(stranger)],
                   check=True)
    args = sshd.ssh_args()
    args[args.index("-i") + 1] = str(stranger)
    done = subprocess.run([*args, "echo", "hi"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 255 and done.stdout == ""


def test_ssh_config_snippet_works_from_a_home(sshd, tmp_path):
    dot_ssh = sshd.install_client_config(tmp_path, alias="box")
    done = subprocess.run(["ssh", "-F", str(dot_ssh / "config"), "-o", "BatchMode=yes",
                           "box", "echo", "via-alias"], capture_output=True, text=True,
                          timeout=60)
    assert (done.returncode, done.stdout) == (0, "via-alias\n"), done.stderr


def test_chromium_dumps_the_dom_of_a_local_file(chromium, tmp_path):
    page = tmp_path / "page.html"
    page.write_text("<html><body><p id='x'>static</p>"
                    "<script>document.getElementById('x').textContent = 'from-js'</script>"
                    "</body></html>")
    dom = chromium.dump_dom(page)
    assert '<p id="x">from-js</p>' in dom


def test_chromium_screenshot_writes_a_png(chromium, tmp_path):
    page = tmp_path / "page.html"
    page.write_text("<html><body style='background:#c00'><h1>cl</h1></body></html>")
    out = chromium.screenshot(page, tmp_path / "shot.png", size=(320, 200))
    header = out.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    assert (int.from_bytes(header[16:20], "big"), int.from_bytes(header[20:24], "big")) \
        == (320, 200)


def test_require_service_skips_or_fails_by_ci(monkeypatch):
    monkeypatch.setenv("CI", "false")
    with pytest.raises(pytest.skip.Exception):
        require_service("thing", "absent")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="thing unavailable: absent"):
        require_service("thing", "absent")


def test_tree_builds_files_dirs_links_and_executables(tmp_path):
    root = tree(tmp_path / "t", {"a.txt": "text", "sub": {"b": b"\x00\x01", "empty": {}},
                                 "run.sh": Exec("#!/bin/sh\n"), "link": Link("a.txt")})
    assert (root / "a.txt").read_text() == "text"
    assert (root / "sub" / "b").read_bytes() == b"\x00\x01"
    assert (root / "sub" / "empty").is_dir() and not any((root / "sub" / "empty").iterdir())
    assert os.access(root / "run.sh", os.X_OK) and not os.access(root / "a.txt", os.X_OK)
    assert os.readlink(root / "link") == "a.txt"


def test_run_cl_runs_the_console_script_with_a_clean_env(tmp_path, monkeypatch):
    monkeypatch.setenv("CODALAB_DIR", "/nonexistent")
    monkeypatch.setenv("EDITOR", "vi")
    env = cl_env({"EXTRA": "1", "HOME": tmp_path})
    assert "CODALAB_DIR" not in env and "EDITOR" not in env
    assert env["HOME"] == str(tmp_path) and env["EXTRA"] == "1"
    assert env["PATH"].split(":")[0] == os.path.dirname(CL)
    done = run_cl(["--version"], tmp_path)
    assert done.stdout.startswith("cl")
    failed = run_cl(["no-such-command"], tmp_path, check=False)
    assert failed.returncode != 0 and "no-such-command" in failed.stderr
    with pytest.raises(AssertionError, match="no-such-command"):
        run_cl(["no-such-command"], tmp_path)



def test_project_fixture_is_an_initialized_repository(project, cl_home):
    assert (project / ".codalab").is_dir()
    assert project.parent != cl_home and not (cl_home / ".codalab").exists()
