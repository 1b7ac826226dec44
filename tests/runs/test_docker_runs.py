"""Runs in real Docker containers, driven through the real `cl` command:
the README's sort example, dependency keys and sugar, read-only
dependencies, limits, kill, failed dependencies, waiting and tailing.

One project (and one worker running three at a time) serves the module;
tests that need their own workers live in test_workers.py."""

import os
import socket
import subprocess

import pytest

from cl.index import runs as rindex
from cl.objects.trees import read_tree
from tests.conftest import cl_env, run_cl, tree
from tests.runs.helpers import (bid_of, configure, history, repo_of, result_of, start_worker,
                                stop_workers, wait_for)

SORT_PY = "import sys\nfor line in sorted(sys.stdin): print(line, end='')\n"


@pytest.fixture(scope="module")
def project(tmp_path_factory, docker_engine, busybox_image, python_image):
    project = tmp_path_factory.mktemp("docker-runs") / "project"
    project.mkdir()
    run_cl(["init"], project)
    configure(project, auto_worker=False, image=busybox_image)
    tree(project, {"a.txt": "foo\nbar\nbaz\n", "sort.py": SORT_PY,
                   "data": {"x.txt": "x\n", "sub": {"y.txt": "y\n"}}})
    for path in ("a.txt", "sort.py", "data"):
        run_cl(["upload", path], project)
    start_worker(project, "--parallel", "3")
    yield project
    stop_workers(project, docker_engine)


def cl(project, *args, check=True):
    return run_cl(list(args), project, check=check)


def names_in(repo, bid) -> set[str]:
    contents = repo.contents(bid)
    return {e.name for e in read_tree(repo.store, contents.id).entries}


def test_the_readme_sort_example(project, python_image):
    done = cl(project, "run", "sort.py:sort.py", "input:a.txt", "python sort.py < input > output",
              "--name", "sort-run", "--request-docker-image", python_image, "-W")
    bid = bid_of(done)
    assert cl(project, "cat", "sort-run/output").stdout == "bar\nbaz\nfoo\n"
    info = cl(project, "info", "sort-run").stdout
    assert "sort.py" in info and "input" in info
    repo = repo_of(project)
    result = result_of(repo, bid)
    assert result.exit_code == 0 and result.failure is None
    assert result.executor == "docker" and result.host == socket.gethostname()
    assert result.image["name"] == python_image and result.image["id"].startswith("sha256:")
    assert result.started <= result.finished
    # the dependencies are not part of the output
    assert names_in(repo, bid) == {"output", "stdout", "stderr"}
    assert history(repo, bid) == ["created", "running", "ready"]
    repo.close()


def test_keys_subpaths_bare_targets_and_nesting(project):
    done = cl(project, "run", "k:data/sub", ":data/x.txt", "a.txt", "nested/deep:a.txt",
              "cat x.txt b3 nested/deep k/y.txt > out; ls nested > nl", "-W")  # a.txt is third: b3
    bid = bid_of(done)
    assert cl(project, "cat", f"0x{bid}/out").stdout == "x\nfoo\nbar\nbaz\nfoo\nbar\nbaz\ny\n"
    assert cl(project, "cat", f"0x{bid}/nl").stdout == "deep\n"
    repo = repo_of(project)
    assert [d[0] for d in repo.index.dependencies(bid)] == ["b3", "k", "nested/deep", "x.txt"]
    assert names_in(repo, bid) == {"out", "nl", "stdout", "stderr"}
    repo.close()


def test_key_dot_puts_the_children_at_the_top(project):
    bid = bid_of(cl(project, "run", ".:data", "cat x.txt sub/y.txt > out", "-W"))
    assert cl(project, "cat", f"0x{bid}/out").stdout == "x\ny\n"
    repo = repo_of(project)
    assert names_in(repo, bid) == {"out", "stdout", "stderr"}
    repo.close()


def test_sugar_becomes_dependencies(project):
    bid = bid_of(cl(project, "run", "cat %a.txt% %k:data/x.txt% %:data/sub%/y.txt > out; echo 100%% > pct",
                    "-W"))
    repo = repo_of(project)
    assert repo.bundle(bid).command == "cat b1 k sub/y.txt > out; echo 100% > pct"
    assert [d[0] for d in repo.index.dependencies(bid)] == ["b1", "k", "sub"]
    repo.close()
    assert cl(project, "cat", f"0x{bid}/out").stdout == "foo\nbar\nbaz\nx\ny\n"
    assert cl(project, "cat", f"0x{bid}/pct").stdout == "100%\n"


def test_exclude_patterns_leave_files_out(project):
    # CodaLab's -x takes several values: the command goes first (or after ---)
    bid = bid_of(cl(project, "run", "echo a > keep.txt; echo b > drop.tmp", "-x", "*.tmp", "-W"))
    repo = repo_of(project)
    assert names_in(repo, bid) == {"keep.txt", "stdout", "stderr"}
    repo.close()


def test_dependencies_are_read_only(project):
    bid = bid_of(cl(project, "run", ":a.txt", "d:data",
                    "echo x > a.txt; echo $? > rc1; echo y > d/x.txt; echo $? > rc2;"
                    " echo z > d/new; echo $? > rc3; rm -f d/sub/y.txt; echo $? > rc4", "-W"))
    for name in ("rc1", "rc2", "rc3", "rc4"):
        assert cl(project, "cat", f"0x{bid}/{name}").stdout.strip() != "0", name
    assert "Read-only file system" in cl(project, "cat", f"0x{bid}/stderr").stdout
    assert cl(project, "cat", "a.txt").stdout == "foo\nbar\nbaz\n"
    assert cl(project, "cat", "data/x.txt").stdout == "x\n"
    assert cl(project, "fsck").returncode == 0


def test_runs_as_the_invoking_user_without_network(project):
    bid = bid_of(cl(project, "run", "id -u > uid; ls /sys/class/net > nets; echo $HOME > home; pwd > wd",
                    "-W"))
    assert cl(project, "cat", f"0x{bid}/uid").stdout.strip() == str(os.getuid())
    assert cl(project, "cat", f"0x{bid}/nets").stdout.split() == ["lo"]
    assert cl(project, "cat", f"0x{bid}/home").stdout == cl(project, "cat", f"0x{bid}/wd").stdout
    bid = bid_of(cl(project, "run", "--request-network", "ls /sys/class/net > nets", "-W"))
    assert "eth0" in cl(project, "cat", f"0x{bid}/nets").stdout.split()


def test_stdout_while_running_then_kill_keeps_partial_output(project):
    bid = bid_of(cl(project, "run", "echo partial; sleep 60", "-n", "to-kill"))
    wait_for(lambda: cl(project, "cat", f"0x{bid}/stdout", check=False).stdout == "partial\n",
             "the run's first line")
    info = cl(project, "info", f"0x{bid}").stdout
    assert "running" in info
    assert cl(project, "kill", f"0x{bid}").stdout.strip() == f"0x{bid}"
    done = cl(project, "wait", f"0x{bid}", check=False)
    assert done.returncode != 0 and done.stdout.strip() == f"0x{bid}"
    assert "killed: Kill requested" in done.stderr
    assert cl(project, "cat", f"0x{bid}/stdout").stdout == "partial\n"
    repo = repo_of(project)
    assert history(repo, bid) == ["created", "running", "killed"]
    repo.close()


def test_kill_a_queued_run(project):
    first = bid_of(cl(project, "run", "sleep 60", "-n", "slow-parent"))
    child = bid_of(cl(project, "run", f"p:0x{first}", "echo never > out", "-n", "queued-child"))
    assert "waiting for dependency slow-parent" in cl(project, "info", f"0x{child}").stdout
    cl(project, "kill", f"0x{child}")
    repo = repo_of(project)
    assert history(repo, child) == ["created", "killed"]
    assert result_of(repo, child).failure == "Kill requested"
    repo.close()
    cl(project, "kill", f"0x{first}")
    assert cl(project, "wait", f"0x{first}", check=False).returncode != 0


def test_time_memory_and_disk_limits(project):
    runs = {
        "Time limit exceeded": ("--request-time", "1s", "sleep 60"),
        "Memory limit 16m exceeded": ("--request-memory", "16m", "head -c 200000000 /dev/zero | tail"),
        "Disk limit exceeded": ("--request-disk", "1m", "head -c 3000000 /dev/zero > big; sleep 60"),
    }
    bids = {message: bid_of(cl(project, "run", *args)) for message, args in runs.items()}
    repo = repo_of(project)
    for message, bid in bids.items():
        done = cl(project, "wait", f"0x{bid}", check=False)
        assert done.returncode != 0
        assert done.stderr.strip().endswith(f"killed: {message}"), done.stderr
        assert result_of(repo, bid).failure == message
    # the partial output of the run over its disk limit is kept
    assert "big" in names_in(repo, bids["Disk limit exceeded"])
    repo.close()


def test_a_failed_dependency_fails_the_run_naming_it(project):
    cl(project, "run", "exit 2", "-n", "will-fail", "-W", check=False)
    done = cl(project, "run", ":will-fail", "echo never", "-W", check=False)
    assert done.returncode != 0
    assert "failed: Dependency will-fail (0x" in done.stderr and done.stderr.strip().endswith("failed")
    done = cl(project, "run", "--allow-failed-dependencies", ":will-fail", "cat will-fail/stderr; echo ran",
              "-W")
    assert cl(project, "cat", f"0x{bid_of(done)}/stdout").stdout == "ran\n"


def test_tail_streams_and_wait_reports(project):
    done = cl(project, "run", "-t", "echo one; echo two >&2; exit 4", check=False)
    assert done.returncode != 0
    assert done.stdout.splitlines()[1:] == ["one"]
    assert done.stderr.splitlines()[0] == "two"
    assert done.stderr.strip().endswith("failed: Exit code 4")
    bid = bid_of(cl(project, "run", "echo waited"))
    out = subprocess.run(["sh", "-c", "cl cat $(cl wait ^)/stdout"], cwd=project, capture_output=True,
                         text=True, env=cl_env())
    assert out.returncode == 0 and out.stdout == "waited\n", out.stderr
    assert cl(project, "wait", f"0x{bid}").stdout.strip() == f"0x{bid}"


def test_an_absent_image_is_a_clear_error(project):
    done = cl(project, "run", "--request-docker-image", "cl-test/absent:1", "true", "-W", check=False)
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert all(line.startswith("cl: ") for line in lines) and "Traceback" not in done.stderr
    # progress lines (`cl: pulling image …`) may come first; the error is last
    assert all(line.startswith("cl: pulling image cl-test/absent:1") for line in lines[:-1])
    assert "image 'cl-test/absent:1' is not present locally and could not be pulled (" in lines[-1]
    assert lines[-1].endswith("run 'docker pull cl-test/absent:1', or offline 'docker load -i FILE' "
                              "with a file 'docker save cl-test/absent:1' made elsewhere")


def test_result_records_resource_use(project):
    bid = bid_of(cl(project, "run", "head -c 20000000 /dev/zero | md5sum > sum; sleep 1", "-W"))
    repo = repo_of(project)
    result = result_of(repo, bid)
    assert result.peak_memory > 0
    assert result.finished - result.started >= 10**9
    repo.close()


def test_workers_lists_the_worker_and_its_run(project):
    bid = bid_of(cl(project, "run", "sleep 60", "-n", "listed"))
    repo = repo_of(project)
    wait_for(lambda: (rindex.run_status(repo.db, bid) or {}).get("stage") == "running", "the run to start")
    listing = cl(project, "workers").stdout
    assert "docker" in listing and f"listed(0x{bid[:8]}) running" in listing
    cl(project, "kill", f"0x{bid}")
    cl(project, "wait", f"0x{bid}", check=False)
    repo.close()


def test_cpu_requests_reach_docker(project):
    bid = bid_of(cl(project, "run", "--request-cpus", "1",
                    "cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu.max 2>/dev/null > quota",
                    "-W", check=False))
    assert cl(project, "cat", f"0x{bid}/quota").stdout.split()[0] == "100000"
    # more GPUs than the machine has never reach the engine: such a run stays
    # staged and says why (tests/runs/test_unmet_requests.py)


def test_a_run_killed_for_memory_at_once_is_still_named_oom(docker_engine, busybox_image, tmp_path):
    """The engine learns of an OOM kill through a watcher it sets on the
    container's cgroup as `start` returns; a command that fills its memory
    in the first milliseconds used to beat it (a few runs in a hundred came
    back as a bare `Exit code 137`). The executor holds the command until
    `start` has returned, so every such run is named."""
    from cl.runs.docker_executor import DockerExecutor
    from cl.runs.executor import RunPlan
    executor = DockerExecutor()
    try:
        def start(n):
            run_dir = tmp_path / f"run{n}"
            run_dir.mkdir()
            return executor.start(RunPlan(
                bundle=f"{n:064x}", repo_root=str(tmp_path), worker="oom-test",
                command="head -c 200000000 /dev/zero | tail", run_dir=str(run_dir),
                image={"name": busybox_image}, memory=16 << 20,
                uid=os.getuid(), gid=os.getgid()))
        exits = []
        for batch in range(6):
            processes = [start(batch * 4 + n) for n in range(4)]
            for process in processes:
                exits.append(process.wait())
                process.remove()
        assert [(e.code, e.oom) for e in exits] == [(137, True)] * len(exits)
    finally:
        executor.close()
