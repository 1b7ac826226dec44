"""The Slurm executor beyond the contract (tests/runs/test_executor_contract.py),
against the real cluster of .ci/slurm-up: requests reach sbatch, a pending
job shows as staged with Slurm's reason and is found again by a new worker,
Slurm's own endings (its time limit, a cancel from outside) become the
run's, a bad partition is one clear failure, and dependencies staged into a
shared directory are hard links on the same file system and copies
elsewhere; a job in Docker or podman is held as the Docker executor holds
its containers.  And the mapping of final job states, as a table."""

import concurrent.futures
import json
import os
import shutil
import signal
import subprocess
import tempfile

import pytest

from cl.index import runs as rindex
from cl.runs.executor import RunPlan
from cl.runs.layout import Mount, prepare_run_dir
from cl.runs.slurm_executor import OOM, SlurmExecutor, outcome, parse_exit_code, usage_file
from tests.conftest import run_cl, tree
from tests.services import require_service
from tests.runs.helpers import (bid_of, configure, history, repo_of, result_of, start_worker,
                                stop_workers, wait_for)
from tests.runs.test_executor_contract import cancel_slurm_jobs


@pytest.fixture
def project(tmp_path, slurm_cluster):
    project = tmp_path / "project"
    project.mkdir()
    run_cl(["init"], project)
    configure(project, executor="slurm", auto_worker=False, worker_idle="30s")
    tree(project, {"a.txt": "foo\n", "data": {"x.txt": "x\n"}})
    run_cl(["upload", "a.txt"], project)
    run_cl(["upload", "data"], project)
    yield project
    stop_workers(project)
    cancel_slurm_jobs(project)


MEMORY_HOG = "head -c 200000000 /dev/zero | tail"


def cl(project, *args, check=True):
    return run_cl(list(args), project, check=check)


def job_of(repo, bid) -> str:
    return json.loads(rindex.get_claim(repo.db, bid)["handle"])["job"]


def scontrol(job: str) -> dict[str, str]:
    done = subprocess.run(["scontrol", "show", "job", "-o", job], capture_output=True, text=True,
                          check=True)
    return dict(field.split("=", 1) for field in done.stdout.split() if "=" in field)


def running(repo, bid) -> bool:
    return (rindex.run_status(repo.db, bid) or {}).get("stage") == "running"


def test_requests_become_sbatch_options(project, slurm_cluster):
    start_worker(project)
    bid = bid_of(cl(project, "run", "--request-cpus", "2", "--request-memory", "64m",
                    "--request-time", "5m", "--request-queue", slurm_cluster, "sleep 120"))
    repo = repo_of(project)
    wait_for(lambda: running(repo, bid), "the job to run")
    job = scontrol(job_of(repo, bid))
    assert (job["NumCPUs"], job["MinMemoryNode"], job["TimeLimit"], job["Partition"]) == \
        ("2", "64M", "00:05:00", slurm_cluster)
    assert job["JobName"] == f"cl-{bid}" and job["WorkDir"] == str(project / ".codalab" / "runs" / bid)
    cl(project, "kill", f"0x{bid}")
    assert "killed: Kill requested" in cl(project, "wait", f"0x{bid}", check=False).stderr
    wait_for(lambda: scontrol(job["JobId"])["JobState"] == "CANCELLED", "scancel to reach Slurm")
    repo.close()


def test_a_pending_job_is_staged_with_slurms_reason_and_survives_its_worker(project):
    cl(project, "config", "slurm.sbatch_options", "--", "--begin=now+4")
    worker = start_worker(project)
    bid = bid_of(cl(project, "run", "echo ran"))
    repo = repo_of(project)
    status = wait_for(lambda: (s := rindex.run_status(repo.db, bid)) and "BeginTime" in s["reason"] and s,
                      "the job to wait for its begin time")
    assert status["stage"] == "staged" and status["process"].startswith("Slurm job ")
    assert repo.head_state(bid)[1].state == "created"  # not running until Slurm runs it
    assert "BeginTime" in cl(project, "info", f"0x{bid}").stdout
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    again = start_worker(project, "--exit-when-idle")
    assert again.wait(timeout=180) == 0, again.log.read_text()
    assert history(repo, bid) == ["created", "running", "ready"]
    assert cl(project, "cat", f"0x{bid}/stdout").stdout == "ran\n"
    repo.close()


def test_slurms_own_time_limit_and_an_outside_cancel(project):
    # no --request-time: only Slurm's limit (5 s, checked by the controller) ends it
    cl(project, "config", "slurm.sbatch_options", "--", "--time=0:05")
    start_worker(project, "--parallel", "2")
    timed = bid_of(cl(project, "run", "sleep 600"))
    cancelled = bid_of(cl(project, "run", "echo started; sleep 600"))
    repo = repo_of(project)
    wait_for(lambda: cl(project, "cat", f"0x{cancelled}/stdout", check=False).stdout == "started\n",
             "the second job to run")
    subprocess.run(["scancel", job_of(repo, cancelled)], check=True)
    done = cl(project, "wait", f"0x{cancelled}", check=False)
    assert "killed: Slurm: the job was cancelled (scancel)" in done.stderr
    assert cl(project, "cat", f"0x{cancelled}/stdout").stdout == "started\n"
    done = cl(project, "wait", f"0x{timed}", check=False)
    assert done.stderr.strip().endswith("killed: Time limit exceeded")
    assert result_of(repo, timed).failure == "Time limit exceeded"
    repo.close()


def test_a_partition_that_does_not_exist_fails_the_run_clearly(project):
    start_worker(project)
    done = cl(project, "run", "--request-queue", "no-such-partition", "true", "-W", check=False)
    assert done.returncode != 0
    assert "failed: sbatch refused the job:" in done.stderr and "partition" in done.stderr.lower()


@pytest.mark.parametrize("where", ["same", "other"])
def test_dependencies_are_staged_in_the_shared_directory(project, tmp_path, where):
    if where == "same":
        shared = tmp_path / "shared"
    else:
        if not os.path.isdir("/dev/shm") or os.stat("/dev/shm").st_dev == os.stat(tmp_path).st_dev:
            pytest.skip("no second file system (/dev/shm) here")
        shared = f"/dev/shm/cl-test-shared-{os.getpid()}-{tmp_path.name}"
    cl(project, "config", "slurm.shared_dir", str(shared))
    start_worker(project)
    bid = bid_of(cl(project, "run", "d:data", "cat d/x.txt; echo y > d/x.txt; sleep 120"))
    repo = repo_of(project)
    wait_for(lambda: cl(project, "cat", f"0x{bid}/stdout", check=False).stdout == "x\n",
             "the run's output, read live through the shared directory")
    live = project / ".codalab" / "runs" / bid
    real = os.readlink(live)
    assert os.path.islink(live) and real.startswith(str(shared))
    staged = [os.path.join(root, name) for root, _, names in os.walk(shared) if "checkouts" in root
              for name in names]
    assert len(staged) == 1 and open(staged[0]).read() == "x\n"
    checkout = [os.path.join(root, name) for root, _, names in os.walk(project / ".codalab" / "checkouts")
                for name in names]
    same_file = os.stat(staged[0]).st_ino == os.stat(checkout[0]).st_ino
    assert same_file == (where == "same")  # a hard link, or a copy on another file system
    cl(project, "kill", f"0x{bid}")
    cl(project, "wait", f"0x{bid}", check=False)
    assert "Read-only file system" in cl(project, "cat", f"0x{bid}/stderr").stdout
    assert cl(project, "cat", "data/x.txt").stdout == "x\n"
    assert not os.path.lexists(live) and not os.path.lexists(real)  # both go when it ends
    repo.close()
    if where == "other":
        subprocess.run(["rm", "-rf", str(shared)], check=True)


@pytest.mark.parametrize("state, exit_code, expected", [
    ("COMPLETED", "0:0", (0, False, None, None)),
    ("FAILED", "3:0", (3, False, None, None)),
    ("FAILED", "0:9", (137, False, None, None)),
    ("OUT_OF_MEMORY", "0:125", (125 + 128, True, None, None)),
    ("TIMEOUT", "0:15", (None, False, "Time limit exceeded", "Time limit exceeded")),
    ("CANCELLED by 0", "0:15", (None, False, "Slurm: the job was cancelled (scancel)",
                                "Slurm: the job was cancelled (scancel)")),
    ("NODE_FAIL", "0:0", (None, False, "Slurm: the node failed", None)),
    ("BOOT_FAIL", "", (None, False, "Slurm: the node failed to boot", None)),
    ("WEIRD", "1:0", (None, False, "Slurm: the job ended WEIRD", None)),
])
def test_final_job_states_map_to_runs(state, exit_code, expected):
    got = outcome(state, exit_code)
    assert (got.code, got.oom, got.message, got.killed) == expected


def test_exit_codes_with_signals():
    assert [parse_exit_code(t) for t in ("0:0", "2:0", "0:9", "1:9", "", None, "x:y", "7")] == \
        [0, 2, 137, 1, None, None, None, None]


def test_killing_a_pending_job_cancels_it_without_it_ever_running(project):
    cl(project, "config", "slurm.sbatch_options", "--", "--begin=now+600")
    start_worker(project)
    bid = bid_of(cl(project, "run", "echo ran"))
    repo = repo_of(project)
    wait_for(lambda: "BeginTime" in (rindex.run_status(repo.db, bid) or {}).get("reason", ""),
             "the job to be pending")
    job = job_of(repo, bid)
    cl(project, "kill", f"0x{bid}")
    assert "killed: Kill requested" in cl(project, "wait", f"0x{bid}", check=False).stderr
    assert history(repo, bid) == ["created", "killed"]
    assert scontrol(job)["JobState"] == "CANCELLED"
    repo.close()


def test_run_executor_slurm_starts_a_slurm_worker_by_itself(project):
    configure(project, auto_worker=True)
    done = cl(project, "run", "echo hi", "-W")
    repo = repo_of(project)
    assert result_of(repo, bid_of(done)).executor == "slurm"
    assert [w["executor"] for w in rindex.live_workers(repo.db)] == ["slurm"]
    repo.close()


def test_an_unknown_executor_is_one_line(project):
    done = cl(project, "config", "run.executor", "nonesuch", check=False)  # checked when set
    assert done.returncode == 1 and done.stderr == (
        "cl: run.executor: expected one of auto, docker, local, local-unsafe, slurm, not 'nonesuch'\n")
    done = cl(project, "worker", "--executor", "nonesuch", check=False)
    assert done.returncode == 2 and "'nonesuch' is not one of 'auto', 'docker', 'local', 'local-unsafe', 'slurm'" in done.stderr


def test_a_finished_job_records_its_cpu_time_and_peak_memory(project):
    start_worker(project)
    bid = bid_of(cl(project, "run", "i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done;"
                    " head -c 50000000 /dev/zero | tail > /dev/null", "-W"))
    repo = repo_of(project)
    result = result_of(repo, bid)
    assert result.cpu_user + result.cpu_system > 0
    assert result.peak_memory > 50_000_000  # tail held the 50 MB line
    assert not os.path.exists(project / ".codalab" / "runs" / f"{bid}.usage")  # read, then removed
    repo.close()


def test_a_jobs_command_is_the_oom_killers_first_choice_not_the_step_manager(project):
    """Slurm charges slurmstepd to the job's memory cgroup; the job script
    makes the run's processes the OOM killer's first choice there, so a
    run over its memory never leaves a job without its step manager."""
    start_worker(project)
    done = cl(project, "run", "cat /proc/self/oom_score_adj", "-W")
    assert cl(project, "cat", f"0x{bid_of(done)}/stdout").stdout == "1000\n"


def test_a_job_in_docker_gets_no_privileges(project, docker_engine, busybox_image):
    """`slurm.container = docker`: the container is held as the Docker
    executor holds its own (no new privileges, no capabilities)."""
    cl(project, "config", "slurm.container", "docker")
    cl(project, "config", "run.image", busybox_image)
    start_worker(project)
    done = cl(project, "run", "grep -E '^(NoNewPrivs|CapEff|CapBnd)' /proc/self/status", "-W")
    words = cl(project, "cat", f"0x{bid_of(done)}/stdout").stdout.split()
    status = dict(zip(words[::2], words[1::2]))
    assert status == {"NoNewPrivs:": "1", "CapEff:": "0000000000000000", "CapBnd:": "0000000000000000"}


@pytest.fixture(scope="session")
def podman_busybox(busybox_image) -> str:
    """The busybox test image in podman's store (podman cannot see
    Docker's): `docker save | podman load` when podman lacks it or holds
    another build of it."""
    if shutil.which("podman") is None:
        require_service("podman", "podman is not installed (.ci/slurm-up installs it)")
    docker_id = subprocess.run(["docker", "image", "inspect", "--format", "{{.Id}}", busybox_image],
                               capture_output=True, text=True, check=True).stdout.strip()
    have = subprocess.run(["podman", "image", "inspect", "--format", "{{.Id}}", busybox_image],
                          capture_output=True, text=True)
    if have.returncode != 0 or not docker_id.endswith(have.stdout.strip()):
        saved = subprocess.run(["docker", "save", busybox_image], capture_output=True, check=True).stdout
        subprocess.run(["podman", "load"], input=saved, capture_output=True, check=True)
    return busybox_image


def podman_containers(bid: str) -> list[str]:
    done = subprocess.run(["podman", "ps", "-a", "--format", "{{.Names}}"], capture_output=True,
                          text=True, check=True)
    return [name for name in done.stdout.split() if name.startswith(f"cl-{bid[:12]}-")]


def test_a_job_in_podman_runs_held_like_docker(project, podman_busybox):
    """`slurm.container = podman`: the command runs in podman on the node,
    its outputs, exit code and dependencies as in the other modes, with no
    new privileges and no capabilities; the container goes when it ends."""
    cl(project, "config", "slurm.container", "podman")
    cl(project, "config", "run.image", podman_busybox)
    start_worker(project)
    done = cl(project, "run", "d:data",
              "cat d/x.txt; echo err >&2; echo out > made.txt; touch d/new || echo read-only;"
              " grep -E '^(NoNewPrivs|CapEff|CapBnd)' /proc/self/status; exit 3", "-W", check=False)
    assert done.returncode != 0 and "failed: Exit code 3" in done.stderr
    bid = bid_of(done)
    repo = repo_of(project)
    result = result_of(repo, bid)
    assert result.exit_code == 3 and result.executor == "slurm"
    words = cl(project, "cat", f"0x{bid}/stdout").stdout.split()
    assert words[:2] == ["x", "read-only"]
    status = dict(zip(words[2::2], words[3::2]))
    assert status == {"NoNewPrivs:": "1", "CapEff:": "0000000000000000", "CapBnd:": "0000000000000000"}
    stderr = cl(project, "cat", f"0x{bid}/stderr").stdout
    assert "err\n" in stderr and "Read-only file system" in stderr
    assert cl(project, "cat", f"0x{bid}/made.txt").stdout == "out\n"
    assert cl(project, "cat", "data/x.txt").stdout == "x\n"
    assert podman_containers(bid) == []  # --rm
    repo.close()


def test_killing_a_job_in_podman_stops_its_container(project, podman_busybox):
    cl(project, "config", "slurm.container", "podman")
    cl(project, "config", "run.image", podman_busybox)
    start_worker(project)
    bid = bid_of(cl(project, "run", "echo started; sleep 600"))
    repo = repo_of(project)
    wait_for(lambda: cl(project, "cat", f"0x{bid}/stdout", check=False).stdout == "started\n",
             "the container to run")
    assert len(podman_containers(bid)) == 1
    cl(project, "kill", f"0x{bid}")
    assert "killed: Kill requested" in cl(project, "wait", f"0x{bid}", check=False).stderr
    wait_for(lambda: podman_containers(bid) == [], "scancel to stop the container")
    repo.close()


def test_gc_sweeps_the_shared_directory_but_not_what_a_live_job_uses(project, tmp_path):
    """`cl gc` removes staged dependencies no claimed run uses, leftovers of
    an interrupted staging, and run directories of runs that ended; a job
    still running keeps its directory and its staged dependency, and reads
    it after gc as before."""
    shared = tmp_path / "shared"
    cl(project, "config", "slurm.shared_dir", str(shared))
    start_worker(project, "--parallel", "2")
    ended = bid_of(cl(project, "run", "a:a.txt", "cat a", "-W"))
    live = bid_of(cl(project, "run", "d:data",
                     "cat d/x.txt; while [ ! -e go ]; do sleep 0.2; done; cat d/x.txt"))
    wait_for(lambda: cl(project, "cat", f"0x{live}/stdout", check=False).stdout == "x\n",
             "the second job to run")
    base = next(shared.iterdir())
    staged = sorted(p.name for p in (base / "checkouts").iterdir())
    assert len(staged) == 2  # a.txt's, still there after its run ended, and data's
    # what a worker that died leaves: a half-staged copy, the run directory
    # and resource file of a run that ended
    (base / "checkouts" / f"{staged[0]}.tmp-1-2").mkdir()
    (base / "runs" / ended).mkdir()
    (base / "runs" / f"{ended}.usage").write_text("")
    before = sorted(str(p.relative_to(base)) for p in base.rglob("*"))

    dry = cl(project, "gc", "-n").stdout
    assert dry.rstrip().endswith(", 4 entries in slurm.shared_dir")
    assert sorted(str(p.relative_to(base)) for p in base.rglob("*")) == before
    assert json.loads(cl(project, "gc", "--json").stdout)["swept"] == 4
    left = sorted(p.name for p in (base / "checkouts").iterdir())
    assert left == [name for name in staged if (base / "checkouts" / name).is_dir()]  # data's
    assert (base / "checkouts" / left[0] / "x.txt").read_text() == "x\n"
    assert sorted(p.name for p in (base / "runs").iterdir()) == [live]
    (project / ".codalab" / "runs" / live / "go").write_text("")
    cl(project, "wait", f"0x{live}")
    assert cl(project, "cat", f"0x{live}/stdout").stdout == "x\nx\n"
    assert cl(project, "cat", "a.txt").stdout == "foo\n"  # the repository's own copies stay
    assert json.loads(cl(project, "gc", "--json").stdout)["swept"] == 1  # data's, now unused
    assert list((base / "checkouts").iterdir()) == [] and list((base / "runs").iterdir()) == []


NOBODY = 65534


@pytest.fixture
def rootless_home(podman_busybox):
    """A home for the user nobody with podman's rootless store in it,
    holding the busybox image (each user has a store of their own)."""
    for path in ("/etc/subuid", "/etc/subgid"):
        with open(path) as f:
            if not any(line.startswith("nobody:") for line in f):
                require_service("rootless podman", f"nobody has no subordinate ids in {path} "
                                "(.ci/slurm-up adds them)")
    home = tempfile.mkdtemp(prefix="cl-rootless-", dir="/tmp")
    os.chmod(home, 0o755)
    for name in ("", "run-dir"):
        os.makedirs(os.path.join(home, name), exist_ok=True)
        os.chown(os.path.join(home, name), NOBODY, NOBODY)
    os.chmod(os.path.join(home, "run-dir"), 0o700)
    image = os.path.join(home, "image.tar")
    with open(image, "wb") as f:
        subprocess.run(["docker", "save", podman_busybox], stdout=f, check=True)
    os.chmod(image, 0o644)
    subprocess.run(["runuser", "-u", "nobody", "--", "env", f"HOME={home}",
                    f"XDG_RUNTIME_DIR={home}/run-dir", "podman", "load", "-i", image],
                   capture_output=True, check=True)
    yield home
    shutil.rmtree(home)


def test_rootless_podman_in_a_job_runs_as_the_user(rootless_home, podman_busybox, slurm_cluster):
    """A job of a user who is not root runs rootless podman from that
    user's own store and environment; in the container the user is
    themself (--userns=keep-id), so the outputs are theirs, and the
    dependency is read-only."""
    run = os.path.join(rootless_home, "runs", "run")
    dep = os.path.join(rootless_home, "dep")
    os.mkdir(dep)
    with open(os.path.join(dep, "x.txt"), "w") as f:
        f.write("x\n")
    plan = RunPlan(bundle="f" * 64, repo_root=rootless_home, worker="test",
                   command="id -u; cat d/x.txt; echo out > made; touch d/new || echo read-only; exit 3",
                   run_dir=run, mounts=(Mount("d", dep, "dir"),), image={"name": podman_busybox},
                   uid=NOBODY, gid=NOBODY)
    prepare_run_dir(run, plan.mounts, (NOBODY, NOBODY))
    os.chown(os.path.dirname(run), NOBODY, NOBODY)  # as if nobody's own worker had made it
    # as the user would submit it: their uid, their HOME
    executor = SlurmExecutor(container="podman", options=(
        "--uid=nobody", "--gid=nogroup",
        f"--export=ALL,HOME={rootless_home},XDG_RUNTIME_DIR={rootless_home}/run-dir"))
    try:
        exit_ = executor.start(plan).wait()
    finally:
        executor.close()
    with open(os.path.join(run, "stdout")) as f, open(os.path.join(run, "stderr")) as g:
        assert (exit_.code, f.read()) == (3, f"{NOBODY}\nx\nread-only\n"), g.read()
    assert os.stat(os.path.join(run, "made")).st_uid == NOBODY
    assert sorted(os.listdir(run)) == ["d", "made", "stderr", "stdout"]  # no podman store in it


def test_a_job_in_docker_over_its_memory_limit_is_killed_for_memory(project, busybox_image):
    """As the executor contract asks of every executor that enforces
    memory: the container's own cgroup (not the job's) kills it, and the
    job script, asking the engine, tells the worker so, as Slurm's
    OUT_OF_MEMORY does.  (podman 4.3 with runc on cgroup v1 does not know
    when its container ran out of memory: docs/slurm.md.)"""
    cl(project, "config", "slurm.container", "docker")
    cl(project, "config", "run.image", busybox_image)
    start_worker(project)
    done = cl(project, "run", "--request-memory", "16m", MEMORY_HOG, "-W", check=False)
    assert done.returncode != 0 and done.stderr.strip().endswith("killed: Memory limit 16m exceeded")
    bid = bid_of(done)
    assert not os.path.exists(project / ".codalab" / "runs" / f"{bid}.usage")  # read, removed
    assert not os.path.exists(project / ".codalab" / "runs" / f"{bid}.gate")
    assert subprocess.run(["docker", "ps", "-aq", "--filter", f"name=cl-{bid[:12]}-"],
                          capture_output=True, text=True, check=True).stdout == ""


def test_the_docker_job_script_names_every_out_of_memory_kill(tmp_path, docker_engine, busybox_image):
    """The job script alone, run by sh as a node would, four at a time: a
    command that fills its memory in its first milliseconds, and an exit
    that reaches the engine before its OOM event, are both still written
    down as out-of-memory (Docker 20.10 lost about one such run in eight
    of these through `docker run` and `inspect` alone)."""
    executor = SlurmExecutor()
    executor.container = "docker"

    def run(n):
        run_dir = tmp_path / f"run{n}"
        run_dir.mkdir()
        plan = RunPlan(bundle=f"{n:064x}", repo_root=str(tmp_path), worker="test", command=MEMORY_HOG,
                       run_dir=str(run_dir), image={"name": busybox_image}, memory=16 << 20,
                       uid=os.getuid(), gid=os.getgid())
        done = subprocess.run(["sh", "-c", executor.script(plan)], capture_output=True, text=True,
                              env={**os.environ, "SLURM_JOB_ID": f"t{os.getpid()}-{n}"}, timeout=120)
        usage = usage_file(str(run_dir))
        said = open(usage).read().split() if os.path.exists(usage) else []
        return done.returncode, OOM in said, os.path.exists(str(run_dir) + ".gate")

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        got = list(pool.map(run, range(12)))
    assert got == [(137, True, False)] * 12


def test_a_job_in_podman_survives_its_worker_and_ends_at_slurms_time_limit(project, podman_busybox):
    """Its worker SIGKILLed, the next one finds the job and finishes the
    run with all its output; a second run is stopped by Slurm's own time
    limit, its container with it."""
    cl(project, "config", "slurm.container", "podman")
    cl(project, "config", "run.image", podman_busybox)
    cl(project, "config", "slurm.sbatch_options", "--", "--time=0:05")  # 5 s, for the second run
    worker = start_worker(project, "--parallel", "2")
    survivor = bid_of(cl(project, "run", "echo start; sleep 3; echo end"))
    timed = bid_of(cl(project, "run", "echo start; sleep 600"))
    repo = repo_of(project)
    wait_for(lambda: running(repo, survivor)
             and cl(project, "cat", f"0x{survivor}/stdout", check=False).stdout == "start\n",
             "the first run to start")
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    again = start_worker(project, "--exit-when-idle")
    assert again.wait(timeout=180) == 0, again.log.read_text()
    assert history(repo, survivor) == ["created", "running", "ready"]
    assert cl(project, "cat", f"0x{survivor}/stdout").stdout == "start\nend\n"
    assert result_of(repo, timed).failure == "Time limit exceeded"
    assert cl(project, "cat", f"0x{timed}/stdout").stdout == "start\n"
    assert podman_containers(survivor) == podman_containers(timed) == []
    assert rindex.claims(repo.db) == []
    repo.close()


def test_gc_keeps_what_a_queued_job_will_use(project, tmp_path):
    """A job still pending in Slurm's queue keeps its staged dependency and
    its run directory through `cl gc`."""
    shared = tmp_path / "shared"
    cl(project, "config", "slurm.shared_dir", str(shared))
    cl(project, "config", "slurm.sbatch_options", "--", "--begin=now+600")
    start_worker(project)
    bid = bid_of(cl(project, "run", "d:data", "cat d/x.txt"))
    repo = repo_of(project)
    wait_for(lambda: "BeginTime" in (rindex.run_status(repo.db, bid) or {}).get("reason", ""),
             "the job to be pending")
    base = next(shared.iterdir())
    kept = sorted(str(p.relative_to(base)) for p in base.rglob("*"))
    assert any(name.startswith("checkouts/") for name in kept) and f"runs/{bid}" in kept
    assert "slurm.shared_dir" not in cl(project, "gc").stdout  # nothing there to sweep
    assert sorted(str(p.relative_to(base)) for p in base.rglob("*")) == kept
    cl(project, "kill", f"0x{bid}")
    cl(project, "wait", f"0x{bid}", check=False)
    assert json.loads(cl(project, "gc", "--json").stdout)["swept"] == 1  # the staged dependency
    repo.close()
