"""Run workflows: create a run (memoized or not) and wake a worker, follow
and wait for runs, kill them, list workers, and be a worker.

`cl run` pays only for the run spec and the queue: the executor (Docker)
is loaded by memoization and by the worker alone."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator

from cl.errors import CLError, UsageError
from cl.bundles.specs import resolve_worksheet
from cl.objects.ids import ObjectId
from cl.repo import Repository
from cl.runs.registry import CHOICES as EXECUTOR_CHOICES

if TYPE_CHECKING:
    from cl.app.records import Launched, LiveWorker, Waited
    from cl.objects.types import State

Notice = Callable[[str], None]
Output = Callable[[str, bytes], None]   # (stream name: stdout | stderr, bytes)

REQUEST_KEYS = ("image", "memory", "time", "disk", "cpus", "gpus", "network", "queue", "priority")


class RunFailed(CLError):
    """A run that was waited for did not end `ready`."""


def command_from_words(words: Iterable[str]) -> str:
    """The command of `cl run … --- WORDS`: each word quoted again for the
    shell, as CodaLab collapses them (`echo 'hello world!'` stays so)."""
    from cl.bundles.runspec import command_from_words as collapse
    return collapse(list(words))


def _quiet(text: str) -> None:
    """The notice callback of a caller that gave none."""


def parse_request(repo: Repository, given: dict[str, Any] | None) -> dict[str, Any]:
    """A run's resource request from `--request-*` texts (keys of
    REQUEST_KEYS); the image and network default to the config's."""
    from cl.bundles.runspec import parse_request as parse
    given = {key: value for key, value in (given or {}).items() if value is not None}
    unknown = set(given) - set(REQUEST_KEYS)
    if unknown:
        raise UsageError(f"unknown request: {', '.join(sorted(unknown))} (one of {', '.join(REQUEST_KEYS)})")
    return parse(repo.config, **{key: _typed(key, value) for key, value in given.items()})


_WHOLE = ("cpus", "gpus", "priority")
_TRUTH = {"true": True, "yes": True, "on": True, "1": True, "false": False, "no": False, "off": False, "0": False}


def _typed(key: str, value: Any) -> Any:
    """A request value as `cl run`'s options give it: whole numbers for
    cpus, gpus and priority, a flag for network, text for the rest (the
    Python API may pass numbers and booleans, or text)."""
    if key in _WHOLE:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and re.fullmatch(r"-?[0-9]{1,18}", value.strip()):
            return int(value)
        raise UsageError(f"request {key} must be a whole number: {value!r}")
    if key == "network":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _TRUTH:
            return _TRUTH[value.strip().lower()]
        raise UsageError(f"request network must be true or false: {value!r}")
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise UsageError(f"request {key} must be text: {value!r}")
    return str(value)


def run(repo: Repository, targets: Iterable[str], command: str, *, name: str | None = None,
        description: str = "", tags: Iterable[str] = (), request: dict[str, Any] | None = None,
        allow_failed_dependencies: bool = False, exclude: Iterable[str] = (),
        worksheet: str | None = None, memoize: bool = False, args: str = "", wait: bool = False,
        after: int | None = None, notice: Notice = _quiet) -> Launched:
    """Create a run of `command` over [KEY:]TARGETs and wake (or start) a
    worker for it.  With `memoize`, an identical finished run is reused
    instead (put on the worksheet; `reused` says so).  With `wait`, the
    result also says why waiting could never end, if that is so.  With
    `after` N the run goes right after the worksheet's N-th item (CodaLab's
    --after_sort_key) instead of last."""
    from cl.app.records import Launched
    from cl.bundles.runspec import build_run_spec, create_run
    from cl.bundles.specs import resolve_worksheet
    from cl.runs import queue

    from cl.app.bundles import unfrozen_worksheet
    unfrozen_worksheet(repo, worksheet)
    spec = build_run_spec(
        repo, list(targets), command, name=name, description=description, tags=tuple(tags),
        request=parse_request(repo, request), allow_failed_dependencies=allow_failed_dependencies,
        exclude_patterns=tuple(exclude), args=args,
        worksheet=resolve_worksheet(repo, worksheet) if worksheet else None)
    wid = resolve_worksheet(repo, worksheet or ".")
    if after is not None:
        from cl.app.worksheets import check_position
        check_position(repo, wid, after)
    if memoize:
        found = memoized_run(repo, spec, notice)
        if found is not None:
            if after is not None:  # a reused run goes where a new one would
                from cl.app.worksheets import move_after
                move_after(repo, wid, found, after)
            return Launched(found, reused=True)
    bid = create_run(repo, spec)
    if after is not None:
        from cl.app.worksheets import move_after
        move_after(repo, wid, bid, after)
    unmet = queue.unmet_now(repo, spec.request)
    if unmet:  # the workers would leave it staged: say so now, not only in cl info
        notice(f"run 0x{bid[:8]} stays staged: {unmet}")
    started = queue.ensure_worker(repo)
    blocking = queue.blocking_problem(repo) if wait else None
    return Launched(bid, reused=False, started=started, blocking=blocking)


def describe(repo: Repository, bid: str) -> list[str]:
    """Lines saying what a run is: its command, each dependency, its
    requests (`cl run -v`)."""
    from cl.bundles import info as info_ops
    rec = info_ops.record(repo, bid, False)
    lines = [f"run 0x{bid[:8]} {rec.get('name', '')}: {rec.get('command', '')}"]
    for d in rec.get("dependencies", []):
        lines.append(f"  {d['key'] or '(whole)'} <- {d['name']}({d['bundle'][:10]})"
                     + (f"/{d['path']}" if d["path"] else ""))
    for key, value in sorted((rec.get("request") or {}).items()):
        lines.append(f"  request {key}: {value}")
    return lines


def resolve_digest(repo: Repository, image: str | None, notice: Notice = _quiet) -> str | None:
    """The digest a run asking for `image` would run in, as the configured
    executor resolves it (pulling if needed); None for the local executor,
    or when the image cannot be had (then only runs that used no image
    match, and the new run reports the image problem itself)."""
    from cl.bundles.memo import digest_of
    from cl.runs.executor import make_executor

    executor = make_executor(repo.config.get("run", "executor", "auto"), repo.config)
    try:
        return digest_of(executor.image(image, notice))
    except CLError:
        return None
    finally:
        executor.close()


def memoized_run(repo: Repository, spec: Any, notice: Notice = _quiet) -> ObjectId | None:
    """An identical finished run (command, dependencies, image digest) for
    a run spec, put on the spec's worksheet and announced as `reused 0x…`;
    None when the run must be executed."""
    from cl.bundles.memo import find_memoized, place

    found = find_memoized(repo, spec.command, spec.dependencies,
                          resolve_digest(repo, spec.request.get("image"), notice))
    if found is not None:
        place(repo, found, spec.worksheet)
        notice(f"reused {found.display}")
    return found


def state(repo: Repository, bid: str) -> str:
    """A bundle's state now (created, staged, running, ready, failed, killed, …)."""
    row = repo.index.bundle(bid, include_deleted=True)
    if row is None:
        raise CLError(f"no such bundle: 0x{bid[:8]}")
    return str(row.state)


def wake_worker(repo: Repository, notice: Notice = _quiet) -> None:
    """Wake a live worker, or start one, for runs just created."""
    from cl.runs import queue
    started = queue.ensure_worker(repo)
    if started:
        notice(started)


def follow(repo: Repository, bid: str, on_output: Output | None = None, notice: Notice = _quiet,
           timeout: float | None = None, on_progress: Callable[[Any], None] | None = None) -> State:
    """Wait for a run to end, passing its stdout and stderr to `on_output`
    as they grow when given one; its final state.  With `timeout`
    (seconds, without on_output), WaitTimeout if it has not ended by then.
    `on_progress` hears where the run stands (a cl.runs.follow.RunProgress:
    stage, reason, runs ahead of it, elapsed time) twice a second."""
    from cl.runs import follow as follow_ops
    if on_output is not None:
        for name, data in follow_ops.tail(repo, bid, on_notice=notice):
            on_output(name, data)
    return follow_ops.wait(repo, bid, on_notice=notice, timeout=timeout, on_progress=on_progress)


def stderr_tail(repo: Repository, bid: str, lines: int = 10) -> list[str]:
    """The last lines of an ended run's stderr (shown when it failed)."""
    from cl.runs.follow import stderr_tail as tail
    return tail(repo, bid, lines)


def failure(repo: Repository, bid: str, state: State) -> str | None:
    """None for a run that ended `ready`; otherwise the line that says how
    it ended: `run NAME (0x…) failed: why`."""
    if state.state == "ready":
        return None
    why = None
    if state.result:
        from cl.objects.types import Result
        why = repo.read(state.result, Result).failure
    name = state.metadata.get("name", "")
    return f"run {name} (0x{bid[:8]}) {state.state}" + (f": {why}" if why else "")


def waited(repo: Repository, bid: str, state: State) -> Waited:
    """A run's final state as a Waited record."""
    from cl.app.records import Waited
    return Waited(bid, state.metadata.get("name", ""), state.state, failure(repo, bid, state))


def wait(repo: Repository, spec: str, on_output: Output | None = None, notice: Notice = _quiet,
         timeout: float | None = None, worksheet: str | None = None,
         on_progress: Callable[[Any], None] | None = None) -> Waited:
    """Wait until the bundle `spec` names has ended (at once for a bundle
    that is not a run); how it ended."""
    from cl.bundles.specs import resolve_bundle
    bid = resolve_bundle(repo, spec, resolve_worksheet(repo, worksheet) if worksheet else None)
    row = repo.index.bundle(bid)
    if row.kind != "run" and row.state in ("ready", "failed", "killed"):
        return waited(repo, bid, repo.head_state(bid)[1])
    _check_held_here(repo, bid, row)
    return waited(repo, bid, follow(repo, bid, on_output, notice, timeout, on_progress))


def _check_held_here(repo: Repository, bid: str, row: Any) -> None:
    """Refuse to wait for a run that left the queue in another repository
    (it came here by clone, pull or push while it ran there): no worker of
    this repository holds it, so only a pull of its result can end it here."""
    from cl.index import runs as rindex
    from cl.objects.types import FINAL_STATES
    if row.kind != "run" or row.state in FINAL_STATES or row.state == "created":
        return
    import os
    from cl.runs.paths import run_dir
    if rindex.get_claim(repo.db, bid) is not None or os.path.isdir(run_dir(repo, bid)):
        return  # held here, or started here (a worker's recovery adopts it)
    now = repo.index.bundle(bid)
    if now is None or now.state in FINAL_STATES:  # it ended (state and release are one transaction)
        return
    from cl.sync.remotes import remotes
    names = sorted(remotes(repo))
    where = f"'cl pull {names[0]} {row.name or '0x' + bid[:8]}'" if len(names) == 1 else \
        "'cl pull REMOTE SPEC' from the repository that runs it"
    raise CLError(f"run {row.name} (0x{bid[:8]}) is {row.state} in another repository: "
                  "no worker of this one holds it",
                  hint=f"once it has ended there, {where} brings its result here")


def wait_all(repo: Repository, bids: Iterable[str], on_output: Output | None = None,
             notice: Notice = _quiet) -> list[Waited]:
    """Follow runs one after another; how each ended."""
    return [waited(repo, bid, follow(repo, bid, on_output, notice)) for bid in bids]


def kill(repo: Repository, specs: Iterable[str], worksheet: str | None = None) -> Iterator[ObjectId]:
    """Kill runs (queued ones at once, running ones through their worker),
    yielding each id as it is done."""
    from cl.bundles.specs import expand
    from cl.runs import queue
    for bid in expand(repo, list(specs), resolve_worksheet(repo, worksheet) if worksheet else None):
        queue.kill(repo, bid)
        yield bid


def capacity_text(capacity: dict[str, Any] | None) -> str:
    """A worker's capacity (its row's JSON) as `cl workers` shows it:
    `2 CPUs, 0 GPUs, 23.5g`, or `-` when its executor decides."""
    from cl.runs.capacity import Capacity, describe
    return describe(Capacity.from_json(capacity))


def workers(repo: Repository) -> list[LiveWorker]:
    """The live workers of the repository and the runs each holds."""
    from cl.app.records import Claim, LiveWorker
    from cl.index import runs as rindex

    live = rindex.live_workers(repo.db)
    held = rindex.claims(repo.db)
    out = []
    for w in live:
        mine = [c for c in held if c["worker"] == w["id"]]
        names = {r.id: r.name for r in repo.index.bundles([c["bundle"] for c in mine])}
        out.append(LiveWorker(w, tuple(Claim(c["bundle"], names.get(c["bundle"], ""), c["stage"])
                                       for c in mine)))
    return out


def work(repo: Repository, *, parallel: int | None = None, exit_when_idle: bool = False,
         idle_timeout: str | None = None, executor: str | None = None, tags: Iterable[str] = (),
         cpuset: str | None = None, gpuset: str | None = None, worker_id: str | None = None,
         log: Notice = _quiet, notice: Notice = _quiet) -> None:
    """Be a worker: execute this repository's queued runs until told to
    stop (or idle, as the options say).  `log` gets its progress lines."""
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
    w = Worker(repo, options, log)
    chosen = w.setup()
    if chosen.note:
        notice(chosen.note)
    log(f"worker {w.id} for {repo.root}: {chosen.name} executor, {options.parallel} at a time")
    w.run()


def start_and_wait(repo: Repository, bids: Iterable[str], wait: bool = False,
                   on_output: Output | None = None, notice: Notice = _quiet) -> None:
    """Wake a worker for new runs; with `wait`, follow each to its end and
    raise CLError naming those that did not end ready."""
    bids = list(bids)
    if not bids:
        return
    wake_worker(repo, notice)
    if not wait:
        return
    failed = []
    for bid in bids:
        state = follow(repo, bid, on_output, notice)
        if state.state != "ready":
            failed.append(f"{state.metadata.get('name', '')}(0x{bid[:8]}) {state.state}")
    if failed:
        raise CLError("run " + ", ".join(failed))
