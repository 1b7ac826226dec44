"""Remote URLs and how a command-line word is told from a spec."""

import pytest

from cl.errors import UsageError
from cl.remote.ssh import AES_FIRST, cpu_has_aes, remote_command, system_ssh_argv
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
    argv = system_ssh_argv("ssh -o BatchMode=yes", parse_url("ssh://u@h:2222/p"), "/opt/cl", aes=False)
    assert argv == ["ssh", "-o", "BatchMode=yes", "-p", "2222", "--", "u@h", "/opt/cl serve-stdio /p"]


def test_openssh_is_asked_for_aes_gcm_first_unless_the_user_chose(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.ssh/config of the machine's user
    url = parse_url("ssh://h/p")
    empty = tmp_path / "empty_config"
    empty.write_text("Host *\n  Compression no\n")
    argv = system_ssh_argv(f"/usr/bin/ssh -F {empty}", url, aes=True)
    assert argv[argv.index("--") - 2:argv.index("--")] == ["-o", f"Ciphers={AES_FIRST}"]
    assert AES_FIRST.startswith("aes128-gcm@openssh.com,") and "chacha20-poly1305@openssh.com" in AES_FIRST
    # without AES instructions, ssh's own order stands
    assert "-o" not in system_ssh_argv(f"ssh -F {empty}", url, aes=False)
    # a choice of the user's stands: in the command, or in the config ssh reads
    chosen = tmp_path / "chosen_config"
    chosen.write_text("Host x\n  Ciphers aes256-ctr\n")
    for command in (f"ssh -F {empty} -c aes256-ctr", f"ssh -F {empty} -o Ciphers=aes256-ctr",
                    f"ssh -F {empty} -oCiphers=aes256-ctr", f"ssh -F {chosen}", f"ssh -F{chosen}"):
        assert not any(a.startswith("Ciphers=aes128-gcm") for a in system_ssh_argv(command, url, aes=True)), command
    (tmp_path / ".ssh").mkdir()
    (tmp_path / ".ssh" / "config").write_text("  ciphers aes256-ctr\n")
    assert "-o" not in system_ssh_argv("ssh", url, aes=True)
    # a command that is not OpenSSH's is left as it is
    assert system_ssh_argv("plink -batch", url, aes=True) == ["plink", "-batch", "--", "h", "cl serve-stdio /p"]


def test_cpu_has_aes_reads_the_flags(tmp_path):
    x86 = tmp_path / "x86"
    x86.write_text("processor\t: 0\nflags\t\t: fpu sse2 aes avx2\n")
    arm = tmp_path / "arm"
    arm.write_text("processor\t: 0\nFeatures\t: fp asimd aes pmull sha2\n")
    old = tmp_path / "old"
    old.write_text("processor\t: 0\nflags\t\t: fpu sse2 aesni-like\nmodel name\t: aes 2000\n")
    assert cpu_has_aes(str(x86)) and cpu_has_aes(str(arm))
    assert not cpu_has_aes(str(old)) and not cpu_has_aes(str(tmp_path / "missing"))
