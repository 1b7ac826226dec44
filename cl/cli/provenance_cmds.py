"""Provenance commands: `cl ancestors`, `cl descendants`, `cl mimic`,
`cl macro`, `cl rerun`.  They parse, make one call into
cl/app/provenance.py, and print."""

import sys

import click

from cl.app import provenance as app_prov
from cl.app import runs as app_runs
from cl.cli import output
from cl.cli.context import json_option, pass_repo, worksheet_option
from cl.cli.parsing import Many, cleared_or
from cl.cli.run_cmds import notice, request_options, show_output
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
        if as_json + dot + mermaid > 1:
            raise UsageError("choose one of --json, --dot, --mermaid")
        form = "json" if as_json else "dot" if dot else "mermaid" if mermaid else "tree"
        click.echo(app_prov.graph_text_of(repo, spec, direction, depth, form))

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
        click.option("-d", "--description", help="Description of every new bundle (default: the old one's)."),
        click.option("--tags", cls=Many, help="Tags of every new bundle (default: the old one's; --tags alone: none)."),
        click.option("--allow-failed-dependencies", is_flag=True, help="New runs run even if a dependency failed."),
        click.option("--exclude-patterns", "exclude", cls=Many,
                     help="Leave files matching these patterns out of the new runs' output."),
        request_options(image="the digest the old run ran in", network="as the old run"),
        click.option("--depth", type=click.IntRange(min=0), default=10, show_default=True,
                     help="How far to look from the inputs or the output."),
        click.option("-s", "--shadow", is_flag=True,
                     help="Put each new bundle right after its old one on the worksheets holding it."),
        click.option("-i", "--dry-run", is_flag=True, help="Print the plan (old => new) and create nothing."),
        click.option("-m", "--memoize", is_flag=True,
                     help="Reuse an identical finished run (same command, dependencies and image digest)."),
        click.option("-W", "--wait", "wait_", is_flag=True, help="Wait until the new runs end."),
        click.option("-t", "--tail", is_flag=True, help="Wait, printing the new runs' stdout and stderr."),
        click.option("-v", "--verbose", is_flag=True, help="Say on stderr what each new run depends on."),
        worksheet_option("Resolve ^N and names on this worksheet and put the new bundles there "
                         "(default: the current one)."),
        json_option,
    ]):
        f = option(f)
    return f


@click.command()
@click.argument("specs", nargs=-1, required=True)
@_mimic_options
@pass_repo
def mimic(repo, specs, name, description, tags, allow_failed_dependencies, exclude, image, memory, time_, disk,
          cpus, gpus, network, queue_, priority, depth, shadow, dry_run, memoize, wait_, tail, verbose, worksheet,
          as_json):
    """Re-run what made an output, with new inputs in place of old ones.

    \b
    cl mimic A B A2 B2       re-run everything downstream of A and B
    cl mimic A B OUT A2 B2   re-run only what leads from A, B to OUT
    cl mimic OUT             re-run OUT itself

    Unchanged ancestors are reused; new runs use the image the old ones ran
    in (by digest)."""
    _json_or_tail(as_json, tail)
    over = _overrides(description, tags, allow_failed_dependencies, exclude,
                      dict(image=image, memory=memory, time=time_, disk=disk, cpus=cpus, gpus=gpus,
                           network=network, queue=queue_, priority=priority))
    done = app_prov.mimic(repo, specs, name=name, depth=depth, shadow=shadow, dry_run=dry_run,
                          memoize=memoize, worksheet=worksheet, args=_command_line(), notice=notice,
                          overrides=over)
    _show(repo, done, dry_run, wait_, tail, as_json, verbose)


@click.command()
@click.argument("macro_name", metavar="MACRO")
@click.argument("inputs", nargs=-1, required=True)
@_mimic_options
@pass_repo
def macro(repo, macro_name, inputs, name, description, tags, allow_failed_dependencies, exclude, image, memory,
          time_, disk, cpus, gpus, network, queue_, priority, depth, shadow, dry_run, memoize, wait_, tail,
          verbose, worksheet, as_json):
    """Apply a macro: mimic MACRO-in1, MACRO-in2, … MACRO-in-KEY → MACRO-out.

    \b
    cl macro sort b.txt -n b-sorted     mimic sort-in1 sort-out b.txt
    cl macro train data2 lr:lr2         mimic train-in1 train-in-lr train-out data2 lr2

    The new output is named NAME (default: new), so that it is never another
    MACRO-out."""
    _json_or_tail(as_json, tail)
    over = _overrides(description, tags, allow_failed_dependencies, exclude,
                      dict(image=image, memory=memory, time=time_, disk=disk, cpus=cpus, gpus=gpus,
                           network=network, queue=queue_, priority=priority))
    done = app_prov.macro(repo, macro_name, inputs, name=name, depth=depth, shadow=shadow, dry_run=dry_run,
                          memoize=memoize, worksheet=worksheet, args=_command_line(), notice=notice,
                          overrides=over)
    _show(repo, done, dry_run, wait_, tail, as_json, verbose)


def _overrides(description, tags, allow_failed_dependencies, exclude, request):
    return app_prov.Overrides(description=description, tags=cleared_or(tags),
                              allow_failed_dependencies=allow_failed_dependencies,
                              exclude_patterns=cleared_or(exclude), request=request)


def _show(repo, done, dry_run, wait_, tail, as_json=False, verbose=False) -> None:
    """The plan (old => new) on stderr and only the new ids on stdout, one
    a line, the output last (so `$(cl mimic …)` holds ids, as in CodaLab);
    then wake a worker for the new runs and, with -W/-t, wait for them
    (-v: describe each new run on stderr)."""
    if as_json:
        output.as_json(done.to_json())
    for step in () if as_json else done.steps:
        if dry_run:
            click.echo(f"{step.old_name}(0x{step.old[:6]}) => {step.name}", err=True)
        else:
            click.echo(f"{step.old_name}(0x{step.old[:6]}) => {step.name}(0x{step.new[:6]})", err=True)
    for step in () if as_json or dry_run else done.steps:
        click.echo("0x" + step.new)
    sys.stdout.flush()
    for bid in done.new_runs if verbose else ():
        for line in app_runs.describe(repo, bid):
            notice(line)
    _after(repo, done.new_runs, wait_, tail)


@click.command()
@click.argument("spec")
@click.option("-n", "--name", help="Name of the new run (default: the old run's).")
@click.option("-m", "--memoize", is_flag=True,
              help="Reuse an identical finished run (same command, dependencies and image digest).")
@click.option("-W", "--wait", "wait_", is_flag=True, help="Wait until the run ends; exit 0 only if it is ready.")
@click.option("-t", "--tail", is_flag=True, help="Wait, printing its stdout and stderr as it runs.")
@click.option("-w", "--worksheet", help="Put the run on this worksheet (default: the current one).")
@request_options(image="the digest the old run ran in", network="as the old run")
@json_option
@pass_repo
def rerun(repo, spec, name, memoize, wait_, tail, worksheet, image, memory, time_, disk, cpus, gpus,
          network, queue_, priority, as_json):
    """Run SPEC again: same command and dependencies, in the image it ran
    in (by digest) unless --request-docker-image says otherwise; prints the
    new run's id.  --request-* options change the old run's requests."""
    _json_or_tail(as_json, tail)
    request = dict(image=image, memory=memory, time=time_, disk=disk, cpus=cpus, gpus=gpus, network=network,
                   queue=queue_, priority=priority)
    done = app_prov.rerun(repo, spec, name=name, memoize=memoize, worksheet=worksheet, request=request,
                          args=_command_line(), notice=notice)
    [step] = done.steps
    if as_json:
        _show(repo, done, False, wait_, tail, as_json)
        return
    click.echo("0x" + step.new)
    _after(repo, done.new_runs, wait_, tail)


# --- shared ---------------------------------------------------------------------------


def _json_or_tail(as_json: bool, tail: bool) -> None:
    if as_json and tail:
        raise UsageError("--json and --tail both write to stdout: use --json with --wait")


def _command_line() -> str:
    import shlex
    return shlex.join(sys.argv[1:])


def _after(repo, new_runs, wait_, tail) -> None:
    """Wake a worker for the new runs; with -W/-t wait for them (streaming
    their output with -t) and exit non-zero if one did not end ready."""
    if new_runs and (wait_ or tail):
        sys.stdout.flush()
    app_runs.start_and_wait(repo, new_runs, wait_ or tail, show_output if tail else None, notice)
