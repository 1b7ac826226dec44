"""Provenance workflows: the ancestor and descendant graphs, mimic, macro
and rerun (memoized as `cl run -m` is, by cl/app/runs.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterable

from cl.errors import UsageError
from cl.objects.ids import ObjectId
from cl.repo import Repository

if TYPE_CHECKING:
    from cl.app.records import Mimicked
    from cl.bundles.provenance import Graph

Notice = Callable[[str], None]


def _quiet(text: str) -> None:
    """The notice callback of a caller that gave none."""


# --- graphs -------------------------------------------------------------------------

FORMATS = ("tree", "json", "dot", "mermaid")


def graph(repo: Repository, spec: str, direction: str, depth: int | None = None) -> Graph:
    """The bundles `spec` was made from (direction "ancestors") or that
    were made from it ("descendants"), as a graph of nodes and keyed edges."""
    from cl.bundles import provenance
    from cl.bundles.specs import resolve_bundle
    return provenance.graph(repo, resolve_bundle(repo, spec), direction, depth)


def graph_text(g: Graph, form: str = "tree") -> str:
    """A graph as text: an indented tree, JSON, Graphviz DOT or Mermaid."""
    from cl.bundles import provenance
    render = {"tree": provenance.tree_text, "json": provenance.json_text, "dot": provenance.dot_text,
              "mermaid": provenance.mermaid_text}[form]
    return render(g)


def graph_text_of(repo: Repository, spec: str, direction: str, depth: int | None = None,
                  form: str = "tree") -> str:
    """`graph_text(graph(...), form)`, with the graph made, printed and
    dropped while the cyclic garbage collector is paused: its hundreds of
    thousands of tuples are never walked by the collector at all."""
    from cl.bundles import provenance
    from cl.bundles.specs import resolve_bundle
    bid = resolve_bundle(repo, spec)
    return provenance.graph_text_of(repo, bid, direction, depth, form)


def graph_json(g: Graph) -> dict[str, Any]:
    """A graph as the JSON value of `cl ancestors --json`."""
    from cl.bundles import provenance
    return provenance.to_json(g)


# --- mimic, macro, rerun ------------------------------------------------------------


@dataclass(frozen=True)
class Overrides:
    """What `cl mimic`/`cl macro` change in every new bundle: None keeps
    the old bundle's value."""
    description: str | None = None
    tags: tuple[str, ...] | None = None
    allow_failed_dependencies: bool = False
    exclude_patterns: tuple[str, ...] | None = None
    request: dict[str, Any] | None = None  # the --request-* texts given


def mimic(repo: Repository, specs: Iterable[str], *, name: str | None = None, depth: int = 10,
          shadow: bool = False, dry_run: bool = False, memoize: bool = False,
          worksheet: str | None = None, args: str = "", notice: Notice = _quiet,
          overrides: Overrides | None = None) -> Mimicked:
    """Re-run what made an output with new inputs in place of old ones
    (CodaLab's `old_in… [old_out] new_in…`); with `dry_run` only the plan.
    `overrides` replace the old bundles' description, tags, requests and
    run options in the new ones."""
    from cl.bundles import mimic as mm
    from cl.bundles.specs import resolve_bundle

    specs = list(specs)
    wid = _worksheet(repo, worksheet)  # -w: specs resolve there too, as CodaLab's
    ids = [resolve_bundle(repo, s, wid) for s in specs]
    request = mm.Request.from_bundles(ids)
    return _mimic(repo, request, dict(zip(ids, specs)), name, depth, shadow, dry_run, memoize,
                  worksheet, args, notice, overrides)


def macro(repo: Repository, macro_name: str, inputs: Iterable[str], *, name: str | None = None,
          depth: int = 10, shadow: bool = False, dry_run: bool = False, memoize: bool = False,
          worksheet: str | None = None, args: str = "", notice: Notice = _quiet,
          overrides: Overrides | None = None) -> Mimicked:
    """Mimic MACRO-in1, MACRO-in2, … MACRO-in-KEY → MACRO-out with `inputs`;
    the new output is named `name` (default: new)."""
    from cl.bundles import mimic as mm
    from cl.bundles.specs import resolve_bundle

    wid = _worksheet(repo, worksheet)  # -w: names resolve there too, as CodaLab's
    request, names = mm.macro_request(repo, macro_name, list(inputs), lambda s: resolve_bundle(repo, s, wid))
    shown = dict(zip((*request.old_inputs, request.old_output), names))
    return _mimic(repo, request, shown, name or "new", depth, shadow, dry_run, memoize, worksheet, args,
                  notice, overrides)


def _mimic(repo: Repository, request: Any, shown: dict[Any, str], name: str | None, depth: int,
           shadow: bool, dry_run: bool, memoize: bool, worksheet: str | None, args: str,
           notice: Notice, overrides: Overrides | None = None) -> Mimicked:
    from cl.app.records import Mimicked, MimicStep
    from cl.bundles import mimic as mm
    from cl.bundles.names import check_name

    if name:
        check_name(name)
    wid = _worksheet(repo, worksheet)
    the_plan = mm.plan(repo, request, depth=depth, name=name, shown=shown)
    if dry_run:
        return Mimicked(tuple(MimicStep(s.old, s.old_name, s.name, s.kind) for s in the_plan.steps))
    over = overrides or Overrides()
    metadata: dict[str, Any] = {}
    if over.description is not None:
        metadata["description"] = over.description
    if over.tags is not None:
        metadata["tags"] = list(over.tags)
    run_options: dict[str, Any] = {}
    if over.allow_failed_dependencies:
        run_options["allow_failed_dependencies"] = True
    if over.exclude_patterns is not None:
        run_options["exclude_patterns"] = list(over.exclude_patterns)
    options = mm.Options(name=name, worksheet=wid, shadow=shadow, memoize=memoize, args=args,
                         request=_request_overrides(repo, over.request or {}), metadata=metadata,
                         run_options=run_options)
    outcomes = _execute(repo, the_plan, options, notice)
    kinds = {s.old: s for s in the_plan.steps}
    steps = tuple(MimicStep(o.old, kinds[o.old].old_name, o.name, kinds[o.old].kind, o.new, o.reused)
                  for o in outcomes)
    return Mimicked(steps, tuple(s.new for s in steps if s.new and not s.reused and s.kind == "run"))


def rerun(repo: Repository, spec: str, *, name: str | None = None, memoize: bool = False,
          worksheet: str | None = None, request: dict[str, Any] | None = None, args: str = "",
          notice: Notice = _quiet) -> Mimicked:
    """Run `spec` again: its command and dependencies, in the image it ran
    in (by digest) unless `request` names another; `request` holds the
    `--request-*` texts that change the old run's requests."""
    from cl.app.records import Mimicked, MimicStep
    from cl.bundles import mimic as mm
    from cl.bundles.names import check_name
    from cl.bundles.specs import resolve_bundle

    bid = resolve_bundle(repo, spec)
    row = repo.index.bundle(bid)
    if row.kind != "run":
        raise UsageError(f"not a run: '{spec}' is a {row.kind} bundle (cl mimic re-creates makes)")
    if name:
        check_name(name)
    overrides = _request_overrides(repo, request or {})
    the_plan = mm.plan(repo, mm.Request((), bid, ()), name=name, shown={bid: spec})
    options = mm.Options(name=name, worksheet=_worksheet(repo, worksheet), memoize=memoize,
                         args=args, request=overrides)
    [outcome] = _execute(repo, the_plan, options, notice)
    [step] = the_plan.steps
    new = MimicStep(outcome.old, step.old_name, outcome.name, step.kind, outcome.new, outcome.reused)
    return Mimicked((new,), () if outcome.reused else (outcome.new,))


def _worksheet(repo: Repository, spec: str | None) -> str | None:
    if not spec:
        return None
    from cl.bundles.specs import resolve_worksheet
    return resolve_worksheet(repo, spec)


def _request_overrides(repo: Repository, given: dict[str, Any]) -> dict[str, Any]:
    """Only the `--request-*` values given, parsed as `cl run` parses them."""
    from cl.app.runs import parse_request
    parsed = parse_request(repo, given)
    return {key: value for key, value in parsed.items() if given.get(key) is not None}


def _execute(repo: Repository, the_plan: Any, options: Any, notice: Notice) -> list[Any]:
    """Execute a plan, starting a worker for makes that wait on new runs."""
    from cl.app.runs import resolve_digest
    from cl.bundles import mimic as mm
    from cl.runs import follow, queue

    def wait(bid: ObjectId) -> str:
        started = queue.ensure_worker(repo)
        if started:
            notice(started)
        return follow.wait(repo, bid, on_notice=notice).state

    return mm.execute(repo, the_plan, options, wait=wait,
                      reused=lambda bid: notice(f"reused {bid.display}"),
                      resolve_image=lambda image: resolve_digest(repo, image, notice))
