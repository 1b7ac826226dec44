"""Remotes: names in config (`[remote.NAME] url, token`), and opening one —
from a name or a URL — as a protocol client over the transport its URL
names (cl/sync/transports.py); the directory transport is here, as it
opens a repository."""

import os

from cl.errors import CLError, UsageError
from cl.remote.client import Client
from cl.remote.limits import MAX_OBJECT, TIMEOUT, Limits
from cl.remote.server import Server
from cl.remote.transport import PipeTransport, Settings
from cl.remote.urls import RemoteURL, is_url, parse_url
from cl.repo import DIRNAME, Repository
from cl.sync.refstore import RepoRefStore
from cl.sync.transports import open_transport

DEFAULT = "origin"


def remotes(repo: Repository) -> dict[str, dict]:
    """name -> settings, from `[remote.NAME]` tables (also as `cl config
    remote.NAME.token T` writes them)."""
    out = {name: dict(v) for name, v in repo.config.table("remote").items() if isinstance(v, dict)}
    for table, values in repo.config.data.items():
        if table.startswith("remote.") and isinstance(values, dict):
            out.setdefault(table[len("remote."):], {}).update(values)
    return dict(sorted(out.items()))


def add_remote(repo: Repository, name: str, url: str) -> None:
    if not name or "/" in name or ":" in name or not name.replace("-", "").replace("_", "").replace(".", "").isalnum():
        raise UsageError(f"invalid remote name: '{name}' (letters, digits, - _ .)")
    parsed = parse_url(url)
    if parsed.kind == "dir":
        url = os.path.abspath(parsed.path)
    current = remotes(repo)
    entry = current.get(name, {})
    entry["url"] = url
    repo.config.set("remote", name, entry)
    repo.config.save()


def remove_remote(repo: Repository, name: str) -> None:
    if name not in remotes(repo):
        raise CLError(f"no such remote: '{name}'")
    repo.config.data.get("remote", {}).pop(name, None)
    repo.config.data.pop(f"remote.{name}", None)
    repo.config.save()
    repo.refs.clear(f"remotes/{name}/")


def resolve(repo: Repository, spec: str | None) -> tuple[str, str]:
    """(label, url) of a remote given by name or URL (None: origin)."""
    spec = spec or DEFAULT
    known = remotes(repo)
    if spec in known:
        url = known[spec].get("url")
        if not url:
            raise CLError(f"remote '{spec}' has no url in the config")
        return spec, url
    if is_url(spec):
        return spec, spec
    if spec == DEFAULT:
        raise CLError("no remote named 'origin'", hint="add one with 'cl remote add origin URL'")
    raise CLError(f"no such remote: '{spec}'", hint="see 'cl remote ls'")


def repository_at(path: str) -> Repository:
    """The repository a directory remote or `cl serve-stdio PATH` names: a
    project (with .codalab inside), a .codalab directory, or a bare one."""
    path = os.path.abspath(os.path.expanduser(path))
    for root in (os.path.join(path, DIRNAME), path):
        if os.path.isfile(os.path.join(root, "repo.db")):
            return Repository(root)
    raise CLError(f"not a cl repository: '{path}'")


def limits(config) -> Limits:
    """`sync.timeout` (a duration: `90`, `10m`) and
    `sync.max_object_size` (a size: `64g`) from the config."""
    from cl.bundles.units import parse_duration, parse_size

    if config is None:
        return Limits()
    timeout = config.get("sync", "timeout")
    largest = config.get("sync", "max_object_size")
    try:
        chosen = Limits(timeout=TIMEOUT if timeout is None else float(parse_duration(timeout)),
                        max_object=MAX_OBJECT if largest is None else parse_size(largest))
    except CLError as exc:
        raise UsageError(f"config sync.timeout / sync.max_object_size: {exc.message}") from None
    if chosen.timeout <= 0 or chosen.max_object <= 0:
        raise UsageError("config sync.timeout and sync.max_object_size must be more than 0")
    return chosen


SERVER_TIMEOUT = 60  # seconds a request body may be silent (config server.timeout)
PER_TOKEN = 4        # requests in progress per token (config server.per_token)


def server_limits(config) -> tuple[float, int]:
    """`cl server`'s limits: (`server.timeout` in seconds, `server.per_token`)."""
    from cl.bundles.units import parse_duration

    try:
        timeout = float(parse_duration(config.get("server", "timeout", SERVER_TIMEOUT)))
        per_token = int(config.get("server", "per_token", PER_TOKEN))
    except (CLError, ValueError, TypeError):
        timeout, per_token = 0, 0
    if timeout <= 0 or per_token < 1:
        raise UsageError("config server.timeout must be a duration above 0 and server.per_token "
                         "a whole number from 1")
    return timeout, per_token


def local_server(repo: Repository) -> Server:
    import cl
    return Server(repo.store, RepoRefStore(repo), label=f"cl {cl.__version__}",
                  limits=limits(repo.config), maintain=repo.maintain)


class DirectoryTransport(PipeTransport):
    """The `dir` transport: a server thread over another repository on
    this machine, which closes with the transport."""

    def __init__(self, other: Repository, settings: Settings):
        super().__init__(local_server(other), settings.label, settings.limits.timeout)
        self.repository = other

    def close(self):
        try:
            super().close()
        finally:
            self.repository.close()


def open_directory(url: RemoteURL, settings: Settings) -> DirectoryTransport:
    """The `dir` transport (cl/sync/transports.py)."""
    return DirectoryTransport(repository_at(url.path), settings)


def settings(label: str, config=None, token: str | None = None) -> Settings:
    """A transport's Settings from the config (`ssh.command`, `ssh.cl`,
    `sync.timeout`, `sync.max_object_size`)."""
    if config is None:
        return Settings(label, token)
    return Settings(label, token, ssh_command=config.get("ssh", "command") or None,
                    ssh_cl=config.get("ssh", "cl") or "cl", limits=limits(config))


def open_url(url: str, label: str, config=None, token: str | None = None) -> Client:
    chosen = settings(label, config, token)
    transport = open_transport(parse_url(url), chosen)
    return Client(transport, label, chosen.limits)


def open_remote(repo: Repository, spec: str | None, while_waiting=None) -> Client:
    """A client that has greeted the remote.  `while_waiting()` is called
    once the connection is made, before waiting for the far side's hello."""
    label, url = resolve(repo, spec)
    token = os.environ.get("CL_TOKEN") or remotes(repo).get(label, {}).get("token")
    client = open_url(url, label, repo.config, token)
    try:
        if while_waiting is not None:
            while_waiting()
        client.hello()
    except BaseException:
        client.close()
        raise
    return client
