"""Remote-tracking refs through the real `cl` and a bare directory hub:
fetch records the hub's worksheets without moving local ones, status says
ahead / behind / diverged, `cl wls origin::` lists the hub as last fetched,
`cl pull --all` brings new worksheets, a bare repository has no worksheet
of its own and a clone lands on the worksheet pushed last."""

import json

from cl.repo import Repository


def _status(cl, where) -> dict:
    rec = json.loads(cl(["status", "--json"], where).stdout)
    return {s["worksheet"]: s["state"] for s in rec["remotes"].get("origin", [])}


def _hub_and_alice(cl, tmp_path):
    """A bare hub, and alice's project on worksheet `notes` with the hub
    as origin."""
    hub = tmp_path / "hub"
    cl(["init", "--bare", hub], tmp_path)
    alice = tmp_path / "alice"
    alice.mkdir()
    cl(["init", "-w", "notes"], alice)
    cl(["remote", "add", "origin", hub], alice)
    return hub, alice


def test_fetch_status_wls_and_clone_landing(cl, tmp_path):
    hub = tmp_path / "hub"
    cl(["init", "--bare", hub], tmp_path)
    assert Repository(str(hub)).current_worksheet() is None  # no worksheet of its own
    alice = tmp_path / "alice"
    alice.mkdir()
    cl(["init", "-w", "scratch"], alice)
    cl(["new", "notes"], alice)
    cl(["work", "notes"], alice)
    cl(["add", "-m", "from alice 1"], alice)
    cl(["remote", "add", "origin", hub], alice)
    cl(["push", "notes"], alice)
    assert _status(cl, alice)["notes"] == "up to date"
    assert _status(cl, alice)["scratch"] == "not on the remote"

    cl(["clone", hub, tmp_path / "bob"], tmp_path)
    bob = tmp_path / "bob"
    assert "notes" in cl(["work"], bob).stdout  # the worksheet pushed last, not an empty default

    cl(["add", "-m", "from alice 2"], alice)
    cl(["push", "notes"], alice)
    assert _status(cl, bob)["notes"] == "up to date"  # as last seen: no connection
    before = Repository(str(bob / ".codalab")).refs.get
    head = before("worksheets/" + json.loads(cl(["work", "--json"], bob).stdout)["id"][2:])
    out = cl(["fetch"], bob).stdout
    assert out.startswith("fetch origin:")
    wid = json.loads(cl(["work", "--json"], bob).stdout)["id"][2:]
    repo = Repository(str(bob / ".codalab"))
    assert repo.refs.get(f"worksheets/{wid}") == head, "fetch moves no local worksheet"
    assert repo.refs.get(f"remotes/origin/worksheets/{wid}") != head
    repo.close()
    assert _status(cl, bob)["notes"] == "behind"
    cl(["add", "-m", "from bob"], bob)
    assert _status(cl, bob)["notes"] == "diverged"
    cl(["pull"], bob)
    assert _status(cl, bob)["notes"] == "ahead"
    printed = cl(["print", "notes"], bob).stdout
    assert "from alice 2" in printed and "from bob" in printed and "<<<<<<<" not in printed
    cl(["push"], bob)
    assert _status(cl, bob)["notes"] == "up to date"

    # a new worksheet on the hub: listed after a fetch, brought by pull --all
    cl(["new", "other"], alice)
    cl(["work", "other"], alice)
    cl(["add", "-m", "elsewhere"], alice)
    cl(["push", "other"], alice)
    names = lambda args: [r["name"] for r in json.loads(cl(["wls", *args, "--json"], bob).stdout)]  # noqa: E731
    assert "other" not in names(["origin::"])
    assert "other" in names(["origin::", "--refresh"])
    assert "other" not in names([])
    cl(["pull", "--all"], bob)
    assert "other" in names([])


def test_wls_of_an_unknown_remote_is_one_clear_line(cl, project):
    done = cl(["wls", "nowhere::"], project, check=False)
    assert done.returncode != 0 and done.stderr.startswith("cl: ") and "Traceback" not in done.stderr


def test_gc_keeps_what_a_fetch_recorded(cl, tmp_path):
    """The remote-tracking refs are gc roots: objects that only a fetch
    brought (no local ref names them) survive `cl gc --prune now`, and
    `cl status`, `cl wls origin::` and `cl fsck` still read them."""
    hub, alice = _hub_and_alice(cl, tmp_path)
    cl(["add", "-m", "first"], alice)
    cl(["push", "notes"], alice)
    cl(["clone", hub, tmp_path / "bob"], tmp_path)
    bob = tmp_path / "bob"

    (alice / "data.txt").write_text("only alice uploaded this\n")
    cl(["upload", "data.txt", "-n", "fresh"], alice)
    cl(["add", "-m", "second"], alice)
    cl(["push", "notes"], alice)
    cl(["fetch"], bob)
    repo = Repository(str(bob / ".codalab"))
    tracked = dict(repo.refs.items("remotes/origin/"))
    fetched = [v for k, v in tracked.items() if k.startswith("remotes/origin/bundles/")]
    bundles = [k.rsplit("/", 1)[1] for k in tracked if k.startswith("remotes/origin/bundles/")]
    [fresh] = [b for b in bundles if repo.refs.get(f"bundles/{b}") is None]  # only the fetch has it
    contents = repo.read(fresh).contents.id
    heads = [v for k, v in tracked.items() if k.startswith("remotes/origin/worksheets/")]
    repo.close()

    cl(["gc", "--prune", "now"], bob)
    repo = Repository(str(bob / ".codalab"))
    for oid in [*fetched, *heads, fresh, contents]:
        assert repo.store.has(oid), f"gc swept 0x{oid}, which a fetch recorded"
    repo.close()
    assert _status(cl, bob)["notes"] == "behind"
    listed = json.loads(cl(["wls", "origin::", "--json"], bob).stdout)
    assert [r["name"] for r in listed] == ["notes"]
    assert cl(["fsck"], bob).stdout == ""
    cl(["pull"], bob)
    assert cl(["cat", "fresh"], bob).stdout == "only alice uploaded this\n"


def test_gc_beside_a_fetch_waits_and_keeps_what_it_brings(cl, cl_home, tmp_path, monkeypatch):
    """`cl gc --prune now` started after a fetch has stored the remote's
    objects but before it records them as tracking refs waits for the fetch
    (the span its first write opened lasts until the repository closes:
    docs/design.md, "Garbage collection and concurrent writers"), then
    keeps what the refs name."""
    from cl.sync import tracking
    from tests.cli.test_gc_races import popen_cl

    hub, alice = _hub_and_alice(cl, tmp_path)
    (alice / "data.txt").write_text("fetched, then nearly swept\n")
    cl(["upload", "data.txt", "-n", "fresh"], alice)
    cl(["add", "-m", "a note"], alice)
    cl(["push", "notes"], alice)
    bob = tmp_path / "bob"
    bob.mkdir()
    cl(["init"], bob)
    cl(["remote", "add", "origin", hub], bob)

    gc_runs = []
    read_tracked = tracking.tracked

    def gc_between_objects_and_refs(repo, remote):
        if not gc_runs:  # the fetch's objects are stored; its refs are not recorded yet
            gc = popen_cl(["gc", "--prune", "now"], bob, cl_home)
            gc_runs.append((gc, gc.stderr.readline()))  # a waiting line, or "" from a gc that did not wait
        return read_tracked(repo, remote)

    monkeypatch.setattr(tracking, "tracked", gc_between_objects_and_refs)
    repo = Repository(str(bob / ".codalab"))
    try:
        tracking.fetch(repo, "origin")
    finally:
        repo.close()
    [(gc, first)] = gc_runs
    out, err = gc.communicate(timeout=300)
    assert gc.returncode == 0, first + err
    assert first.startswith("waiting"), f"gc did not wait for the fetch: {first!r} {out!r}"
    assert cl(["fsck"], bob).stdout == ""
    assert [r["name"] for r in json.loads(cl(["wls", "origin::", "--json"], bob).stdout)] == ["notes"]
    cl(["pull", "origin", "notes"], bob)
    assert cl(["cat", "fresh"], bob).stdout == "fetched, then nearly swept\n"


def test_a_pull_records_what_it_fetched_though_the_hub_moved_on(cl, tmp_path, monkeypatch):
    """A push that lands on the hub while a pull is storing what it
    fetched does not become the pull's tracking ref: the ref records the
    commit fetched, whose objects are here, not one asked for afterwards
    that this repository never received."""
    from cl.app import sharing
    from cl.remote import exchange

    hub, alice = _hub_and_alice(cl, tmp_path)
    cl(["add", "-m", "first"], alice)
    cl(["push", "notes"], alice)
    cl(["clone", hub, tmp_path / "bob"], tmp_path)
    bob = tmp_path / "bob"
    cl(["add", "-m", "second"], alice)
    cl(["push", "notes"], alice)

    real_pull = exchange.pull

    def pull_then_alice_pushes(*args, **kwargs):
        outcome = real_pull(*args, **kwargs)
        cl(["add", "-m", "third"], alice)
        cl(["push", "notes"], alice)
        return outcome

    monkeypatch.setattr(exchange, "pull", pull_then_alice_pushes)
    repo = Repository(str(bob / ".codalab"))
    try:
        sharing.pull(repo, ["origin", "notes"])
        [(name, fetched)] = [(n, v) for n, v in repo.refs.items("worksheets/")]
        tracked = repo.refs.get(f"remotes/origin/{name}")
        assert tracked == fetched and repo.store.has(tracked)
    finally:
        repo.close()
    hub_repo = Repository(str(hub))
    assert hub_repo.refs.get(name) != tracked  # the hub has moved on, to a commit bob has not fetched
    hub_repo.close()
    assert _status(cl, bob)["notes"] == "up to date"  # as last seen; a fetch would say behind
    cl(["fetch"], bob)
    assert _status(cl, bob)["notes"] == "behind"
