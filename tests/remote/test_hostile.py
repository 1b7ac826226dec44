"""A hostile or broken remote (issue 13, items 7, 8, 9 and 19): each
attack is played by a real peer — a real Server over stores the test
tampers with, or a small server speaking our frames over a real socket —
and refused with one clear error that stores nothing."""

import pytest

from cl.errors import UsageError
from cl.remote.client import Client
from cl.remote.exchange import pull, push
from cl.remote.frames import RemoteError
from cl.remote.server import Server
from cl.remote.ssh import CommandTransport, system_ssh_argv
from cl.remote.transport import PipeTransport
from cl.remote.urls import RemoteURL, parse_url

from .helpers import Side


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


# --- item 7: a head of another bundle or worksheet --------------------------


def two_bundles(side: Side):
    a = side.bundle("a", side.blob(b"alpha\n"))
    b = side.bundle("b", side.blob(b"beta\n"))
    side.worksheet("w1", "one", [a])
    side.worksheet("w2", "two", [b])
    return a, b


def stored(side: Side) -> set:
    return set(side.store.ids())


@pytest.mark.parametrize("kind", ["bundles", "worksheets"])
def test_pull_refuses_a_head_of_another_subject(make_side, kind):
    """The remote's `bundles/A` names a state of bundle B (or its
    `worksheets/w1` a commit of w2): a pull refuses it, naming the ref,
    and moves no ref."""
    remote, local = make_side(), make_side()
    a, b = two_bundles(remote)
    mine, theirs = (f"bundles/{a}", f"bundles/{b}") if kind == "bundles" else \
        ("worksheets/w1", "worksheets/w2")
    remote.refs._refs[mine] = remote.refs.get(theirs)  # the tampered repository
    with remote.serve() as client:
        with pytest.raises(RemoteError, match=f"remote 'remote' sent '{mine}'.*of another"):
            pull(local.store, local.refs, client, [mine])
    assert local.refs.items() == []


def test_push_refuses_a_diverged_head_of_another_bundle(make_side):
    """A push that must merge the remote's head fetches it first: a head
    of another bundle is refused there too, before anything is merged."""
    a_side, remote = make_side(), make_side()
    a, b = two_bundles(a_side)
    with remote.serve() as client:
        push(a_side.store, a_side.refs, client, [f"bundles/{a}", f"bundles/{b}"])
    other = remote.change(b, metadata={"name": "b2"})
    remote.refs._refs[f"bundles/{a}"] = other  # a's head is now a state of b
    mine = a_side.change(a, metadata={"name": "a2"})
    with remote.serve() as client:
        with pytest.raises(RemoteError, match=f"'bundles/{a}'.*another bundle"):
            push(a_side.store, a_side.refs, client, [f"bundles/{a}"])
    assert a_side.refs.get(f"bundles/{a}") == mine


# --- item 9: ref names from a peer -------------------------------------------


class LyingRefs(Server):
    """A real server whose `refs` answer adds names of its own."""

    extra: dict = {}

    def op_refs(self, request):
        reply = super().op_refs(request)
        reply["refs"].update(self.extra)
        return reply


def lying_side(extra: dict) -> tuple[Side, Client]:
    side = Side()
    a, _ = two_bundles(side)
    server = LyingRefs(side.store, side.refs)
    server.extra = {k.format(a=a): v.format(head=side.refs.get("worksheets/w1"),
                                            state=side.refs.get(f"bundles/{a}"))
                    for k, v in extra.items()}
    return side, Client(PipeTransport(server, "liar"), "liar")


@pytest.mark.parametrize("extra, problem", [
    ({"worksheets/../../x": "{head}"}, "invalid ref name"),
    ({"HEAD/../x": "{head}"}, "invalid ref name"),
    ({"worksheets/w1": "../../etc"}, "invalid value"),
    ({"bundles/{a}": "{state}"}, "not asked for"),          # asked only for worksheets/w1
])
def test_pull_refuses_refs_it_did_not_ask_for_or_cannot_name(extra, problem):
    _, client = lying_side(extra)
    local = Side()
    with client:
        with pytest.raises(RemoteError, match=f"remote 'liar' sent .*{problem}"):
            pull(local.store, local.refs, client, ["worksheets/w1"])
    assert local.refs.items() == []


def test_pull_all_refuses_a_traversing_worksheet_ref():
    _, client = lying_side({"worksheets/../../x": "{head}"})
    with client:
        with pytest.raises(RemoteError, match="invalid ref name 'worksheets/../../x'"):
            client.refs(prefixes=["bundles/", "worksheets/"])
