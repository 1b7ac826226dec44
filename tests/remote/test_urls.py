"""Remote URLs and how a command-line word is told from a spec."""

import pytest

from cl.errors import UsageError
from cl.remote.ssh import remote_command, system_ssh_argv
from cl.remote.urls import parse_url


@pytest.mark.parametrize("text, kind, host, port, user, path", [
    ("ssh://alice@lab.example.org:2222/srv/proj", "ssh", "lab.example.org", 2222, "alice", "/srv/proj"),
    ("ssh://lab/~/proj", "ssh", "lab", None, None, "~/proj"),
    ("alice@lab:proj", "ssh", "lab", None, "alice", "proj"),
    ("lab:/srv/proj", "ssh", "lab", None, None, "/srv/proj"),
    ("http://127.0.0.1:2800", "http", "127.0.0.1", 2800, None, ""),
    ("https://cl.example.org", "http", "cl.example.org", None, None, ""),
    ("file:///data/proj", "dir", "", None, None, "/data/proj"),
    ("../proj", "dir", "", None, None, "../proj"),
    ("/data/proj", "dir", "", None, None, "/data/proj"),
])
def test_parse_url(text, kind, host, port, user, path):
    url = parse_url(text)
    assert (url.kind, url.host, url.port, url.user, url.path) == (kind, host, port, user, path)


@pytest.mark.parametrize("text", ["", "ftp://x/y", "ssh://host", "http://:80", "ssh://h:port/x"])
def test_bad_urls_are_refused(text):
    with pytest.raises(UsageError):
        parse_url(text)


def test_remote_command_quotes_the_path():
    assert remote_command(parse_url("ssh://h/srv/my proj"), "cl") == "cl serve-stdio '/srv/my proj'"
    assert remote_command(parse_url("ssh://h/~/a b")) == "cl serve-stdio ~/'a b'"
    argv = system_ssh_argv("ssh -o BatchMode=yes", parse_url("ssh://u@h:2222/p"), "/opt/cl")
    assert argv == ["ssh", "-o", "BatchMode=yes", "-p", "2222", "--", "u@h", "/opt/cl serve-stdio /p"]
