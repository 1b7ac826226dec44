"""Run commands: run, worker, workers, kill, wait."""

import shlex
import sys
import time

import click

from cl.cli import output
from cl.cli.options import COUNT, PRIORITY
from cl.cli.context import pass_repo
from cl.errors import CLError, UsageError


class RunFailed(CLError):
    """A run that was waited for did not end `ready`."""


def notice(text: str) -> None:
    click.echo(f"cl: {text}", err=True)


def _end(repo, bid, state) -> None:
    """Exit 0 only for `ready`; otherwise say how the run ended."""
    if state.state == "ready":
        return
    failure = None
    if state.result:
        from cl.objects.types import Result
        failure = repo.read(state.result, Result).failure
    name = state.metadata.get("name", "")
    raise RunFailed(f"run {name} (0x{bid[:8]}) {state.state}" + (f": {failure}" if failure else ""))


def follow_run(repo, bid, tail: bool):
    """Wait for a run to end, printing its stdout and stderr as they grow
    when `tail`; returns its final state."""
    from cl.runs import follow
    if tail:
        streams = {"stdout": click.get_binary_stream("stdout"),
                   "stderr": click.get_binary_stream("stderr")}
        for name, data in follow.tail(repo, bid, on_notice=notice):
            streams[name].write(data)
            streams[name].flush()
    return follow.wait(repo, bid, on_notice=notice)


def _follow(repo, bid, tail: bool) -> None:
    _end(repo, bid, follow_run(repo, bid, tail))


class RunCommand(click.Command):
    """`cl run … --- COMMAND WORDS`: everything after `---` is the command,
    never parsed as options."""

    def parse_args(self, ctx, args):
        if "---" in args:
            i = args.index("---")
            ctx.meta["cl.run.words"] = args[i + 1:]
            args = args[:i]
        return super().parse_args(ctx, args)


def request_options(image: str, network: str):
    """The --request-* options of `cl run` and `cl rerun`; the arguments
    say what the image and network default to for that command."""
    options = [
        click.option("--request-docker-image", "image", help=f"Docker image (default: {image})."),
        click.option("--request-memory", "memory", help="Memory limit, e.g. 2g."),
        click.option("--request-time", "time_", help="Time limit, e.g. 30s, 10m, 1h, 2d."),
        click.option("--request-disk", "disk", help="Limit on the size of the run's output, e.g. 10g."),
        click.option("--request-cpus", "cpus", type=COUNT, help="Number of CPUs."),
        click.option("--request-gpus", "gpus", type=COUNT, help="Number of GPUs."),
        click.option("--request-network/--request-no-network", "network", default=None,
                     help=f"Give the run network access (default: {network})."),
        click.option("--request-queue", "queue_", help="Only workers with this tag take the run."),
        click.option("--request-priority", "priority", type=PRIORITY, help="Higher runs first."),
    ]

    def decorate(f):
        for option in reversed(options):
            f = option(f)
        return f

    return decorate


@click.command(cls=RunCommand)
@click.argument("args", nargs=-1, metavar="[KEY:TARGET]... COMMAND")
@click.option("-n", "--name", help="Name of the run (default: run-<program>).")
@click.option("-d", "--description", default="", help="Description.")
@click.option("--tags", multiple=True, help="Tags (repeat or space-separate).")
@click.option("-W", "--wait", "wait_", is_flag=True, help="Wait until the run ends; exit 0 only if it is ready.")
@click.option("-t", "--tail", is_flag=True, help="Wait, printing its stdout and stderr as it runs.")
@click.option("--allow-failed-dependencies", is_flag=True, help="Run even if a dependency failed.")
@click.option("-x", "--exclude-patterns", "exclude", multiple=True,
              help="Leave files matching these patterns out of the run's output.")
@request_options(image="config run.image", network="config run.network, off")
@click.option("-w", "--worksheet", help="Put the run on this worksheet (default: the current one).")
@click.option("-m", "--memoize", is_flag=True,
              help="Reuse an identical finished run (same command, dependencies and image digest).")
@pass_repo
def run(repo, args, name, description, tags, wait_, tail, allow_failed_dependencies, exclude, image,
        memory, time_, disk, cpus, gpus, network, queue_, priority, worksheet, memoize):
    """Create a run of COMMAND over dependencies; prints its id.

    \b
    cl run sort.py:sort.py input:a.txt 'python sort.py < input > output'
    cl run :sort.py :a.txt 'python sort.py < a.txt > output'
    cl run 'python %sort.py% < %a.txt% > output'
    cl run data:a.txt --- wc -l data

    KEY:TARGET mounts TARGET (a bundle or a path in one) read-only at KEY;
    :TARGET takes the key from the target; a bare TARGET gets b1, b2, ….
    A worker runs it (one is started if none is alive)."""
    from cl.bundles.runspec import build_run_spec, create_run, parse_request
    from cl.bundles.specs import resolve_worksheet
    from cl.runs import queue

    words = click.get_current_context().meta.get("cl.run.words")
    if words is not None:
        targets, command = list(args), " ".join(words)
    elif args:
        targets, command = list(args[:-1]), args[-1]
    else:
        raise UsageError("missing the command to run (cl run [KEY:TARGET…] COMMAND)")
    request = parse_request(repo.config, image=image, memory=memory, time=time_, disk=disk, cpus=cpus,
                            gpus=gpus, network=network, queue=queue_, priority=priority)
    spec = build_run_spec(
        repo, targets, command, name=name, description=description,
        tags=tuple(t for group in tags for t in group.split()), request=request,
        allow_failed_dependencies=allow_failed_dependencies, exclude_patterns=exclude,
        args=shlex.join(sys.argv[1:]),
        worksheet=resolve_worksheet(repo, worksheet) if worksheet else None)
    if memoize:
        from cl.cli.provenance_cmds import memoized_run
        found = memoized_run(repo, spec)
        if found is not None:
            click.echo(found.display)
            if wait_ or tail:
                sys.stdout.flush()
                _follow(repo, found, tail)
            return
    bid = create_run(repo, spec)
    click.echo(bid.display)
    started = queue.ensure_worker(repo)
    if wait_ or tail:
        problem = queue.blocking_problem(repo)
        if problem:  # waiting would never end
            raise CLError(problem)
    if started:
        notice(started)
    if wait_ or tail:
        sys.stdout.flush()
        _follow(repo, bid, tail)


@click.command()
@click.option("--parallel", default=None, type=click.IntRange(min=1),
              help="Runs at a time (default: config run.parallel, 1).")
@click.option("--exit-when-idle", is_flag=True, help="Exit when no run is left to start.")
@click.option("--idle-timeout", help="Exit after being idle this long (e.g. 10m).")
@click.option("--executor", type=click.Choice(["auto", "docker", "local"]), default=None,
              help="How to run (default: config run.executor, auto: Docker if an engine answers).")
@click.option("--tag", "tags", multiple=True, help="Also take runs requesting this queue (--request-queue).")
@click.option("--cpuset", help="CPUs runs may use, e.g. 0-3 or ALL; each run gets its requested number.")
@click.option("--gpuset", help="GPUs runs may use, e.g. 0,1.")
@click.option("--id", "worker_id", hidden=True)
@pass_repo
def worker(repo, parallel, exit_when_idle, idle_timeout, executor, tags, cpuset, gpuset, worker_id):
    """Execute queued runs of this repository until interrupted.

    Interrupt once to finish the running runs and exit, twice to exit now
    (the next worker recovers them)."""
    from cl.bundles.units import parse_duration
    from cl.runs.worker import Worker, WorkerOptions, parse_cpuset

    options = WorkerOptions(
        parallel=parallel or int(repo.config.get("run", "parallel", 1)),
        exit_when_idle=exit_when_idle,
        idle_timeout=parse_duration(idle_timeout) if idle_timeout else None,
        executor=executor or repo.config.get("run", "executor", "auto"),
        tags=tuple(tags), cpuset=parse_cpuset(cpuset),
        gpuset=tuple(g.strip() for g in gpuset.split(",")) if gpuset else None,
        worker_id=worker_id)

    def log(text: str) -> None:
        click.echo(time.strftime("%H:%M:%S ") + text, err=True)

    w = Worker(repo, options, log)
    chosen = w.setup()
    if chosen.note:
        notice(chosen.note)
    log(f"worker {w.id} for {repo.root}: {chosen.name} executor, {options.parallel} at a time")
    w.run()


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Records for scripts.")
@pass_repo
def workers(repo, as_json):
    """List the live workers of this repository and what they run."""
    from cl.index import runs as rindex

    live = rindex.live_workers(repo.db)
    held = rindex.claims(repo.db)
    if as_json:
        output.as_json([{**w, "runs": [c["bundle"] for c in held if c["worker"] == w["id"]]}
                        for w in live])
        return
    if not live:
        click.echo("no worker is running")
        return
    now = time.time_ns()
    rows = []
    for w in live:
        mine = [c for c in held if c["worker"] == w["id"]]
        names = {r.id: r.name for r in repo.index.bundles([c["bundle"] for c in mine])}
        runs = ", ".join(f"{names.get(c['bundle'], '')}(0x{c['bundle'][:8]}) {c['stage']}" for c in mine)
        rows.append([w["id"], w["host"], w["pid"], w["executor"], f"{len(mine)}/{w['parallel']}",
                     " ".join(w["tags"]), f"{(now - w['started']) / 1e9:.0f}s", runs or "-"])
    output.table(["worker", "host", "pid", "executor", "busy", "tags", "up", "runs"], rows)


@click.command()
@click.argument("specs", nargs=-1, required=True)
@pass_repo
def kill(repo, specs):
    """Kill runs (queued or running); a killed run keeps its partial output."""
    from cl.bundles.specs import expand
    from cl.runs import queue

    for bid in expand(repo, specs):
        queue.kill(repo, bid)
        click.echo(bid.display)


@click.command()
@click.argument("spec")
@click.option("-t", "--tail", is_flag=True, help="Print its stdout and stderr while waiting.")
@pass_repo
def wait(repo, spec, tail):
    """Wait until a run ends; prints its id, exits 0 only if it is ready."""
    from cl.bundles.specs import resolve_bundle

    bid = resolve_bundle(repo, spec)
    row = repo.index.bundle(bid)
    if row.kind != "run" and row.state in ("ready", "failed", "killed"):
        click.echo(bid.display)
        _end(repo, bid, repo.head_state(bid)[1])
        return
    try:
        _follow(repo, bid, tail)
    except RunFailed:
        click.echo(bid.display)
        raise
    click.echo(bid.display)
