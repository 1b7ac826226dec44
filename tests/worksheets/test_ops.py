"""Worksheet operations on a real repository: history and versions, add,
detach, remove, the text round trip, resolving errors, concurrency."""

import multiprocessing

import pytest

from cl.errors import CLError, Conflict, SpecError
from cl.objects.types import Item
from cl.repo import Repository
from cl.worksheets import edit, ops
from cl.worksheets.markup import MarkupError
from tests.worksheets.builders import add_dataset, add_run


def items(repo, wid=None):
    return repo.worksheet_head(wid or repo.current_worksheet())[1].items


def test_text_form_saves_back_to_the_same_items(repo):
    d = add_dataset(repo, "data", "x")
    other = repo.new_worksheet("other")
    wid = repo.current_worksheet()
    edit.save_text(repo, wid, "# T\n% display table run\n{data}\n{{other}}\n// note\n", None)
    before = items(repo)
    assert before[2] == Item("bundle", d) and before[3] == Item("worksheet", other)
    text = edit.text_form(repo, repo.worksheet_head(wid)[1])
    assert f"[dataset data]{{0x{d}}}" in text and f"[worksheet other]{{{{0x{other}}}}}" in text
    commit, _ = edit.save_text(repo, wid, text, None)
    assert commit is None, "saving the unchanged text form makes no new version"


def test_resolution_errors_name_the_line_and_save_nothing(repo):
    wid = repo.current_worksheet()
    head, _ = repo.worksheet_head(wid)
    with pytest.raises(MarkupError) as err:
        edit.save_text(repo, wid, "ok\n\n{no-such-bundle}\n", head)
    assert str(err.value).startswith("line 3: ") and "no-such-bundle" in str(err.value)
    with pytest.raises(MarkupError) as err:
        edit.save_text(repo, wid, "a\nb\nc\nd\ne\nf\n% display tabel\n{nothing}\n", head)
    assert str(err.value).startswith("line 8: ")  # the bad directive alone would be saved
    assert repo.worksheet_head(wid)[0] == head


def test_title_directive_sets_the_title(repo):
    wid = repo.current_worksheet()
    edit.save_text(repo, wid, '% title "My Experiments"\nhello\n', None)
    assert repo.worksheet_head(wid)[1].title == "My Experiments"


def test_edit_refused_when_the_worksheet_moved(repo):
    wid = repo.current_worksheet()
    head, _ = repo.worksheet_head(wid)
    add_dataset(repo, "meanwhile", "x")          # lands on the worksheet: head moves
    with pytest.raises(Conflict):
        edit.save_text(repo, wid, "my edit\n", expected_head=head)
    assert items(repo)[-1].kind == "bundle"


def test_history_and_versions(repo):
    wid = repo.current_worksheet()
    ops.add_items(repo, wid, [Item("markup", "one")], "first")
    ops.add_items(repo, wid, [Item("markup", "two")], "second")
    versions = ops.history(repo, wid)
    assert [v.number for v in versions] == [1, 2, 3]
    assert [v.worksheet.message for v in versions] == ["create", "first", "second"]
    assert ops.version(repo, wid, 2).worksheet.items == (Item("markup", "one"),)
    assert ops.version(repo, wid, -1).commit == repo.worksheet_head(wid)[0]
    with pytest.raises(SpecError):
        ops.version(repo, wid, 4)
    assert ops.split_version("main@2") == ("main", 2)
    assert ops.split_version("main") == ("main", None)
    assert ops.split_version("@1") == (".", 1)


def test_detach_keeps_the_bundle_and_remove_keeps_bundles(repo):
    wid = repo.current_worksheet()
    d = add_dataset(repo, "data", "x")
    other = repo.new_worksheet("other")
    ops.add_items(repo, other, [Item("bundle", d)], "add")
    ops.detach(repo, wid, [d])
    assert not [i for i in items(repo) if i.kind == "bundle"]
    assert repo.index.bundle(d) is not None
    with pytest.raises(SpecError):
        ops.detach(repo, wid, [d])
    with pytest.raises(CLError, match="--force"):
        ops.remove(repo, other)
    ops.remove(repo, other, force=True)
    assert repo.index.worksheet(other)["deleted"]
    assert repo.index.bundle(d) is not None, "removing a worksheet never removes a bundle"
    assert d in repo.index.floating()


def test_create_links_both_ways_and_switch(repo):
    main = repo.current_worksheet()
    new = ops.create(repo, "scratch")
    assert items(repo, main)[-1] == Item("worksheet", new)
    assert items(repo, new) == (Item("worksheet", main),)
    ops.switch(repo, new)
    assert repo.current_worksheet() == new
    with pytest.raises(CLError):
        ops.create(repo, "scratch")
    with pytest.raises(CLError):
        ops.create(repo, "9bad name")


def test_set_info_renames_and_refuses_taken_names(repo):
    wid = repo.current_worksheet()
    repo.new_worksheet("taken")
    ops.set_info(repo, wid, name="renamed", title="T", tags=("a", "b"))
    ws = repo.worksheet_head(wid)[1]
    assert (ws.name, ws.title, ws.tags) == ("renamed", "T", ("a", "b"))
    with pytest.raises(CLError, match="already exists"):
        ops.set_info(repo, wid, name="taken")


def test_commands_bind_orderings_to_the_bundles_above(repo):
    a = add_dataset(repo, "a", "1")
    b_ = add_dataset(repo, "b", "2")
    c = add_dataset(repo, "c", "3")
    wid = repo.current_worksheet()
    text = f"{{0x{a}}}\n!rm ^\n{{0x{b_}}}\n{{0x{c}}}\n!info ^2 ^1-2 data:b^ ^/stdout --flag\n"
    _, resolved = edit.save_text(repo, wid, text, None)
    first, second = resolved.commands
    assert first.argv == ("rm", "0x" + a) and first.lineno == 2
    assert second.argv == ("info", "0x" + b_, "0x" + c, "0x" + b_, "data:0x" + b_, f"0x{c}/stdout", "--flag")
    with pytest.raises(MarkupError, match="line 1: "):
        edit.save_text(repo, wid, "!rm ^\n", None)


def _add_many(root, tag, n):
    repo = Repository(root)
    wid = repo.current_worksheet()
    for i in range(n):
        ops.add_items(repo, wid, [Item("markup", f"{tag}-{i}")], f"{tag} {i}")
    repo.close()


def test_concurrent_adds_all_land(repo):
    procs = [multiprocessing.get_context("spawn").Process(target=_add_many, args=(repo.root, t, 15))
             for t in ("x", "y", "z")]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    texts = {i.value for i in items(repo)}
    assert texts == {f"{t}-{i}" for t in "xyz" for i in range(15)}
    assert len(ops.history(repo, repo.current_worksheet())) == 46


def test_ranges_and_names_in_references(repo):
    a = add_run(repo, "exp", {"f": "1"})
    b_ = add_run(repo, "exp", {"f": "2"})
    wid = repo.current_worksheet()
    edit.save_text(repo, wid, "{exp}\n{^2}\n", None)
    bundles = [i.value for i in items(repo) if i.kind == "bundle"]
    assert bundles[-2:] == [b_, a]
