"""`cl.Repository`: an open repository and what a script does with it."""

from __future__ import annotations

import os
import shlex
from collections.abc import Iterable, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any

from cl.app import bundles as app_bundles
from cl.app import provenance as app_prov
from cl.app import repository as app_repo
from cl.app import runs as app_runs
from cl.app import sharing as app_sharing
from cl.app import worksheets as app_ws
from cl.errors import UsageError

if TYPE_CHECKING:
    from cl.api.bundle import Bundle, Run
    from cl.api.graph import Graph
    from cl.api.worksheet import Worksheet
    from cl.app.records import SyncReport


def _spec(thing: str | Bundle) -> str:
    """A bundle spec from a spec or a Bundle."""
    return thing if isinstance(thing, str) else thing.id


def _query(query: str | Sequence[str]) -> list[str]:
    """Search keywords: a string is split as a shell would split it."""
    if not isinstance(query, str):
        return list(query)
    try:
        return shlex.split(query)
    except ValueError as exc:  # an unclosed quote
        raise UsageError(f"cannot split the query {query!r}: {exc}") from None


class Repository:
    """An open cl repository.  Close it with close() or a `with` block."""

    def __init__(self, repo: app_repo.Repository) -> None:
        self._repo = repo

    # --- the repository -----------------------------------------------------------

    @property
    def root(self) -> str:
        """The repository directory (the `.codalab` directory, or a bare one)."""
        return self._repo.root

    @property
    def project_dir(self) -> str | None:
        """The directory holding `.codalab`; None for a bare repository."""
        return self._repo.project_dir

    def close(self) -> None:
        """Close the repository's database connection (handles stop
        working).  As at the end of a `cl` command, if this handle wrote,
        small loose objects are packed once about `gc.auto` have gathered
        (a failure there is a RuntimeWarning: nothing stored changed)."""
        warning = self._repo.finish()
        if warning:  # upkeep failed; what the handle did stands
            import warnings
            warnings.warn(warning, RuntimeWarning, stacklevel=2)

    def __enter__(self) -> Repository:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<cl.Repository {self.root}>"

    def _handle(self, bid: str) -> Bundle:
        from cl.api.bundle import handle
        return handle(self._repo, bid)

    # --- bundles ------------------------------------------------------------------

    def upload(self, *paths: str | os.PathLike[str], name: str | None = None, description: str = "",
               tags: Iterable[str] = (), text: str | None = None, kind: str = "dataset",
               worksheet: str | None = None) -> Bundle:
        """Upload files and directories (or `text`) as one bundle."""
        bid = app_bundles.upload(self._repo, [os.fspath(p) for p in paths], text=text, name=name,
                                 description=description, tags=tags, kind=kind, worksheet=worksheet)
        return self._handle(bid)

    def make(self, *targets: str | Bundle, deps: Mapping[str, str | Bundle] | None = None,
             name: str | None = None, description: str = "", tags: Iterable[str] = (),
             worksheet: str | None = None) -> Bundle:
        """A bundle made of other bundles (or paths in them) without copying:
        one target as is, or several under the keys of `deps`."""
        specs = [_spec(t) for t in targets] + [f"{k}:{_spec(v)}" for k, v in (deps or {}).items()]
        bid = app_bundles.make(self._repo, specs, name=name, description=description, tags=tags,
                               worksheet=worksheet)
        return self._handle(bid)

    def run(self, command: str, deps: Mapping[str, str | Bundle] | None = None, *, image: str | None = None,
            request: Mapping[str, Any] | None = None, memoize: bool = False, name: str | None = None,
            description: str = "", tags: Iterable[str] = (), worksheet: str | None = None) -> Run:
        """Queue a run of `command` with each dependency mounted read-only at
        its key, and wake a worker.  `request` holds the other resource
        requests as `cl run` takes them (memory="2g", time="10m", cpus=2,
        network=True, …); `memoize` reuses an identical finished run."""
        from cl.api.bundle import Run
        given = dict(request or {})
        if image is not None:
            given["image"] = image
        targets = [f"{k}:{_spec(v)}" for k, v in (deps or {}).items()]
        launched = app_runs.run(self._repo, targets, command, name=name, description=description, tags=tags,
                                request=given, worksheet=worksheet, memoize=memoize)
        return Run(self._repo, launched.id, reused=launched.reused, note=launched.started)

    def bundle(self, spec: str) -> Bundle:
        """The bundle a spec names (name, 0x-prefix, `^`, `ws//name`, …)."""
        return self._handle(app_bundles.resolve_bundle(self._repo, spec))

    def bundles(self, query: str | Sequence[str] = ()) -> list[Bundle]:
        """Bundles found with CodaLab's search language (a string is split as
        a shell would): `name=exp%`, `state=ready`, `.mine`, `.limit=N`, …"""
        result = app_bundles.search(self._repo, _query(query))
        if result.count is not None or result.total is not None:
            raise UsageError("'.count' and '.sum' give numbers: use Repository.count()")
        return [self._handle(str(row["id"])) for row in result.rows]

    def count(self, query: str | Sequence[str] = ()) -> float:
        """The number of bundles a query finds, or the sum of FIELD=.sum."""
        words = _query(query)
        if not any(w == ".count" or w.endswith("=.sum") for w in words):
            words.append(".count")
        result = app_bundles.search(self._repo, words)
        return result.total[1] if result.total is not None else int(result.count or 0)

    def ls(self, worksheet: str | None = None) -> list[dict[str, Any]]:
        """The bundles on a worksheet (default: the current one) as the
        records `cl ls --json` prints."""
        from cl.app.listing import listing_rows
        return listing_rows(self._repo, worksheet)

    def info(self, spec: str | Bundle, verbose: bool = False) -> dict[str, Any]:
        """A bundle's record (the shape of `cl info --json`)."""
        [record] = app_bundles.info(self._repo, [_spec(spec)], verbose)
        return record

    def ancestors(self, spec: str | Bundle, depth: int | None = None) -> Graph:
        """Every bundle `spec` was made from, as a graph."""
        from cl.api.graph import Graph
        return Graph(app_prov.graph(self._repo, _spec(spec), "ancestors", depth))

    def descendants(self, spec: str | Bundle, depth: int | None = None) -> Graph:
        """Every bundle made from `spec`, as a graph."""
        from cl.api.graph import Graph
        return Graph(app_prov.graph(self._repo, _spec(spec), "descendants", depth))

    def mimic(self, *specs: str | Bundle, name: str | None = None, depth: int = 10, memoize: bool = False,
              worksheet: str | None = None) -> list[Bundle]:
        """Re-run what made an output with new inputs (CodaLab's
        `old_in… [old_out] new_in…`); the new bundles, in order.  A worker
        is woken for the new runs."""
        done = app_prov.mimic(self._repo, [_spec(s) for s in specs], name=name, depth=depth, memoize=memoize,
                              worksheet=worksheet)
        app_runs.start_and_wait(self._repo, done.new_runs)
        return [self._handle(step.new) for step in done.steps if step.new is not None]

    def macro(self, macro_name: str, *inputs: str | Bundle, name: str | None = None, depth: int = 10,
              memoize: bool = False, worksheet: str | None = None) -> list[Bundle]:
        """Mimic MACRO-in1, MACRO-in2, … → MACRO-out with `inputs` (`cl macro`);
        the new output is named `name` (default: new)."""
        done = app_prov.macro(self._repo, macro_name, [_spec(s) for s in inputs], name=name, depth=depth,
                              memoize=memoize, worksheet=worksheet)
        app_runs.start_and_wait(self._repo, done.new_runs)
        return [self._handle(step.new) for step in done.steps if step.new is not None]

    def rerun(self, spec: str | Bundle, *, name: str | None = None, memoize: bool = False,
              request: Mapping[str, Any] | None = None, worksheet: str | None = None) -> Run:
        """Run a run again: its command and dependencies, in the image it ran
        in (by digest) unless `request` says otherwise."""
        from cl.api.bundle import Run
        done = app_prov.rerun(self._repo, _spec(spec), name=name, memoize=memoize, worksheet=worksheet,
                              request=dict(request or {}))
        app_runs.start_and_wait(self._repo, done.new_runs)
        [step] = done.steps
        assert step.new is not None
        return Run(self._repo, step.new, reused=step.reused)

    def edit(self, spec: str | Bundle, *, name: str | None = None, description: str | None = None,
             tags: Iterable[str] | None = None) -> Bundle:
        """Change a bundle's name, description or tags (a new state; the history is kept)."""
        return self._handle(app_bundles.edit(self._repo, _spec(spec), name=name, description=description,
                                             tags=tags))

    def remove(self, *specs: str | Bundle, recursive: bool = False, force: bool = False) -> list[str]:
        """Remove bundles (with `recursive`, what depends on them too); their ids."""
        removal = app_bundles.plan_removal(self._repo, [_spec(s) for s in specs], recursive=recursive,
                                           force=force)
        app_bundles.remove(self._repo, removal)
        return ["0x" + bid for bid in removal.bundles]

    # --- worksheets -----------------------------------------------------------------

    def worksheet(self, name: str | None = None) -> Worksheet:
        """A worksheet by name or spec (default: the current one)."""
        from cl.api.worksheet import Worksheet
        return Worksheet(self._repo, app_ws.resolve(self._repo, name))

    def new_worksheet(self, name: str, title: str = "") -> Worksheet:
        """Make a worksheet (linked from the current one, as `cl new` does)."""
        from cl.api.worksheet import Worksheet
        return Worksheet(self._repo, app_ws.new(self._repo, name, title))

    # --- sharing --------------------------------------------------------------------

    def push(self, *what: str, remote: str | None = None, everything: bool = False,
             force: bool = False) -> SyncReport:
        """Send worksheets or bundles (default: the current worksheet) to a
        remote (default: origin) with everything they need."""
        return app_sharing.push(self._repo, ([remote] if remote else []) + list(what), everything, force)

    def pull(self, *what: str, remote: str | None = None, everything: bool = False) -> SyncReport:
        """Fetch worksheets or bundles (default: the current worksheet) from a
        remote (default: origin) and bring the local ones up to date."""
        return app_sharing.pull(self._repo, ([remote] if remote else []) + list(what), everything)

    def add_remote(self, name: str, url: str) -> None:
        """Name a remote (a directory, ssh://host/path, user@host:path, http://host:port)."""
        app_sharing.add_remote(self._repo, name, url)


def init(path: str | os.PathLike[str] = ".", bare: bool = False, worksheet: str | None = None) -> Repository:
    """Create a repository in `path` (made if missing) and open it."""
    repo, _ = app_repo.init(os.fspath(path), bare=bare, worksheet=worksheet)
    return Repository(repo)


def open(path: str | os.PathLike[str] | None = None) -> Repository:  # noqa: A001 -- cl.open, as asked
    """The repository holding `path` (default: the working directory),
    looking in parent directories as the `cl` command does."""
    return Repository(app_repo.open_repository(None if path is None else os.fspath(path)))


def clone(url: str | os.PathLike[str], path: str | os.PathLike[str] | None = None,
          settings: Mapping[str, str] | None = None) -> Repository:
    """Copy the repository at `url` (or a directory) into `path`, with
    `origin` set to it."""
    repo, _ = app_sharing.clone(os.fspath(url), None if path is None else os.fspath(path),
                                dict(settings or {}))
    return Repository(repo)
