"""A hostile or broken remote (issue 13, items 7, 8, 9 and 19): each
attack is played by a real peer — a real Server over stores the test
tampers with, or a small server speaking our frames over a real socket —
and refused with one clear error that stores nothing."""

import pytest

from cl.errors import UsageError
from cl.remote.client import Client
from cl.remote.frames import RemoteError
from cl.remote.ssh import CommandTransport, system_ssh_argv
from cl.remote.urls import RemoteURL, parse_url


# --- item 19: a host that starts with '-' is not an option ------------------


@pytest.mark.parametrize("text", [
    "ssh://-oProxyCommand=touch%20x/srv/proj",
    "-oProxyCommand=touch x:proj",
    "-oProxyCommand=x@host:proj",
    "ssh://-l@host/proj",
])
def test_dash_hosts_and_users_are_refused(text):
    with pytest.raises(UsageError, match="may not start with '-'"):
        parse_url(text)


@pytest.mark.parametrize("host", ["-V", "-oProxyCommand=touch {mark}"])
def test_system_ssh_never_takes_the_host_for_an_option(tmp_path, host):
    """Even a RemoteURL built without parse_url: ssh's options end with
    `--`, so a host such as `-V` (print the version and exit 0) or
    `-oProxyCommand=…` is a host name ssh refuses, never an option."""
    mark = tmp_path / "pwned"
    config = tmp_path / "ssh_config"
    config.write_text("Host *\n  HostName 127.0.0.1\n  Port 1\n")  # never leaves loopback
    host = host.format(mark=mark)
    url = RemoteURL("ssh", f"{host}:/srv/proj", "/srv/proj", host)
    argv = system_ssh_argv(f"ssh -F {config} -o BatchMode=yes", url)
    client = Client(CommandTransport(argv, "evil"), "evil")
    with pytest.raises(RemoteError) as failed:
        client.hello()
    client.close()
    assert "OpenSSH_" not in failed.value.message  # -V was not obeyed
    assert not mark.exists()
