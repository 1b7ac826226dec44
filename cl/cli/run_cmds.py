"""Run commands: run, worker, workers, kill, wait."""

import shlex
import sys
import time

import click

from cl.app import runs as app_runs
from cl.cli import output
from cl.cli.context import json_option, pass_repo, worksheet_option
from cl.cli.parsing import Many, words as split_words
from cl.cli.options import COUNT, PORT, PRIORITY
from cl.errors import CLError, UsageError


def notice(text: str) -> None:
    click.echo(f"cl: {text}", err=True)


def show_output(name: str, data: bytes) -> None:
    """A run's stdout or stderr bytes, on ours (`-t`)."""
    stream = click.get_binary_stream(name)
    stream.write(data)
    stream.flush()


def _follow(repo, bid, tail: bool) -> None:
    """Wait for a run (its stage on a terminal); exit 0 only for `ready`,
    otherwise say how it ended, after the end of its stderr."""
    with output.run_progress(enabled=not tail) as on_progress:
        state = app_runs.follow(repo, bid, show_output if tail else None, notice, on_progress=on_progress)
    failure = app_runs.failure(repo, bid, state)
    if failure:
        if not tail:  # -t has shown all of it
            show_stderr_tail(repo, bid)
        raise app_runs.RunFailed(failure)


def show_stderr_tail(repo, bid) -> None:
    """The last lines of a failed run's stderr and how to see the rest, on ours."""
    lines = app_runs.stderr_tail(repo, bid)
    if not lines:
        return
    short = f"0x{bid[:8]}"
    click.echo(f"last lines of the run's stderr (all of it: cl cat {short}/stderr):", err=True)
    for line in lines:
        click.echo(f"  {output.shown(line)}", err=True)


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
@click.option("--tags", cls=Many, help="Tags: --tags a b c.")
@click.option("-e", "--edit", "edit_", is_flag=True, help="Edit the name, description and tags in $EDITOR first.")
@click.option("-W", "--wait", "wait_", is_flag=True, help="Wait until the run ends; exit 0 only if it is ready.")
@click.option("-t", "--tail", is_flag=True, help="Wait, printing its stdout and stderr as it runs.")
@click.option("-v", "--verbose", is_flag=True, help="Say on stderr what the run depends on and requests.")
@click.option("--allow-failed-dependencies", is_flag=True, help="Run even if a dependency failed.")
@click.option("-x", "--exclude-patterns", "exclude", cls=Many,
              help="Leave files matching these patterns out of the run's output (several: -x a b).")
@request_options(image="config run.image", network="config run.network, off")
@worksheet_option("Put the run on this worksheet (default: the current one).")
@click.option("-a", "--after_sort_key", "--after-sort-key", "after", type=click.IntRange(min=0),
              help="Put the run right after the N-th item of the worksheet (0: first) instead of last.")
@click.option("-m", "--memoize", is_flag=True,
              help="Reuse an identical finished run (same command, dependencies and image digest).")
@json_option
@pass_repo
def run(repo, args, name, description, tags, edit_, wait_, tail, verbose, allow_failed_dependencies, exclude,
        image, memory, time_, disk, cpus, gpus, network, queue_, priority, worksheet, after, memoize, as_json):
    """Create a run of COMMAND over dependencies; prints its id.

    \b
    cl run sort.py:sort.py input:a.txt 'python sort.py < input > output'
    cl run :sort.py :a.txt 'python sort.py < a.txt > output'
    cl run 'python %sort.py% < %a.txt% > output'
    cl run data:a.txt --- wc -l data

    KEY:TARGET mounts TARGET (a bundle or a path in one) read-only at KEY;
    :TARGET takes the key from the target; a bare TARGET gets b1, b2, ….
    A worker runs it (one is started if none is alive)."""
    words = click.get_current_context().meta.get("cl.run.words")
    if words is not None:
        targets, command = list(args), app_runs.command_from_words(words)
    elif args:
        targets, command = list(args[:-1]), args[-1]
    else:
        raise UsageError("missing the command to run (cl run [KEY:TARGET…] COMMAND)")
    if as_json and tail:
        raise UsageError("--json and --tail both write to stdout: use --json with --wait")
    request = dict(image=image, memory=memory, time=time_, disk=disk, cpus=cpus, gpus=gpus, network=network,
                   queue=queue_, priority=priority)
    tags = split_words(tags)
    if edit_:
        from cl.cli.bundle_cmds import _edit_metadata
        name, description, tags = _edit_metadata(name or "", description, tags)
        name = name or None
    launched = app_runs.run(
        repo, targets, command, name=name, description=description, tags=tags, request=request,
        allow_failed_dependencies=allow_failed_dependencies, exclude=split_words(exclude), worksheet=worksheet,
        after=after, memoize=memoize, args=shlex.join(sys.argv[1:]), wait=wait_ or tail, notice=notice)
    if verbose:
        for line in app_runs.describe(repo, launched.id):
            notice(line)
    if not as_json:
        click.echo(launched.id.display)
    if launched.blocking:  # waiting would never end
        raise CLError(launched.blocking)
    if launched.started:
        notice(launched.started)
    if as_json:
        _launched_json(repo, launched, wait_)
    elif wait_ or tail:
        sys.stdout.flush()
        _follow(repo, launched.id, tail)


def _launched_json(repo, launched, wait_: bool) -> None:
    """`cl run --json`: {"id", "reused"}, and with -W how the run ended
    (printed before a failed run's error)."""
    record = {"id": launched.id.display, "reused": launched.reused}
    if not wait_:
        output.as_json(record)
        return
    waited = app_runs.waited(repo, launched.id, app_runs.follow(repo, launched.id, None, notice))
    output.as_json({**record, "state": waited.state, "failure": waited.failure})
    if waited.failure:
        raise app_runs.RunFailed(waited.failure)


@click.command()
@click.option("--parallel", default=None, type=click.IntRange(min=1),
              help="Runs at a time (default: config run.parallel, 1).")
@click.option("--exit-when-idle", is_flag=True, help="Exit when no run is left to start.")
@click.option("--idle-timeout", help="Exit after being idle this long (e.g. 10m).")
@click.option("--executor", type=click.Choice(app_runs.EXECUTOR_CHOICES), default=None,
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
    def log(text: str) -> None:
        click.echo(time.strftime("%H:%M:%S ") + text, err=True)

    app_runs.work(repo, parallel=parallel, exit_when_idle=exit_when_idle, idle_timeout=idle_timeout,
                  executor=executor, tags=tags, cpuset=cpuset, gpuset=gpuset, worker_id=worker_id, log=log,
                  notice=notice)


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Records for scripts.")
@pass_repo
def workers(repo, as_json):
    """List the live workers of this repository and what they run."""
    live = app_runs.workers(repo)
    if as_json:
        output.as_json([w.to_json() for w in live])
        return
    if not live:
        click.echo("no worker is running")
        return
    now = time.time_ns()
    rows = []
    for lw in live:
        w, mine = lw.info, lw.claims
        runs = ", ".join(f"{c.name}(0x{c.bundle[:8]}) {c.stage}" for c in mine)
        rows.append([w["id"], w["host"], w["pid"], w["executor"], f"{len(mine)}/{w['parallel']}",
                     " ".join(w["tags"]), app_runs.capacity_text(w.get("capacity")),
                     f"{(now - w['started']) / 1e9:.0f}s", runs or "-"])
    output.table(["worker", "host", "pid", "executor", "busy", "tags", "capacity", "up", "runs"], rows)


@click.command()
@click.argument("specs", nargs=-1, required=True)
@worksheet_option("Resolve ^N and names on this worksheet.")
@json_option
@pass_repo
def kill(repo, specs, worksheet, as_json):
    """Kill runs (queued or running); a killed run keeps its partial output."""
    if as_json:
        output.as_json([bid.display for bid in app_runs.kill(repo, specs, worksheet)])
        return
    for bid in app_runs.kill(repo, specs, worksheet):
        click.echo(bid.display)


@click.command()
@click.argument("spec")
@click.option("-t", "--tail", is_flag=True, help="Print its stdout and stderr while waiting.")
@worksheet_option("Resolve ^N and names on this worksheet.")
@json_option
@pass_repo
def wait(repo, spec, tail, worksheet, as_json):
    """Wait until a run ends; prints its id, exits 0 only if it is ready."""
    if as_json and tail:
        raise UsageError("--json and --tail both write to stdout")
    with output.run_progress(enabled=not tail) as on_progress:
        waited = app_runs.wait(repo, spec, show_output if tail else None, notice,
                                  worksheet=worksheet, on_progress=on_progress)
    if as_json:
        output.as_json(waited.to_json())
    else:
        click.echo("0x" + waited.id)
    if waited.failure:
        if not tail:
            show_stderr_tail(repo, waited.id)
        raise app_runs.RunFailed(waited.failure)


@click.command()
@click.argument("target", metavar="RUN/PATH")
@click.argument("text", metavar="STRING")
@worksheet_option("Resolve ^N and names on this worksheet.")
@json_option
@pass_repo
def write(repo, target, text, worksheet, as_json):
    """Write STRING into the file PATH of a running run (its working
    directory), e.g. to tell it to stop early: cl write RUN/stop now."""
    from cl.app import live
    written = live.write(repo, target, text, worksheet)
    if as_json:
        output.as_json({"id": written.id.display, "path": written.path})


@click.command()
@click.argument("spec", metavar="RUN")
@click.argument("port", type=PORT)
@click.argument("message", required=False, default="")
@click.option("-f", "--file", "path", type=click.Path(dir_okay=False),
              help="Send this file's bytes after MESSAGE.")
@click.option("--verbose", is_flag=True, help="Say on stderr where the connection goes.")
@worksheet_option("Resolve ^N and names on this worksheet.")
@pass_repo
def netcat(repo, spec, port, message, path, verbose, worksheet):
    """Send MESSAGE (and a file) to PORT of a running run; print its answer.
    A Docker run needs --request-network to be reached."""
    from cl.app import live
    data = message.encode()
    if path is not None:
        try:
            with open(path, "rb") as f:
                data += f.read()
        except OSError as exc:
            raise CLError(f"cannot read '{path}': {exc.strerror}") from None
    if verbose:
        notice(f"sending {len(data)} bytes to port {port} of {spec}")
    live.netcat(repo, spec, port, data, click.get_binary_stream("stdout"), worksheet)
