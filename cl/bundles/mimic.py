"""`cl mimic`, `cl macro` and `cl rerun`: re-create the part of the DAG that
leads from some old inputs to an old output, with new inputs in their place
(CodaLab's semantics).

    mimic A B A' B'        old inputs A B, new inputs A' B': re-run everything
                           downstream of A and B (within --depth)
    mimic A B O A' B'      re-run only the bundles on paths from A or B to O
    mimic O                re-run O itself (`rerun`)
    macro M X k:Y          mimic M-in1 M-in-k M-out X Y

Planning is pure: which old bundles to re-create, in dependency order, from
the index's edges.  Executing a plan creates each new run through
`create_run` (image pinned to the digest the old run recorded) or each new
make from its substituted targets; unchanged ancestors are reused as they
are, and with `memoize` an identical finished run is reused instead of a new
one."""

import heapq
from dataclasses import dataclass, field
from typing import Callable, Iterable, Mapping

from cl.bundles.make import make
from cl.bundles.memo import find_memoized, place, recorded_digest
from cl.errors import CLError, SpecError, UsageError
from cl.index import provenance as q
from cl.objects.ids import ObjectId
from cl.objects.types import Bundle, Dependency, Item
from cl.objects.value import replace
from cl.repo import Repository

DEFAULT_DEPTH = 10
RECREATABLE = ("run", "make")


@dataclass(frozen=True)
class Request:
    """What to mimic: `old_inputs[i]` is replaced by `new_inputs[i]`; with an
    `old_output` only what leads to it is re-created."""

    old_inputs: tuple[ObjectId, ...]
    old_output: ObjectId | None
    new_inputs: tuple[ObjectId, ...]

    @classmethod
    def from_bundles(cls, ids: list[ObjectId]) -> "Request":
        """CodaLab's reading of `cl mimic` arguments: an even count is
        `old_in… new_in…`, an odd count `old_in… old_out new_in…`."""
        if not ids:
            raise UsageError("mimic needs bundles: old inputs, [old output,] new inputs")
        n = len(ids) // 2
        if len(ids) % 2 == 0:
            return cls(tuple(ids[:n]), None, tuple(ids[n:]))
        return cls(tuple(ids[:n]), ids[n], tuple(ids[n + 1:]))


@dataclass(frozen=True)
class Step:
    """Re-create `old` as `name`, its dependencies substituted."""

    old: ObjectId
    kind: str
    old_name: str
    name: str


@dataclass(frozen=True)
class Plan:
    request: Request
    steps: tuple[Step, ...]

    @property
    def substitutions(self) -> dict[ObjectId, ObjectId]:
        return dict(zip(self.request.old_inputs, self.request.new_inputs))


@dataclass(frozen=True)
class Options:
    name: str | None = None          # -n: the output's name, and the others' prefix
    worksheet: str | None = None     # where new bundles go (None: the current one)
    shadow: bool = False             # -s: right after each old bundle on its worksheets
    memoize: bool = False            # -m: reuse identical finished runs
    args: str = ""                   # the command line, recorded on new bundles
    request: dict = field(default_factory=dict)  # request overrides (rerun, mimic --request-*)
    metadata: dict = field(default_factory=dict)  # metadata overrides (-d, --tags)
    run_options: dict = field(default_factory=dict)  # run option overrides (--exclude-patterns, …)


@dataclass(frozen=True)
class Outcome:
    old: ObjectId
    new: ObjectId
    name: str
    reused: bool = False


# --- planning ------------------------------------------------------------------


def choose(parents: Mapping[str, Iterable[str]], region: Iterable[str], inputs: Iterable[str],
           order: Mapping[str, int] | None = None) -> list[str]:
    """The bundles of `region` to re-create: those with a dependency that is
    an input or is itself re-created.  Returned in dependency order (ties by
    `order`, then id).  `parents[x]` lists x's dependencies; a region bundle
    missing from `parents` has none known (beyond the depth limit)."""
    region = set(region)
    inputs = set(inputs)
    order = order or {}
    pending = {x: 0 for x in region}
    children: dict[str, list[str]] = {}
    for x in region:
        for p in set(parents.get(x, ())):
            if p in region:
                pending[x] += 1
                children.setdefault(p, []).append(x)
    ready = [(order.get(x, 0), x) for x, n in pending.items() if n == 0]
    heapq.heapify(ready)
    downstream = set(inputs)
    out = []
    while ready:
        _, x = heapq.heappop(ready)
        if x not in inputs and any(p in downstream for p in parents.get(x, ())):
            downstream.add(x)
            out.append(x)
        for c in children.get(x, ()):
            pending[c] -= 1
            if pending[c] == 0:
                heapq.heappush(ready, (order.get(c, 0), c))
    return out


def plan(repo: Repository, request: Request, depth: int = DEFAULT_DEPTH,
         name: str | None = None, shown: Mapping[str, str] | None = None) -> Plan:
    """Which bundles to re-create, in order.  Refuses (changing nothing)
    when the inputs do not lead anywhere: an old input that is not an
    ancestor of the old output, or that nothing depends on.  `shown` maps
    ids to the specs the user wrote, for messages."""
    named = [*request.old_inputs, *([request.old_output] if request.old_output else [])]
    labels = {bid: f"{row[0]}(0x{bid[:6]})" for bid, row in q.summaries(repo.db, named).items()}
    shown = {**labels, **(shown or {})}
    _check_request(request, shown)
    inputs = [str(b) for b in request.old_inputs]
    if request.old_output is not None and not inputs:
        chosen = [str(request.old_output)]
    elif request.old_output is not None:
        chosen = _toward_output(repo, request, inputs, depth, shown)
    else:
        chosen = _downstream(repo, inputs, depth, shown)
    info = q.summaries(repo.db, chosen)
    steps = []
    for bid in chosen:
        old_name, kind = info[bid][0], info[bid][1]
        if kind not in RECREATABLE:
            raise CLError(f"cannot re-create {old_name}(0x{bid[:6]}): it is an upload ({kind}), "
                          "not a run or a make")
        steps.append(Step(ObjectId(bid), kind, old_name, _new_name(name, old_name, bid == request.old_output)))
    return Plan(request, tuple(steps))


def _check_request(request: Request, shown: dict) -> None:
    seen = set()
    for old in request.old_inputs:
        if old in seen:
            raise UsageError(f"an old input is given twice: '{shown[old]}'")
        seen.add(old)
    if request.old_output is not None and request.old_output in seen:
        raise UsageError(f"the old output is also an old input: '{shown[request.old_output]}'")
    if len(request.old_inputs) != len(request.new_inputs):
        raise UsageError(f"{len(request.old_inputs)} old inputs but {len(request.new_inputs)} new inputs")


def _toward_output(repo, request: Request, inputs: list[str], depth: int, shown: dict) -> list[str]:
    out = str(request.old_output)
    # One level more than `depth`: the bundles `depth` levels up still see
    # which of their dependencies are inputs (CodaLab reads their infos).
    edges, _ = q.closure_edges(repo.db, out, up=True, depth=depth + 1)
    parents: dict[str, list[str]] = {}
    for child, _key, parent, *_ in edges:
        parents.setdefault(child, []).append(parent)
    region = set(parents) | {out}
    for old in inputs:
        if old not in {p for ps in parents.values() for p in ps}:
            raise CLError(f"'{shown[old]}' is not an ancestor of '{shown[request.old_output]}'"
                          f" within depth {depth}")
    return choose(parents, region, inputs, _seqs(repo, region))


def _downstream(repo, inputs: list[str], depth: int, shown: dict) -> list[str]:
    region: set[str] = set()
    for old in inputs:
        edges, _ = q.closure_edges(repo.db, old, up=False, depth=depth)
        if not edges:
            raise CLError(f"nothing depends on '{shown[old]}': there is nothing to mimic")
        region.update(e[0] for e in edges)
    parents: dict[str, list[str]] = {}
    for child, _key, parent, *_ in q.parent_edges(repo.db, sorted(region)):
        parents.setdefault(child, []).append(parent)
    return choose(parents, region, inputs, _seqs(repo, region))


def _seqs(repo, ids) -> dict[str, int]:
    return {bid: row[4] for bid, row in q.summaries(repo.db, list(ids)).items()}


def _new_name(name: str | None, old_name: str, is_output: bool) -> str:
    if not name:
        return old_name
    return name if is_output else f"{name}-{old_name}"


# --- macros --------------------------------------------------------------------


def macro_request(repo: Repository, macro: str, args: list[str],
                  resolve: Callable[[str], ObjectId]) -> tuple[Request, list[str]]:
    """`cl macro M A B k:C`: mimic over the bundles named M-in1, M-in2,
    M-in-k and M-out with A, B, C.  Returns the request and the specs shown
    in messages.  Refuses when a macro input or output is missing, or when
    the macro has more numbered inputs than were given."""
    if not args:
        raise UsageError(f"macro '{macro}' needs at least one input bundle")
    numbered, keyed = [], []
    for arg in args:
        if ":" in arg and "::" not in arg.split(":", 1)[0] + ":":
            key, spec = arg.split(":", 1)
            keyed.append((f"{macro}-in-{key}", spec))
        else:
            numbered.append(arg)
    names = [f"{macro}-in{i + 1}" for i in range(len(numbered))] + [k for k, _ in keyed]
    new_specs = numbered + [s for _, s in keyed]
    out_name = f"{macro}-out"
    if not repo.index.by_name(out_name):
        raise SpecError(out_name, f"macro '{macro}' has no output bundle")
    for old in names:
        if not repo.index.by_name(old):
            raise SpecError(old, f"macro '{macro}' has no such input")
    extra = f"{macro}-in{len(numbered) + 1}"
    if repo.index.by_name(extra):
        raise UsageError(f"macro '{macro}' takes more inputs: '{extra}' exists but "
                         f"{len(numbered)} numbered input{'s' if len(numbered) != 1 else ''} given")
    old_ids = [resolve(n) for n in names]
    out_id = resolve(out_name)
    new_ids = [resolve(s) for s in new_specs]
    return Request(tuple(old_ids), out_id, tuple(new_ids)), names + [out_name]


# --- executing -----------------------------------------------------------------


def execute(repo: Repository, the_plan: Plan, options: Options,
            wait: Callable[[ObjectId], str] | None = None,
            reused: Callable[[ObjectId], None] | None = None,
            resolve_image: Callable[[str], str | None] | None = None) -> list[Outcome]:
    """Create the plan's bundles in order.  A make whose targets are new
    runs needs their results, so it `wait`s for them (the caller supplies
    how: the runs layer starts a worker and blocks, returning the final
    state).  `reused(bid)` is told of each run reused by memoization.
    `resolve_image(name)` gives the digest an image name would run as; it is
    needed only to memoize a run whose image was overridden."""
    new_of: dict[ObjectId, ObjectId] = the_plan.substitutions
    made: set[ObjectId] = set()
    outcomes = []
    for step in the_plan.steps:
        old = repo.bundle(step.old)
        deps = tuple(Dependency(d.key, new_of.get(d.bundle, d.bundle), d.path) for d in old.dependencies)
        _, state = repo.head_state(step.old)
        md = dict(state.metadata)
        md["name"] = step.name
        md.update(options.metadata)
        placement = "" if options.shadow else options.worksheet
        if step.kind == "run":
            new, was_reused = _recreate_run(repo, old, state, deps, md, options, placement,
                                            resolve_image)
            if was_reused and reused:
                reused(new)
        else:
            for d in deps:
                if d.bundle in made and _state(repo, d.bundle) not in ("ready",):
                    _await(repo, d.bundle, wait)
            targets = [(f"{d.key}:" if d.key else "") + d.bundle.display + (f"/{d.path}" if d.path else "")
                       for d in deps]
            new = make(repo, targets, name=step.name, description=md.get("description", ""),
                       tags=md.get("tags", []), worksheet=placement, args=options.args)
            was_reused = False
        if options.shadow:
            _shadow(repo, step.old, new, options.worksheet)
        new_of[step.old] = new
        made.add(new)
        outcomes.append(Outcome(step.old, new, step.name, was_reused))
    return outcomes


def _state(repo: Repository, bid: str) -> str:
    row = repo.index.bundle(bid, include_deleted=True)
    return row.state if row else ""


def _await(repo: Repository, bid: ObjectId, wait) -> None:
    if wait is None:
        raise CLError(f"0x{bid[:8]} has not finished, and a make needs its result")
    final = wait(bid)
    if final != "ready":
        raise CLError(f"0x{bid[:8]} ended {final}: the bundles made from it were not created")


def _recreate_run(repo, old: Bundle, state, deps, md, options: Options, placement, resolve_image):
    from cl.bundles.runspec import RunSpec, create_run

    request = dict(old.request)
    digest = recorded_digest(repo, state)
    if digest:
        request["image"] = digest  # the very image the old run ran in
    request.update(options.request)
    if options.memoize:
        if request.get("image") != digest:
            digest = resolve_image(request.get("image")) if resolve_image else None
        found = find_memoized(repo, old.command or "", deps, digest)
        if found is not None:
            place(repo, found, placement)
            return found, True
    spec = RunSpec.from_bundle(old, dependencies=deps, request=request, metadata=md,
                               options={**old.options, **options.run_options},
                               worksheet=placement, args=options.args)
    return create_run(repo, spec), False


# --- placing on worksheets -----------------------------------------------------


def _shadow(repo: Repository, old: ObjectId, new: ObjectId, fallback: str | None) -> None:
    """Put `new` right after every occurrence of `old` on the worksheets
    holding it; on the target worksheet when `old` is on none."""
    hosts = repo.index.host_worksheets(old)
    if not hosts:
        wid = fallback if fallback is not None else repo.current_worksheet()
        if wid:
            repo.append_to_worksheet(wid, (Item("bundle", new),), f"mimic: add 0x{new[:8]}")
        return
    for wid in hosts:
        def after(ws, old=old, new=new):
            items = []
            for item in ws.items:
                items.append(item)
                if item.kind == "bundle" and item.value == old:
                    items.append(Item("bundle", new))
            return replace(ws, items=tuple(items))
        repo.commit_worksheet(wid, after, f"mimic: 0x{new[:8]} shadows 0x{old[:8]}")
