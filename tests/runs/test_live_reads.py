"""Reading a live run (`cl cat RUN/f` before it finished) while the run
swaps symbolic links under the reader: nothing outside the run directory
may ever be printed or listed (issue 13 item 5).  The run swaps a file for
a link to a secret outside the run directory, and a directory link between
a directory inside and one outside, as fast as it can; the reader reads a
bounded number of times, in-process (the code `cl cat` runs) and through
the real `cl cat`."""

import os
import time

import pytest

from cl.bundles import read as read_ops
from cl.bundles.specs import Target
from cl.errors import CLError
from cl.objects.ids import ObjectId
from cl.worksheets.genpaths import Reader
from tests.conftest import run_cl
from tests.runs.helpers import bid_of, configure, local_python, repo_of, stop_workers, wait_for

SECRET = "TOP-SECRET-4f1c9e"
SECRET_NAME = "only-root-may-see-this"

SWAPPER = """
import os, sys
secret_file, secret_dir = sys.argv[1], sys.argv[2]
os.mkdir("inside")
with open("inside/" + {name!r}.replace("only-root-may-see-this", "harmless"), "w") as f:
    f.write("harmless")
os.symlink("inside", "d")
with open("f", "w") as f:
    f.write("harmless\\n")
open("swapping", "w").close()
while not os.path.exists("stop"):
    os.symlink(secret_file, "f.new"); os.replace("f.new", "f")
    with open("f.new", "w") as f:
        f.write("harmless\\n")
    os.replace("f.new", "f")
    os.symlink(secret_dir, "d.new"); os.replace("d.new", "d")
    os.symlink("inside", "d.new"); os.replace("d.new", "d")
""".format(name=SECRET_NAME)

TRIES = 4000          # in-process reads of each kind
CLI_TRIES = 40        # reads through the real `cl cat`
BOUND = 60.0          # seconds: only keeps a broken run from hanging the suite


@pytest.fixture
def swapping_run(tmp_path):
    """A local run that swaps links in its directory until told to stop."""
    secret_dir = tmp_path / "host-secret"
    secret_dir.mkdir(mode=0o700)
    (secret_dir / SECRET_NAME).write_text(SECRET + "\n")
    os.chmod(secret_dir / SECRET_NAME, 0o600)
    project = tmp_path / "project"
    project.mkdir()
    run_cl(["init"], project)
    configure(project, executor="local", worker_idle="30s")
    (project / "swap.py").write_text(SWAPPER)
    run_cl(["upload", "swap.py"], project)
    command = f"{local_python()} swap.py {secret_dir / SECRET_NAME} {secret_dir}"
    bid = bid_of(run_cl(["run", ":swap.py", command], project))
    live = project / ".codalab" / "runs" / bid
    try:
        wait_for(lambda: (live / "swapping").exists(), "the run to start swapping")
        yield project, bid
    finally:
        run_cl(["kill", f"0x{bid}"], project, check=False)
        stop_workers(project)


def test_a_live_run_cannot_make_cat_follow_a_swapped_link(swapping_run):
    project, bid = swapping_run
    repo = repo_of(project)
    oid = ObjectId(bid)
    leaked, listed, refused, read_ok = [], [], 0, 0
    end = time.monotonic() + BOUND
    try:
        for i in range(TRIES):
            if time.monotonic() > end:
                break
            for path in ("f", f"d/{SECRET_NAME}"):
                try:
                    with read_ops.open_file(repo, Target(oid, path)) as f:
                        data = f.read()
                    read_ok += 1
                    if SECRET.encode() in data:
                        leaked.append((i, path))
                except CLError:
                    refused += 1
            try:
                entries = read_ops.list_dir(repo, Target(oid, "d")) or []
            except CLError:
                entries = []
            if any(e.name == SECRET_NAME for e in entries):
                listed.append(i)
    finally:
        repo.close()
    assert not leaked, f"the secret was read {len(leaked)} times: {leaked[:5]}"
    assert not listed, f"the secret directory was listed {len(listed)} times"
    assert read_ok + refused > 0
    for _ in range(CLI_TRIES):
        done = run_cl(["cat", f"0x{bid}/f"], project, check=False)
        assert SECRET not in done.stdout
        assert done.returncode == 0 or done.stderr.startswith("cl: "), done.stderr
        done = run_cl(["cat", f"0x{bid}/d"], project, check=False)
        assert SECRET_NAME not in done.stdout
        assert "Traceback" not in done.stderr


def test_a_live_run_cannot_make_a_worksheet_follow_a_swapped_link(swapping_run):
    """Worksheet tables read files of live runs too (genpaths `/f`)."""
    project, bid = swapping_run
    repo = repo_of(project)
    leaked, listed = [], []
    end = time.monotonic() + BOUND
    try:
        for i in range(TRIES):
            if time.monotonic() > end:
                break
            reader = Reader(repo)
            for path in ("f", f"d/{SECRET_NAME}"):
                ref = reader.file(bid, path)
                data = reader.read(ref) if ref is not None else None
                if data is not None and SECRET.encode() in data:
                    leaked.append((i, path))
            ref = reader.file(bid, "d")
            if ref is not None and ref.is_dir and any(n == SECRET_NAME for n, _, _ in reader.listing(ref)):
                listed.append(i)
    finally:
        repo.close()
    assert not leaked, f"the secret was read {len(leaked)} times: {leaked[:5]}"
    assert not listed, f"the secret directory was listed {len(listed)} times"


def test_live_reads_of_plain_files_and_listings_still_work(tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    run_cl(["init"], project)
    configure(project, executor="local", worker_idle="30s")
    try:
        bid = bid_of(run_cl(["run", "mkdir -p sub/deeper; echo hi > sub/deeper/x; ln -s sub/deeper/x l;"
                             " mkfifo pipe; echo started; touch ready; sleep 60"], project))
        live = project / ".codalab" / "runs" / bid
        wait_for(lambda: (live / "ready").exists(), "the run to start")
        assert run_cl(["cat", f"0x{bid}/sub/deeper/x"], project).stdout == "hi\n"
        assert run_cl(["cat", f"0x{bid}/stdout"], project).stdout == "started\n"
        listing = run_cl(["cat", f"0x{bid}/sub"], project).stdout
        assert "deeper" in listing and "directory" in listing
        listing = run_cl(["cat", f"0x{bid}"], project).stdout.splitlines()
        assert any(line.split()[0] == "l" and line.split()[-1] == "link" for line in listing[1:]), listing
        done = run_cl(["cat", f"0x{bid}/l"], project, check=False)
        assert done.returncode == 1 and "is a symbolic link to 'sub/deeper/x'" in done.stderr
        assert done.stderr.startswith("cl: ") and "Traceback" not in done.stderr
        done = run_cl(["cat", f"0x{bid}/l/x"], project, check=False)
        assert done.returncode == 1 and done.stderr.startswith("cl: ") and "Traceback" not in done.stderr
        done = run_cl(["cat", f"0x{bid}/pipe"], project, check=False)  # a FIFO: refused, never blocks
        assert done.returncode == 1 and done.stderr.startswith("cl: ") and "Traceback" not in done.stderr
        done = run_cl(["cat", f"0x{bid}/nothing"], project, check=False)
        assert done.returncode == 1 and "no such file" in done.stderr
    finally:
        run_cl(["kill", f"0x{bid}"], project, check=False)
        stop_workers(project)
