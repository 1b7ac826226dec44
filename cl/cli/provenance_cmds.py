"""Provenance commands: `cl ancestors`, `cl descendants`, `cl mimic`,
`cl macro`, `cl rerun`.  They parse, call cl/bundles/provenance.py or
cl/bundles/mimic.py, and print."""

import click

from cl.cli.context import pass_repo
from cl.cli.run_cmds import follow_run, notice, request_options
from cl.errors import UsageError


def _graph_command(direction: str, doc: str):
    @click.command(help=doc)
    @click.argument("spec")
    @click.option("--depth", type=click.IntRange(min=0), help="Only this many levels (default: all).")
    @click.option("--json", "as_json", is_flag=True, help="The graph as JSON: nodes and keyed edges.")
    @click.option("--dot", is_flag=True, help="Graphviz DOT text (`| dot -Tsvg`).")
    @click.option("--mermaid", is_flag=True, help="Mermaid flowchart text.")
    @pass_repo
    def command(repo, spec, depth, as_json, dot, mermaid):
        from cl.bundles import provenance
        from cl.bundles.specs import resolve_bundle

        if as_json + dot + mermaid > 1:
            raise UsageError("choose one of --json, --dot, --mermaid")
        bid = resolve_bundle(repo, spec)
        g = provenance.graph(repo, bid, direction, depth)
        if as_json:
            text = provenance.json_text(g)
        elif dot:
            text = provenance.dot_text(g)
        elif mermaid:
            text = provenance.mermaid_text(g)
        else:
            text = provenance.tree_text(g)
        click.echo(text)

    command.name = direction
    return command


ancestors = _graph_command("ancestors", """Print every bundle SPEC was made from, recursively.

\b
  - exp2(0x2d4192)
    - cnn.py: cnn.py(0x45d17c)
    - data: mnist(0x1ba223)

Each dependency is indented below the bundle that uses it, after its key;
a bundle reached again by another path says (see above).""")

descendants = _graph_command("descendants", """Print every bundle made from SPEC, recursively.

Each dependent is indented below the bundle it uses, after the key it uses
it under; a bundle reached again by another path says (see above).""")


# --- mimic, macro, rerun ------------------------------------------------------------


def _mimic_options(f):
    for option in reversed([
        click.option("-n", "--name", help="Name of the new output; the other new bundles get NAME-<old name>."),
        click.option("--depth", type=click.IntRange(min=0), default=10, show_default=True,
                     help="How far to look from the inputs or the output."),
        click.option("-s", "--shadow", is_flag=True,
                     help="Put each new bundle right after its old one on the worksheets holding it."),
        click.option("-i", "--dry-run", is_flag=True, help="Print the plan (old => new) and create nothing."),
        click.option("-m", "--memoize", is_flag=True,
                     help="Reuse an identical finished run (same command, dependencies and image digest)."),
        click.option("-W", "--wait", "wait_", is_flag=True, help="Wait until the new runs end."),
        click.option("-t", "--tail", is_flag=True, help="Wait, printing the new runs' stdout and stderr."),
        click.option("-w", "--worksheet", help="Put new bundles on this worksheet (default: the current one)."),
    ]):
        f = option(f)
    return f


@click.command()
@click.argument("specs", nargs=-1, required=True)
@_mimic_options
@pass_repo
def mimic(repo, specs, name, depth, shadow, dry_run, memoize, wait_, tail, worksheet):
    """Re-run what made an output, with new inputs in place of old ones.

    \b
    cl mimic A B A2 B2       re-run everything downstream of A and B
    cl mimic A B OUT A2 B2   re-run only what leads from A, B to OUT
    cl mimic OUT             re-run OUT itself

    Unchanged ancestors are reused; new runs use the image the old ones ran
    in (by digest)."""
    from cl.bundles import mimic as mm
    from cl.bundles.specs import resolve_bundle

    ids = [resolve_bundle(repo, s) for s in specs]
    request = mm.Request.from_bundles(ids)
    _mimic(repo, request, dict(zip(ids, specs)), name, depth, shadow, dry_run, memoize, wait_, tail,
           worksheet)


@click.command()
@click.argument("macro_name", metavar="MACRO")
@click.argument("inputs", nargs=-1, required=True)
@_mimic_options
@pass_repo
def macro(repo, macro_name, inputs, name, depth, shadow, dry_run, memoize, wait_, tail, worksheet):
    """Apply a macro: mimic MACRO-in1, MACRO-in2, … MACRO-in-KEY → MACRO-out.

    \b
    cl macro sort b.txt -n b-sorted     mimic sort-in1 sort-out b.txt
    cl macro train data2 lr:lr2         mimic train-in1 train-in-lr train-out data2 lr2

    The new output is named NAME (default: new), so that it is never another
    MACRO-out."""
    from cl.bundles import mimic as mm
    from cl.bundles.specs import resolve_bundle

    request, names = mm.macro_request(repo, macro_name, list(inputs), lambda s: resolve_bundle(repo, s))
    shown = dict(zip((*request.old_inputs, request.old_output), names))
    _mimic(repo, request, shown, name or "new", depth, shadow, dry_run, memoize, wait_, tail, worksheet)


def _mimic(repo, request, shown, name, depth, shadow, dry_run, memoize, wait_, tail, worksheet):
    from cl.bundles import mimic as mm
    from cl.bundles.names import check_name

    if name:
        check_name(name)
    wid = _worksheet(repo, worksheet)
    the_plan = mm.plan(repo, request, depth=depth, name=name, shown=shown)
    if dry_run:
        for step in the_plan.steps:
            click.echo(f"{step.old_name}(0x{step.old[:6]}) => {step.name}")
        return
    options = mm.Options(name=name, worksheet=wid, shadow=shadow, memoize=memoize, args=_command_line())
    outcomes = _execute(repo, the_plan, options)
    for o in outcomes:
        step = next(s for s in the_plan.steps if s.old == o.old)
        click.echo(f"{step.old_name}(0x{o.old[:6]}) => {o.name}({o.new.short})")
    _after(repo, [o.new for o in outcomes if not o.reused and step_kind(the_plan, o.old) == "run"],
           wait_, tail)


@click.command()
@click.argument("spec")
@click.option("-n", "--name", help="Name of the new run (default: the old run's).")
@click.option("-m", "--memoize", is_flag=True,
              help="Reuse an identical finished run (same command, dependencies and image digest).")
@click.option("-W", "--wait", "wait_", is_flag=True, help="Wait until the run ends; exit 0 only if it is ready.")
@click.option("-t", "--tail", is_flag=True, help="Wait, printing its stdout and stderr as it runs.")
@click.option("-w", "--worksheet", help="Put the run on this worksheet (default: the current one).")
@request_options(image="the digest the old run ran in", network="as the old run")
@pass_repo
def rerun(repo, spec, name, memoize, wait_, tail, worksheet, image, memory, time_, disk, cpus, gpus,
          network, queue_, priority):
    """Run SPEC again: same command and dependencies, in the image it ran
    in (by digest) unless --request-docker-image says otherwise; prints the
    new run's id.  --request-* options change the old run's requests."""
    from cl.bundles import mimic as mm
    from cl.bundles.names import check_name
    from cl.bundles.specs import resolve_bundle

    bid = resolve_bundle(repo, spec)
    row = repo.index.bundle(bid)
    if row.kind != "run":
        raise UsageError(f"not a run: '{spec}' is a {row.kind} bundle (cl mimic re-creates makes)")
    if name:
        check_name(name)
    overrides = _request_overrides(repo, image=image, memory=memory, time=time_, disk=disk, cpus=cpus,
                                   gpus=gpus, network=network, queue=queue_, priority=priority)
    the_plan = mm.plan(repo, mm.Request((), bid, ()), name=name, shown={bid: spec})
    options = mm.Options(name=name, worksheet=_worksheet(repo, worksheet), memoize=memoize,
                         args=_command_line(), request=overrides)
    [outcome] = _execute(repo, the_plan, options)
    click.echo(outcome.new.display)
    _after(repo, [] if outcome.reused else [outcome.new], wait_, tail)


# --- shared ---------------------------------------------------------------------------


def step_kind(the_plan, old) -> str:
    return next(s.kind for s in the_plan.steps if s.old == old)


def _worksheet(repo, spec):
    if not spec:
        return None
    from cl.bundles.specs import resolve_worksheet
    return resolve_worksheet(repo, spec)


def _command_line() -> str:
    import shlex
    import sys
    return shlex.join(sys.argv[1:])


def _request_overrides(repo, **given) -> dict:
    """Only the `--request-*` values given, parsed as `cl run` parses them."""
    from cl.bundles.runspec import parse_request

    parsed = parse_request(repo.config, **given)
    return {key: value for key, value in parsed.items() if given.get(key) is not None}


def resolve_digest(repo, image: str | None) -> str | None:
    """The digest a run asking for `image` would run in, as the configured
    executor resolves it (pulling if needed); None for the local executor,
    or when the image cannot be had (then only runs that used no image
    match, and the new run reports the image problem itself)."""
    from cl.bundles.memo import digest_of
    from cl.errors import CLError
    from cl.runs.executor import make_executor

    executor = make_executor(repo.config.get("run", "executor", "auto"), repo.config)
    try:
        return digest_of(executor.image(image, notice))
    except CLError:
        return None
    finally:
        executor.close()


def memoized_run(repo, spec) -> "ObjectId | None":
    """For `cl run -m`: an identical finished run (command, dependencies,
    image digest), put on the spec's worksheet and announced on stderr as
    `reused 0x…`; None when the run must be executed."""
    from cl.bundles.memo import find_memoized, place

    found = find_memoized(repo, spec.command, spec.dependencies,
                          resolve_digest(repo, spec.request.get("image")))
    if found is not None:
        place(repo, found, spec.worksheet)
        notice(f"reused {found.display}")
    return found


def _execute(repo, the_plan, options):
    """Execute a plan, starting a worker for makes that wait on new runs."""
    from cl.bundles import mimic as mm
    from cl.runs import follow, queue

    def wait(bid):
        started = queue.ensure_worker(repo)
        if started:
            notice(started)
        return follow.wait(repo, bid, on_notice=notice).state

    return mm.execute(repo, the_plan, options, wait=wait,
                      reused=lambda bid: notice(f"reused {bid.display}"),
                      resolve_image=lambda image: resolve_digest(repo, image))


def _after(repo, new_runs, wait_, tail) -> None:
    """Wake a worker for the new runs; with -W/-t wait for them (streaming
    their output with -t) and exit non-zero if one did not end ready."""
    import sys

    from cl.runs import queue

    if not new_runs:
        return
    started = queue.ensure_worker(repo)
    if started:
        notice(started)
    if not (wait_ or tail):
        return
    sys.stdout.flush()
    failed = []
    for bid in new_runs:
        state = follow_run(repo, bid, tail)
        if state.state != "ready":
            failed.append(f"{state.metadata.get('name', '')}(0x{bid[:8]}) {state.state}")
    if failed:
        from cl.errors import CLError
        raise CLError("run " + ", ".join(failed))
