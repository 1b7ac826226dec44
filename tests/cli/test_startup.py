"""What the quick commands load: `cl ls` reads only the index and the refs,
so it must not import the object store, the object types, msgpack or the
slow standard modules; `cl info` of a dataset reads two objects and no run
queue.  (Start-up time is most of what these commands cost; this keeps an
innocent top-level import from bringing it back.  No timings here.)  And
how `cl` leaves: past Python's teardown, with nothing left for it."""

import json
import subprocess
import sys

from tests.cli.test_errors import add
from tests.conftest import cl_env, tree

# Run `cl ARGS` in-process and print the modules it loaded beyond click's.
PROBE = """
import sys
import click
before = set(sys.modules)
from cl.cli.main import main
try:
    main(sys.argv[1:])
finally:
    sys.stdout.flush()
    sys.stderr.write("\\n" + " ".join(sorted(set(sys.modules) - before)) + "\\n")
"""

# the libraries only some pages or files need (`cl print --html`, a YAML genpath)
LAZY_LIBRARIES = {"markdown_it", "yaml", "tomli_w", "rich"}
SLOW_STDLIB = {"json", "tomllib", "secrets", "hashlib", "socket", "getpass", "shlex", "queue",
               "dataclasses", "tempfile", "shutil", "random"}


def loaded(project, *args) -> set[str]:
    done = subprocess.run([sys.executable, "-c", PROBE, *args], cwd=project, env=cl_env(),
                          capture_output=True, text=True, check=True)
    return set(done.stderr.splitlines()[-1].split())


def test_ls_loads_no_objects(project):
    tree(project, {"a.txt": "a\n"})
    add(project, "a.txt")
    modules = loaded(project, "ls")
    assert not modules & ({"cl.objects.store", "cl.objects.types", "cl.objects.encoding", "msgpack",
                           "cl.index.runs", "cl.config"} | SLOW_STDLIB | LAZY_LIBRARIES)


def test_info_loads_no_run_queue(project):
    tree(project, {"a.txt": "a\n"})
    add(project, "a.txt")
    modules = loaded(project, "info", "a.txt")
    assert "cl.objects.types" in modules  # it does read the bundle
    assert not modules & ({"cl.index.runs", "cl.config", "fcntl"} | SLOW_STDLIB - {"dataclasses"}
                          | LAZY_LIBRARIES)


def test_run_loads_no_executor(project):
    """`cl run` records the bundle and wakes the workers: no executor,
    no Docker, no ingest, and a datagram sent without `socket`."""
    subprocess.run(["cl", "config", "run.auto_worker", "false"], cwd=project, env=cl_env(), check=True)
    modules = loaded(project, "run", "true")
    assert {"cl.bundles.runspec", "cl.runs.queue"} <= modules
    assert not modules & {"cl.runs.executor", "cl.runs.docker_executor", "cl.runs.worker",
                          "cl.objects.ingest", "docker", "socket", "secrets", "queue", "subprocess"}


def test_probe_sees_json_when_used(project):
    """The probe itself works: --json does load json."""
    assert "json" in loaded(project, "ls", "--json")
    assert json.loads(subprocess.run(["cl", "ls", "--json"], cwd=project, env=cl_env(),
                                     capture_output=True, text=True, check=True).stdout) == []


def test_exit_leaves_nothing_to_the_teardown(project):
    """`cl` leaves by os._exit after Python's exit steps but before its
    teardown (cl.cli.main:run): every command must have closed its
    repository itself (no SQLite WAL left behind), written all its output
    and given its exit code, on success and on error alike."""
    tree(project, {"big.txt": "line\n" * 200_000})
    add(project, "big.txt")
    done = subprocess.run(["cl", "cat", "big.txt"], cwd=project, env=cl_env(), capture_output=True)
    assert done.returncode == 0 and done.stdout == b"line\n" * 200_000
    for args, code in ((["ls"], 0), (["info", "nosuch"], 1), (["nosuch"], 2), (["info", "big.txt"], 0)):
        done = subprocess.run(["cl", *args], cwd=project, env=cl_env(), capture_output=True, text=True)
        assert done.returncode == code, (args, done.stderr)
        assert (done.stdout if code == 0 else done.stderr).strip()
        assert sorted(p.name for p in (project / ".codalab").glob("repo.db*")) == ["repo.db"], args
    done = subprocess.run([sys.executable, "-m", "cl", "info", "nosuch"], cwd=project, env=cl_env(),
                          capture_output=True, text=True)
    assert done.returncode == 1 and done.stderr.startswith("cl: ")


# Run `cl serve-stdio PATH` as the console script does; at exit, print the modules loaded.
SERVE_PROBE = """
import atexit, sys
atexit.register(lambda: sys.stderr.write("\\n" + " ".join(sorted(sys.modules)) + "\\n"))
sys.argv = ["cl", "serve-stdio", sys.argv[1]]
from cl.cli.entry import run
run()
"""


def serve_once(path, request: bytes) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", SERVE_PROBE, str(path)], input=request,
                          env=cl_env(), capture_output=True)


def test_serve_stdio_starts_without_the_parser(project):
    """The far side of an ssh session answers without click or
    dataclasses (its start is every session's wait), and its errors are
    still one line and an exit code."""
    import msgpack

    done = serve_once(project, msgpack.packb({"op": "hello", "version": 2}))
    assert done.returncode == 0, done.stderr
    assert msgpack.unpackb(done.stdout)["version"] == 2
    modules = set(done.stderr.decode().splitlines()[-1].split())
    assert "cl.sync.serve" in modules
    assert not modules & {"click", "cl.cli.main", "dataclasses"}
    done = serve_once(project / "nosuch", b"")
    said = done.stderr.decode().rsplit("\n\n", 1)[0]  # what came before the probe's list
    assert done.returncode == 1 and said.startswith("cl: not a cl repository") and "\n" not in said


def test_print_loads_markdown_it_only_for_html(project):
    """`cl print` piped writes text as typed: no Markdown parser, no YAML;
    `--html` renders Markdown, so it loads markdown-it (the probe sees it)."""
    tree(project, {"a.txt": "a\n"})
    add(project, "a.txt")
    subprocess.run(["cl", "add", "-m", "# Notes with a {{.}} link"], cwd=project, env=cl_env(), check=True)
    assert not loaded(project, "print") & LAZY_LIBRARIES
    assert "markdown_it" in loaded(project, "print", "--html")
