"""Transports by name (docs/protocol.md §8): one lazy table, one line per
transport, as commands are in cl/cli/main.py.  A URL's kind names its
transport (`ssh` becomes `ssh-command` when config `ssh.command` is set);
the module is imported only when a remote is opened through it.  Each
factory takes the parsed URL and the Settings and returns a Transport;
tests/remote/test_transport_contract.py runs one suite against them all."""

import importlib

from cl.errors import UsageError
from cl.remote.transport import Settings, Transport
from cl.remote.urls import RemoteURL

# transport name -> "module:factory"
TRANSPORTS = {
    "dir": "cl.sync.remotes:open_directory",
    "ssh": "cl.remote.ssh:open_paramiko",
    "ssh-command": "cl.remote.ssh:open_command",
    "http": "cl.remote.http:open_http",
}


def transport_name(url: RemoteURL, settings: Settings) -> str:
    """The name of the transport that reaches `url`."""
    if url.kind == "ssh" and settings.ssh_command:
        return "ssh-command"
    return url.kind


def open_transport(url: RemoteURL, settings: Settings, name: str | None = None) -> Transport:
    """A transport to `url`, by `name` (default: transport_name)."""
    name = name or transport_name(url, settings)
    target = TRANSPORTS.get(name)
    if target is None:
        raise UsageError(f"no transport named '{name}' ({', '.join(TRANSPORTS)})")
    module, attr = target.split(":")
    return getattr(importlib.import_module(module), attr)(url, settings)
