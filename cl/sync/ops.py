"""push, pull and clone: open the remote, choose the refs, let cl/remote
move objects and refs (through RepoRefStore, so the index follows), and
turn the outcome into report lines people read."""

import os
import shutil
from dataclasses import dataclass, field
from typing import Callable

from cl.errors import CLError, SpecError, UsageError, did_you_mean
from cl.objects.progress import meter
from cl.objects.types import WORKSHEET_TYPES, State, Worksheet
from cl.remote import exchange
from cl.remote.client import Client
from cl.remote.transfer import Prefetch
from cl.remote.urls import parse_url
from cl.repo import Repository
from cl.sync import closure, tracking
from cl.sync.refstore import RepoRefStore
from cl.sync.remotes import DEFAULT, open_remote, open_url, remotes, resolve
from cl.sync.view import RemoteView


@dataclass(frozen=True)
class Line:
    """One ref of the report: `worksheet demo: ok`."""

    kind: str
    label: str
    ref: str
    status: str

    @property
    def rejected(self) -> bool:
        return self.status.startswith("rejected")


@dataclass
class Report:
    remote: str
    lines: list[Line] = field(default_factory=list)
    sent: int = 0
    received: int = 0
    warnings: list[str] = field(default_factory=list)  # the remote's, about its upkeep

    @property
    def rejected(self) -> list[Line]:
        return [line for line in self.lines if line.rejected]


def _label(repo: Repository, update: exchange.RefUpdate) -> Line:
    kind, key = update.name.split("/", 1)
    value = update.new or update.old
    label = key
    try:
        obj = repo.read(value) if value and repo.store.has(value) else None
    except CLError:
        obj = None
    if kind == "worksheets":
        label = obj.name if isinstance(obj, WORKSHEET_TYPES) else key[:8]
        return Line("worksheet", label, update.name, update.status)
    name = obj.metadata.get("name", "") if isinstance(obj, State) else ""
    return Line("bundle", f"0x{key[:8]} {name}".rstrip(), update.name, update.status)


def _report(repo: Repository, client: Client, outcome: exchange.Outcome) -> Report:
    return Report(client.name, [_label(repo, u) for u in outcome.updates],
                  sent=client.stats.sent_objects, received=client.stats.received_objects,
                  warnings=list(client.warnings))


def split_remote_arg(repo: Repository, args) -> tuple[str | None, list[str]]:
    """`cl push [REMOTE] [WS|SPEC…]`: the first word is a remote when it is
    a configured remote's name or a URL."""
    args = list(args)
    if args and (args[0] in remotes(repo) or _looks_like_url(args[0])):
        return args[0], args[1:]
    return None, args


def _not_a_remote(repo: Repository, word: str, where: str) -> CLError:
    """The error for a first word that is neither a remote nor anything
    the command could send or fetch: said as a missing remote (the likelier
    slip), with the closest remote names or where to see them."""
    known = remotes(repo)
    hint = did_you_mean(word, known)
    if hint is None and not where:
        local = repo.index.bundle_names() | {w["name"] for w in repo.index.worksheets()}
        hint = did_you_mean(word, local)
    hint = hint or ("see 'cl remote ls'" if known else "add one with 'cl remote add NAME URL'")
    return CLError(f"no such remote: '{word}', and no worksheet or bundle{where} has that name",
                   hint=hint)


def _first_word_missing(exc: SpecError, what) -> bool:
    return bool(what) and exc.spec == what[0] and not exc.candidates


def _looks_like_url(text: str) -> bool:
    """A URL or path, not a spec: `ws//name` and `origin::x` are specs."""
    from cl.remote.urls import is_url
    if "::" in text or ("//" in text and "://" not in text):
        return False
    return is_url(text)


def push(repo: Repository, remote: str | None, what=(), everything=False, force=False,
         progress=None, while_waiting: Callable[[], None] | None = None) -> Report:
    """`progress`: a callback given cl.objects.progress.Tick values as
    objects move.  `while_waiting`: called while the far side starts."""
    try:
        names = closure.push_refs(repo, what, everything)
    except SpecError as exc:
        if remote is None and _first_word_missing(exc, what):
            raise _not_a_remote(repo, what[0], "") from None
        raise
    # read the local DAG while the far side starts
    ahead = Prefetch(repo.store, [tip for tip in map(repo.refs.get, names) if tip])
    try:
        def waiting():
            ahead.start()
            if while_waiting is not None:
                while_waiting()

        with open_remote(repo, remote, while_waiting=waiting) as client:
            decoded = ahead.stop()
            empty_plan, ahead.empty_plan = ahead.empty_plan, None
            if not client.holds_nothing():
                empty_plan = None  # a million objects' worth of plan is let go at once
            client.meter = meter(progress)
            outcome = exchange.push(repo.store, RepoRefStore(repo), client, names, force=force,
                                    decoded=decoded, empty_plan=empty_plan)
            tracking.record_after(repo, client, [u.name for u in outcome.updates])
            return _report(repo, client, outcome)
    finally:
        ahead.stop()


def pull_refs(repo: Repository, view: RemoteView, what, everything: bool) -> list[str]:
    if everything:
        refs = view.client.refs(prefixes=["bundles/", "worksheets/"])
        return sorted(refs)
    if not what:
        wid = closure.current_worksheet(repo)
        if not view.client.refs(names=[f"worksheets/{wid}"]):
            _, ws = repo.worksheet_head(wid)
            raise CLError(f"worksheet '{ws.name}' is not on remote '{view.client.name}'",
                          hint="push it first, or name a worksheet to pull")
        return [f"worksheets/{wid}"]
    names = []
    for spec in what:
        wid = None if "//" in spec else view.find_worksheet(spec)
        if wid is not None:
            names.append(f"worksheets/{wid}")
        else:
            names += [f"bundles/{bid}" for bid in view.resolve_bundles(spec)]
    return names


def pull(repo: Repository, remote: str | None, what=(), everything=False, progress=None,
         while_waiting: Callable[[], None] | None = None) -> Report:
    """`progress` and `while_waiting`: as for push."""
    if remote is None and what and DEFAULT not in remotes(repo):
        raise _not_a_remote(repo, what[0], f" on remote '{DEFAULT}'")
    with open_remote(repo, remote, while_waiting=while_waiting) as client:
        client.meter = meter(progress)
        try:
            names = pull_refs(repo, RemoteView(client), what, everything)
        except SpecError as exc:
            if remote is None and _first_word_missing(exc, what):
                raise _not_a_remote(repo, what[0], f" on remote '{client.name}'") from None
            raise
        outcome = exchange.pull(repo.store, RepoRefStore(repo), client, names, release=True)
        tracking.record_fetched(repo, client.name, outcome.fetched)
        return _report(repo, client, outcome)


def default_clone_dir(url: str) -> str:
    parsed = parse_url(url)
    if parsed.kind == "http":
        return parsed.host
    path = parsed.path.rstrip("/")
    base = os.path.basename(path)
    if base == ".codalab":
        base = os.path.basename(os.path.dirname(path))
    return base or "clone"


def clone(url: str, directory: str | None = None,
          settings: dict[str, str] | None = None, progress=None) -> tuple[Repository, Report]:
    """A new repository in `directory` with everything the remote has,
    `origin` pointing at it, and the remote's current worksheet current.
    `settings` ("table.key" -> value) go into its config first (e.g.
    ssh.command, so the clone itself uses the system ssh).  `progress`: a
    callback given cl.objects.progress.Tick values as objects arrive."""
    directory = directory or default_clone_dir(url)
    if os.path.exists(directory) and os.listdir(directory):
        raise UsageError(f"destination exists and is not empty: '{directory}'")
    parsed = parse_url(url)
    if parsed.kind == "dir":
        url = os.path.abspath(parsed.path)
    created = not os.path.exists(directory)
    client = None
    repo = None
    try:
        os.makedirs(directory, exist_ok=True)
        repo = Repository.init(directory, empty=True)
        for key, value in (settings or {}).items():
            table, _, name = key.rpartition(".")
            if not table:
                raise UsageError(f"config keys look like 'table.key': '{key}'")
            repo.config.set(table, name, value)
        client = open_url(url, DEFAULT, repo.config, os.environ.get("CL_TOKEN"))
        client.meter = meter(progress)
        client.hello()
        repo.config.set("remote", DEFAULT, {"url": url})
        repo.config.save()
        there = client.refs(prefixes=["bundles/", "worksheets/"], names=["HEAD"])
        head = there.pop("HEAD", None)
        outcome = exchange.pull(repo.store, RepoRefStore(repo), client, sorted(there), release=True)
        # the remote's current worksheet (a bare one's: the one pushed last)
        if head and repo.refs.get(f"worksheets/{head}"):
            repo.refs.set_if_equals("HEAD", None, head)
            if repo.config.get("worksheet", "home") in (None, ""):  # `-w /` lands where the clone did
                repo.config.set("worksheet", "home", "0x" + head)
                repo.config.save()
        tracking.record(repo, DEFAULT, {**there, "HEAD": head}, complete=True)
        report = _report(repo, client, outcome)
    except BaseException:
        if client is not None:
            client.close()
        if repo is not None:
            repo.close()
        if created:
            shutil.rmtree(directory, ignore_errors=True)
        else:
            shutil.rmtree(os.path.join(directory, ".codalab"), ignore_errors=True)
        raise
    client.close()
    return repo, report


__all__ = ["push", "pull", "clone", "Report", "Line", "split_remote_arg", "resolve"]
