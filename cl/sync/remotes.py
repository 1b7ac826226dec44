"""Remotes: names in config (`[remote.NAME] url, token`), and opening one —
from a name or a URL — as a protocol client over the right transport."""

import os

from cl.errors import CLError, UsageError
from cl.remote.client import Client
from cl.remote.server import Server
from cl.remote.transport import PipeTransport
from cl.remote.urls import RemoteURL, is_url, parse_url
from cl.repo import DIRNAME, Repository
from cl.sync.refstore import RepoRefStore

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


def local_server(repo: Repository) -> Server:
    import cl
    return Server(repo.store, RepoRefStore(repo), label=f"cl {cl.__version__}")


def open_url(url: str, label: str, config=None, token: str | None = None) -> Client:
    parsed: RemoteURL = parse_url(url)
    if parsed.kind == "dir":
        other = repository_at(parsed.path)
        transport = PipeTransport(local_server(other), label)
        client = Client(transport, label)
        client.resources.append(other)
        return client
    if parsed.kind == "ssh":
        cl = (config.get("ssh", "cl") if config else None) or "cl"
        command = config.get("ssh", "command") if config else None
        from cl.remote import ssh
        if command:
            transport = ssh.CommandTransport(ssh.system_ssh_argv(command, parsed, cl), label)
        else:
            transport = ssh.ParamikoTransport(parsed, label, cl)
        return Client(transport, label)
    from cl.remote.http import HttpTransport
    return Client(HttpTransport(parsed.base, token, label), label)


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
