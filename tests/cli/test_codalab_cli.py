"""CodaLab's command line, as a CodaLab user types it (issue 15, the CLI
parts): options that take several values, option prefixes, the short
command names, `cl help`, the options CodaLab documents, and every
command of CodaLab's reference in `cl help -v` (tests/cli/codalab_options.py)."""

import json
import re
import stat

import pytest

from tests.cli import codalab_options as ref
from tests.cli.test_errors import one_line_error, snapshot
from tests.conftest import tree


def info(cl, project, spec, fields, *extra):
    return cl(["info", "-f", fields, *extra, spec], project).stdout.rstrip("\n")


def script(path, body: str) -> str:
    path.write_text("#!/bin/sh\nset -e\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return str(path)


# --- the table: every CodaLab command and option ------------------------------------


def _sections(text: str) -> dict[str, set[str]]:
    """`cl help -v` -> {command: every option spelling in its Options:}."""
    out: dict[str, set[str]] = {}
    for block in re.split(r"^(?=Usage: cl )", text, flags=re.M):
        m = re.match(r"Usage: cl (\S+)", block)
        if not m:
            continue
        options = block.split("\nOptions:\n", 1)[1] if "\nOptions:\n" in block else ""
        spellings = set()
        for line in options.splitlines():
            if line.startswith("  -"):
                column = re.split(r"\s{2,}", line.strip())[0]
                for part in re.split(r",\s*|\s*/\s*", column):
                    spellings.add(part.split()[0])
        out[m.group(1)] = spellings
    return out


def test_help_offers_every_codalab_command_and_option(tmp_path, cl):
    offered = _sections(cl(["help", "-v"], tmp_path).stdout)
    missing = []
    for command, options in ref.COMMANDS.items():
        if command in ref.DEFERRED:
            assert ref.DEFERRED[command], command
            assert command not in offered, f"{command} is offered now: take it out of DEFERRED"
            continue
        if command not in offered:
            missing.append(command)
            continue
        for option in options:
            key = f"{command} {option}"
            if key in ref.DEFERRED:
                assert option not in offered[command], f"{key} is offered now: take it out of DEFERRED"
            elif option not in offered[command]:
                missing.append(key)
    assert missing == []
    # the table names only commands and options of CodaLab's reference
    for key in ref.DEFERRED:
        command, _, option = key.partition(" ")
        assert command in ref.COMMANDS and (not option or option in ref.COMMANDS[command]), key


def test_help_markdown_has_a_section_per_command(tmp_path, cl):
    text = cl(["help", "-v", "-m"], tmp_path).stdout
    assert "### upload\n\n    Usage: cl upload" in text
    assert text.count("### ") == len(_sections(cl(["help", "-v"], tmp_path).stdout))


def test_codalab_short_command_names(project, cl):
    from cl.cli.main import ALIASES
    assert ALIASES == ref.ALIASES
    tree(project, {"a.txt": "a\n"})
    bid = cl(["up", "a.txt", "-n", "first"], project).stdout.strip()
    assert info(cl, project, "first", "id") == bid
    assert cl(["i", "-f", "name", "^"], project).stdout == "first\n"
    cl(["e", "first", "-n", "second"], project)
    assert cl(["s", "second", "-u"], project).stdout == bid + "\n"
    assert "second" in cl(["p"], project).stdout
    assert cl(["w", "-u"], project).stdout.startswith("0x")
    assert "worksheets:" in cl(["st"], project).stdout or cl(["st"], project).returncode == 0
    assert project.name in cl(["ws"], project).stdout and project.name in cl(["wsearch"], project).stdout
    cl(["down", "second", "-o", str(project / "copy.txt")], project)
    assert (project / "copy.txt").read_text() == "a\n"
    cl(["we", "-t", "A title"], project)
    assert "A title" in cl(["wls"], project).stdout
    cl(["de", "second"], project)
    assert cl(["ls", "-u"], project).stdout == ""
    for short, long in ALIASES.items():
        assert cl([short, "--help"], project).stdout.startswith(f"Usage: cl {short} ")
        assert cl(["help", short], project).stdout.startswith(f"Usage: cl {long} ")


def test_help_command(project, cl):
    everything = cl(["help"], project).stdout
    assert everything.startswith("Usage: cl ") and "up = upload" in everything
    assert cl(["help", "rm"], project).stdout.startswith("Usage: cl rm [OPTIONS] SPECS...")
    assert one_line_error(cl(["help", "nothing"], project, check=False)) == \
        "cl: no such command: 'nothing' (see cl help)"


# --- several values, prefixes ---------------------------------------------------------


def test_tags_take_several_values(project, cl):
    tree(project, {"a.txt": "a\n"})
    cl(["upload", "a.txt", "--tags", "a", "b", "-n", "x"], project)
    assert info(cl, project, "x", "tags") == "a b"
    cl(["edit", "x", "--tags", "c", "d", "e"], project)
    assert info(cl, project, "x", "tags") == "c d e"
    cl(["edit", "x", "-T", "f", "g", "-d", "described"], project)
    assert info(cl, project, "x", "tags,description") == "f g\tdescribed"
    cl(["edit", "x", "--tags"], project)  # no value: clear
    assert info(cl, project, "x", "tags") == ""
    cl(["wedit", "--tags", "foo", "bar"], project)
    assert cl(["wls", "tag=foo", "-u"], project).stdout == cl(["wls", "tag=bar", "-u"], project).stdout != ""
    cl(["wedit", "-T"], project)
    assert cl(["wls", "tag=foo", "-u"], project).stdout == ""


def test_unambiguous_prefixes_of_long_options(project, cl):
    tree(project, {"a.txt": "a\n"})
    cl(["upload", "a.txt", "--tag", "p", "q", "--na", "pre", "--desc=about"], project)
    assert info(cl, project, "pre", "tags,description") == "p q\tabout"
    cl(["wedit", "--title=Prefixed", "--ta", "z"], project)
    assert "Prefixed" in cl(["wls", "tag=z"], project).stdout
    cl(["ls", "--work", project.name, "--uuid"], project)  # --worksheet and --worksheet-spec: one option


def test_an_ambiguous_prefix_is_one_error_naming_the_candidates(project, cl):
    tree(project, {"a.txt": "a\n"})
    cl(["upload", "a.txt"], project)
    before = snapshot(project)
    line = one_line_error(cl(["edit", "a.txt", "--f", "x"], project, check=False))
    assert line == "cl: ambiguous option --f: it could be --field, --freeze"
    assert snapshot(project) == before


def test_words_after_the_run_separator_are_never_rewritten(project, cl):
    cl(["config", "run.auto_worker", "false"], project)
    bid = cl(["run", "--tag", "t", "---", "echo", "--tag", "-T"], project).stdout.strip()
    assert info(cl, project, bid, "command,tags") == "echo --tag -T\tt"


# --- upload, make, edit -----------------------------------------------------------------


def test_upload_metadata_and_ignore_options(project, cl):
    tree(project, {"d": {"keep.txt": "k\n", "skip.log": "s\n", "also.tmp": "t\n"},
                   "ignore": "# build leftovers\n*.log\n\n*.tmp\n"})
    bid = cl(["upload", "d", "-i", "ignore", "-z", "--license", "MIT", "--source-url", "https://example.org/d",
              "-l"], project).stdout.strip()
    assert [e.split()[0] for e in cl(["cat", bid], project).stdout.splitlines()[1:]] == ["keep.txt"]
    record = json.loads(cl(["info", "--json", bid], project).stdout)
    fields = {k: record.get("metadata", record).get(k, record.get(k))
              for k in ("license", "source_url", "link_url", "link_format")}
    assert fields == {"license": "MIT", "source_url": "https://example.org/d",
                      "link_url": str(project / "d"), "link_format": "raw"}
    before = snapshot(project)
    assert "cannot read ignore file 'nothing'" in one_line_error(
        cl(["upload", "d", "-i", "nothing"], project, check=False))
    assert snapshot(project) == before


def test_edit_field_freeze_unfreeze(project, cl):
    tree(project, {"a.txt": "a\n"})
    cl(["upload", "a.txt"], project)
    cl(["edit", "a.txt", "-f", "license", "GPL", "-f", "source_url", "here"], project)
    assert info(cl, project, "a.txt", "license,source_url") == "GPL\there"
    cl(["edit", "a.txt", "--freeze"], project)
    before = snapshot(project)
    for change in (["-n", "other"], ["--tags", "x"], ["-f", "license", "MIT"], ["--freeze"]):
        line = one_line_error(cl(["edit", "a.txt", *change], project, check=False))
        assert line == f"cl: bundle 'a.txt' (0x{info(cl, project, 'a.txt', 'id')[2:10]}) is frozen; " \
                       "unfreeze it first: cl edit --unfreeze"
    assert snapshot(project) == before
    cl(["edit", "a.txt", "--unfreeze", "-n", "renamed"], project)
    assert info(cl, project, "renamed", "license") == "GPL"


def test_make_refuses_a_failed_dependency_unless_allowed(project, cl, busybox_image):
    cl(["config", "run.image", busybox_image], project)
    failed = cl(["run", "-n", "bad", "echo partial > out; exit 3", "-W"], project, check=False)
    assert failed.returncode != 0
    before = snapshot(project)
    line = one_line_error(cl(["make", "bad/out"], project, check=False))
    assert "dependency 'bad'" in line and "is failed" in line and "--allow-failed-dependencies" in line
    assert snapshot(project) == before
    made = cl(["make", "bad/out", "--allow-failed-dependencies", "-n", "salvaged"], project).stdout.strip()
    assert cl(["cat", made], project).stdout == "partial\n"


def test_make_edit_opens_the_editor(tmp_path, project, cl):
    tree(project, {"a.txt": "a\n"})
    cl(["upload", "a.txt"], project)
    ed = script(tmp_path / "ed.sh", 'sed -i "s/^name: .*/name: from-editor/; s/^tags: .*/tags: m1 m2/" "$1"\n')
    bid = cl(["make", "a.txt", "-e"], project, env={"EDITOR": ed}).stdout.strip()
    assert info(cl, project, bid, "name,tags") == "from-editor\tm1 m2"


# --- ls, search, -w ----------------------------------------------------------------------


def test_ls_and_search_fields(project, cl):
    tree(project, {"a.txt": "a\n", "b.txt": "b\n"})
    cl(["upload", "a.txt", "--tags", "x", "y"], project)
    cl(["upload", "b.txt", "-d", "bee"], project)
    lines = cl(["ls", "-f", "name,tags,description"], project).stdout.splitlines()
    assert lines[0].split() == ["name", "tags", "description"]
    assert [line.split() for line in lines[1:]] == [["a.txt", "x", "y"], ["b.txt", "bee"]]
    lines = cl(["search", "b.txt", "-f", "name,description"], project).stdout.splitlines()
    assert [line.split() for line in lines] == [["name", "description"], ["b.txt", "bee"]]


def test_worksheet_option_of_bundle_commands(project, cl):
    tree(project, {"a.txt": "on home\n", "b.txt": "on other\n"})
    cl(["upload", "a.txt", "-n", "f"], project)
    other = cl(["new", "other", "-w", project.name], project).stdout.strip()
    cl(["upload", "b.txt", "-n", "f", "-w", "other"], project)
    assert cl(["cat", "^", "-w", "other"], project).stdout == "on other\n"
    assert cl(["cat", "^"], project).stdout == "on home\n"
    assert info(cl, project, "^", "description", "-w", "other") == ""
    assert cl(["info", "-w", "other", "-f", "name", "f"], project).stdout == "f\n"
    out = project / "got.txt"
    cl(["download", "^", "-w", "other", "-o", str(out)], project)
    assert out.read_text() == "on other\n"
    assert cl(["work", "-u"], project).stdout.strip() != other
    found = cl(["search", "f", "-a", "-w", "other", "-u"], project).stdout.split()
    assert len(found) == 2 and set(found) <= set(cl(["ls", "-u", "-w", "other"], project).stdout.split())
    dry = cl(["rm", "-i", "^", "-w", "other"], project)
    assert dry.stdout.strip() in cl(["ls", "-u", "-w", "other"], project).stdout
    assert "other" in cl(["print", "-r"], project).stdout  # new -w linked it from here


def test_slash_is_the_home_worksheet_wherever_a_worksheet_is_named(tmp_path, project, cl):
    tree(project, {"a.txt": "on home\n", "b.txt": "elsewhere\n"})
    home = cl(["work", "-u"], project).stdout.strip()
    cl(["upload", "a.txt", "-n", "f"], project)
    cl(["new", "other"], project)
    cl(["work", "other"], project)
    cl(["upload", "b.txt", "-n", "f"], project)
    # bundle commands resolve ^ and names on it, commands that write put things there
    assert cl(["cat", "^", "-w", "/"], project).stdout == "on home\n"
    assert cl(["info", "-f", "name", "-w", "/", "^"], project).stdout == "f\n"
    up = cl(["upload", "b.txt", "-n", "g", "-w", "/"], project).stdout.strip()
    cl(["add", "text", "a note", "--dest-worksheet", "/"], project)
    assert cl(["ls", "-u", "-w", "/"], project).stdout.split()[-1] == up
    assert "a note" in cl(["print", "/"], project).stdout
    assert cl(["work", "-u"], project).stdout.strip() != home
    cl(["work", "/"], project)
    assert cl(["work", "-u"], project).stdout.strip() == home
    # renaming it keeps it home (config worksheet.home holds its id), and it can be changed
    cl(["wedit", "-n", "renamed"], project)
    assert cl(["ls", "-u", "-w", "/"], project).stdout.split()[-1] == up
    cl(["config", "worksheet.home", "other"], project)
    assert cl(["print", "-r", "/"], project).stdout == cl(["print", "-r", "other"], project).stdout
    # a remote's home is the worksheet it names as its current, where a clone lands
    cl(["alias", "up", str(project)], project)
    clone = tmp_path / "clone"
    cl(["clone", str(project), str(clone)], tmp_path)
    assert cl(["ls", "-u", "-w", "/"], clone).stdout == cl(["ls", "-u"], project).stdout
    assert cl(["ls", "-u", "-w", "up::/"], project).stdout == cl(["ls", "-u"], project).stdout
    # a repository without one says how to name one, and changes nothing
    cl(["config", "-r", "worksheet.home"], project)
    before = snapshot(project)
    assert one_line_error(cl(["ls", "-w", "/"], project, check=False)) == \
        "cl: there is no home worksheet: '/'; name one with 'cl config worksheet.home NAME'"
    assert snapshot(project) == before


def test_ws_slash_name_is_a_path_and_ws_double_slash_name_a_worksheet(project, cl):
    """CodaLab's specs: `[WS//]BUNDLE[/SUBPATH]`.  `exp/out` is the file out
    in bundle exp even where a worksheet exp holds a bundle out; `exp//out`
    is that bundle.  A miss on `WS/NAME` says how to write the other."""
    tree(project, {"exp": {"out": "file in bundle exp\n"}, "out": "bundle out\n"})
    cl(["upload", "exp"], project)
    cl(["new", "exp"], project)
    out = cl(["upload", "out", "-w", "exp"], project).stdout.strip()
    assert cl(["cat", "exp/out"], project).stdout == "file in bundle exp\n"
    assert cl(["cat", "exp//out"], project).stdout == "bundle out\n"
    assert cl(["info", "-f", "id", "exp//out"], project).stdout.strip() == out
    cl(["new", "lab", "--no-link"], project)
    cl(["upload", "out", "-n", "res", "-w", "lab"], project)
    before = snapshot(project)
    hint = "'lab' is a worksheet: bundle 'res' on it is 'lab//res' ('WS/NAME' is the path NAME inside bundle WS)"
    assert one_line_error(cl(["cat", "lab/res"], project, check=False)) == \
        f"cl: no bundle matches: 'lab/res'; {hint}"
    assert one_line_error(cl(["info", "lab/res"], project, check=False)) == \
        f"cl: malformed bundle spec: 'lab/res'; {hint}"
    assert snapshot(project) == before
    assert cl(["cat", "lab//res"], project).stdout == "bundle out\n"


def test_cat_t_is_tail(project, cl):
    tree(project, {"n.txt": "1\n2\n3\n"})
    cl(["upload", "n.txt"], project)
    assert cl(["cat", "-t", "1", "n.txt"], project).stdout == "3\n"


# --- worksheets -------------------------------------------------------------------------


def test_frozen_worksheet_refuses_changes(project, cl):
    tree(project, {"a.txt": "a\n"})
    cl(["upload", "a.txt"], project)
    cl(["wedit", "--freeze"], project)
    before = snapshot(project)
    for args in (["add", "text", "more"], ["wedit", "-t", "T"], ["upload", "a.txt"], ["detach", "a.txt"]):
        line = one_line_error(cl(args, project, check=False))
        assert line == f"cl: worksheet '{project.name}' is frozen; unfreeze it first: " \
                       f"cl wedit {project.name} --unfreeze", args
    assert snapshot(project) == before
    cl(["wedit", "--unfreeze", "-t", "Thawed"], project)
    cl(["add", "text", "more"], project)
    assert "Thawed" in cl(["wls"], project).stdout


def test_frozen_is_written_only_when_true():
    """An unfrozen worksheet's stored form is what it was before the field
    existed, so every old id stays."""
    from cl.objects.types import Worksheet
    from cl.objects.value import replace
    ws = Worksheet("w" * 32, (), 1, "me", "m", "name")
    assert "frozen" not in ws.to_map()
    frozen = replace(ws, frozen=True)
    assert frozen.to_map()["frozen"] is True
    assert Worksheet.from_map(frozen.to_map()) == frozen
    assert Worksheet.from_map(ws.to_map()) == ws


def test_add_copy_dependencies_and_dest_worksheet(project, cl):
    tree(project, {"a.txt": "a\n"})
    a = cl(["upload", "a.txt"], project).stdout.strip()
    made = cl(["make", "k:a.txt", "-n", "m"], project).stdout.strip()
    cl(["new", "dest", "--no-link"], project)
    cl(["add", "bundle", "m", "--dest-worksheet", "dest", "-d"], project)
    assert cl(["ls", "-u", "-w", "dest"], project).stdout.split() == [a, made]


def test_add_to_a_worksheet_on_a_remote(tmp_path, project, cl):
    """`cl add … --dest-worksheet REMOTE::WS`, as CodaLab's add between
    instances: bundles the remote lacks are copied (with -d their
    dependencies, listed first), text is added as text, and a worksheet
    link cannot cross repositories."""
    origin = tmp_path / "origin"
    origin.mkdir()
    cl(["init", "-w", "far"], origin)
    cl(["alias", "up", str(origin)], project)
    tree(project, {"a.txt": "a\n"})
    a = cl(["upload", "a.txt"], project).stdout.strip()
    made = cl(["make", "k:a.txt", "-n", "m"], project).stdout.strip()
    cl(["add", "bundle", "m", "--dest-worksheet", "up::far", "-d"], project)
    cl(["add", "text", "a note", "--dest-worksheet", "up::far"], project)
    assert cl(["ls", "-u"], origin).stdout.split() == [a, made]
    assert cl(["cat", "m/k"], origin).stdout == "a\n"   # the contents came along
    assert cl(["print", "-r"], origin).stdout.splitlines()[-1] == "a note"
    assert cl(["ls", "-u", "-w", "up::far"], project).stdout.split() == [a, made]
    # `REMOTE::` alone is the remote's home (its current worksheet), as CodaLab's `alias::`
    cl(["add", "bundle", "a.txt", "--dest-worksheet", "up::"], project)
    assert cl(["ls", "-u"], origin).stdout.split() == [a, made, a]
    # from a remote into a worksheet here
    tree(origin, {"b.txt": "b\n"})
    b = cl(["upload", "b.txt"], origin).stdout.strip()
    cl(["add", "bundle", "up::b.txt"], project)
    assert cl(["ls", "-u"], project).stdout.split()[-1] == b
    assert cl(["cat", "b.txt"], project).stdout == "b\n"
    # refused, changing nothing on either side
    here, there = snapshot(project), snapshot(origin)
    assert one_line_error(cl(["work", "up::far"], project, check=False)) == (
        "cl: the current worksheet is one of this repository's: 'up::far' is on remote 'up'; "
        "bring it here with 'cl pull up far', then 'cl work far'")
    cross = one_line_error(cl(["add", "worksheet", project.name, "--dest-worksheet", "up::far"], project,
                              check=False))
    assert cross == f"cl: a worksheet link cannot cross repositories: '{project.name}' added to 'up::far'"
    tree(project, {"c.txt": "c\n"})
    cl(["upload", "c.txt"], project)
    here = snapshot(project)
    assert "no worksheet on remote 'up' matches" in one_line_error(
        cl(["add", "bundle", "c.txt", "--dest-worksheet", "up::nosuch"], project, check=False))
    assert (snapshot(project), snapshot(origin)) == (here, there)  # c.txt was not sent
    cl(["wedit", "--freeze"], origin)
    there = snapshot(origin)
    assert one_line_error(cl(["add", "c.txt", "--dest-worksheet", "up::far"], project, check=False)) == \
        "cl: worksheet 'far' on remote 'up' is frozen; nothing was added; " \
        "unfreeze it there first: cl wedit far --unfreeze"
    assert (snapshot(project), snapshot(origin)) == (here, there)


def test_wadd_replace(project, cl):
    tree(project, {"a.txt": "a\n", "b.txt": "b\n"})
    a = cl(["upload", "a.txt"], project).stdout.strip()
    cl(["new", "two", "--no-link"], project)
    b = cl(["upload", "b.txt", "-w", "two"], project).stdout.strip()
    cl(["wadd", project.name, "two"], project)
    assert cl(["ls", "-u", "-w", "two"], project).stdout.split() == [b, a]
    cl(["wadd", project.name, "two", "-r"], project)
    assert cl(["ls", "-u", "-w", "two"], project).stdout.split() == [a]
    assert cl(["info", "-f", "state", b], project).stdout == "ready\n"  # detached, not removed
    # as CodaLab's wadd: a bundle that has not finished is not copied, and is named
    cl(["config", "run.auto_worker", "false"], project)
    queued = cl(["run", "true"], project).stdout.strip()
    out = cl(["wadd", project.name, "two"], project).stdout
    assert f"(1 not finished left out: {queued[:10]})" in out
    assert cl(["ls", "-u", "-w", "two"], project).stdout.split() == [a, a]


def test_wls_address_lists_a_remote(tmp_path, project, cl):
    origin = tmp_path / "origin"
    origin.mkdir()
    cl(["init", "-w", "far"], origin)
    cl(["new", "farther", "--no-link"], origin)
    cl(["alias", "up", str(origin)], project)
    rows = [line.lstrip("* ").split()[0] for line in cl(["wls", "-a", "up"], project).stdout.splitlines()[1:]]
    assert sorted(rows) == ["far", "farther"]
    assert cl(["wls", "-a", "up", ".count"], project).stdout == "2\n"
    assert "farther" not in cl(["wls"], project).stdout
    assert cl(["wls", "-a", "up", "farther", "-u"], project).stdout.strip() == \
        cl(["wls", "farther", "-u"], origin).stdout.strip()


def test_alias_and_config_remove(project, cl):
    cl(["alias", "there", "http://127.0.0.1:2800"], project)
    cl(["alias", "-r", "there"], project)
    assert "there" not in cl(["alias"], project).stdout
    cl(["config", "run.image", "cl-test/busybox"], project)
    cl(["config", "-r", "run.image"], project)
    assert "cl-test/busybox" not in cl(["config"], project).stdout
    before = snapshot(project)
    assert one_line_error(cl(["config", "-r", "run.image"], project, check=False)) == \
        "cl: config 'run.image' is not set"
    assert snapshot(project) == before


# --- run, mimic ----------------------------------------------------------------------------


def test_run_after_edit_verbose(tmp_path, project, cl):
    cl(["config", "run.auto_worker", "false"], project)
    cl(["add", "text", "first"], project)
    cl(["add", "text", "second"], project)
    ed = script(tmp_path / "ed.sh", 'sed -i "s/^name: .*/name: edited/; s/^tags: .*/tags: t1 t2/" "$1"\n')
    done = cl(["run", "-a", "1", "-e", "-v", "true", "--request-memory", "1g"], project, env={"EDITOR": ed})
    bid = done.stdout.strip()
    assert "request memory" in done.stderr and "true" in done.stderr
    assert info(cl, project, bid, "name,tags") == "edited\tt1 t2"
    text = cl(["print", "-r"], project).stdout.splitlines()
    assert text[0] == "first" and bid in text[1] and text[2] == "second"
    before = snapshot(project)
    assert "has 3 item(s)" in one_line_error(cl(["run", "-a", "5", "true"], project, check=False))
    assert snapshot(project) == before


def test_run_after_puts_a_reused_run_where_a_new_one_would_go(project, cl):
    cl(["config", "run.executor", "local"], project)
    first = cl(["run", "echo hi", "-W"], project).stdout.strip()
    cl(["add", "text", "note"], project)
    again = cl(["run", "-m", "-a", "0", "echo hi"], project)
    assert again.stdout.strip() == first and "reused" in again.stderr
    text = cl(["print", "-r"], project).stdout.splitlines()
    assert first in text[0] and text[-2:] == [text[-2], "note"] and first in text[-2]
    before = snapshot(project)
    assert "has 3 item(s)" in one_line_error(cl(["run", "-m", "-a", "4", "echo hi"], project, check=False))
    assert snapshot(project) == before


def test_mimic_overrides(project, cl):
    cl(["config", "run.auto_worker", "false"], project)
    tree(project, {"a.txt": "a\n", "b.txt": "b\n"})
    cl(["upload", "a.txt"], project)
    cl(["upload", "b.txt"], project)
    cl(["run", ":a.txt", "cat a.txt > out", "-n", "r", "--tags", "old", "-d", "was"], project)
    out = cl(["mimic", "a.txt", "r", "b.txt", "-d", "now", "--tags", "n1", "n2", "--request-memory", "64m",
              "--exclude-patterns", "x", "y", "--allow-failed-dependencies", "-n", "r2"], project)
    assert "=> r2" in out.stderr
    assert out.stdout == cl(["info", "-f", "id", "r2"], project).stdout
    record = json.loads(cl(["info", "--json", "r2"], project).stdout)
    assert (record["description"], record["tags"]) == ("now", ["n1", "n2"])
    assert record["request"]["memory"] in (64 * 2**20, "64m", "64.0m")
    bundle_options = json.loads(cl(["info", "-r", "r2"], project).stdout)
    text = json.dumps(bundle_options)
    assert '"exclude_patterns": ["x", "y"]' in text and '"allow_failed_dependencies": true' in text


def test_mimic_and_macro_resolve_specs_on_the_worksheet_of_w(project, cl):
    """CodaLab's -w for mimic and macro: `^N` and names are looked up on
    that worksheet, and the new bundles go there."""
    cl(["config", "run.auto_worker", "false"], project)
    tree(project, {"a.txt": "a\n", "b.txt": "b\n"})
    cl(["new", "lab", "--no-link"], project)
    cl(["upload", "a.txt", "-w", "lab"], project)
    cl(["run", ":a.txt", "cat a.txt > out", "-n", "r", "-w", "lab"], project)
    new_input = cl(["upload", "b.txt", "-w", "lab"], project).stdout.strip()
    cl(["upload", "a.txt", "-n", "decoy"], project)  # ^ here is not ^ on lab
    done = cl(["mimic", "^3", "^2", "^", "-n", "r2", "-w", "lab"], project)
    [new] = done.stdout.split()
    assert new in cl(["ls", "-u", "-w", "lab"], project).stdout
    assert new not in cl(["ls", "-u"], project).stdout
    assert json.loads(cl(["info", "--json", new], project).stdout)["dependencies"][0]["bundle"] == new_input
    cl(["edit", "a.txt", "-n", "m-in1", "-w", "lab"], project)
    cl(["edit", "r", "-n", "m-out", "-w", "lab"], project)
    applied = cl(["macro", "m", "^", "-w", "lab", "-n", "r3"], project).stdout.split()
    assert applied[-1] in cl(["ls", "-u", "-w", "lab"], project).stdout


def test_run_exclude_patterns_take_several_values(project, cl, busybox_image):
    cl(["config", "run.image", busybox_image], project)
    bid = cl(["run", "echo a > a.txt; echo b > b.txt; echo c > c.txt", "--exclude-patterns", "a.txt", "b.txt",
              "-W"], project).stdout.strip()
    names = [line.split()[0] for line in cl(["cat", bid], project).stdout.splitlines()[1:]]
    assert names == ["c.txt", "stderr", "stdout"]
    assert json.loads(cl(["info", "--json", bid], project).stdout)["dependencies"] == []


# --- write, netcat, open, wopen ----------------------------------------------------------


def test_write_into_a_running_run(project, cl, busybox_image):
    cl(["config", "run.image", busybox_image], project)
    bid = cl(["run", "while [ ! -e go ]; do sleep 0.1; done; cat go; ln -s /etc escape; "
              "while [ ! -e done ]; do sleep 0.1; done", "-n", "waiter"], project).stdout.strip()
    _wait_for(cl, project, bid, "running")
    cl(["write", f"{bid}/go", "hello there"], project)
    # a link the run made is not followed
    _wait_for_file(project, bid, "escape")
    line = one_line_error(cl(["write", f"{bid}/escape/passwd", "x"], project, check=False))
    assert "escape" in line and "not a directory" in line
    assert one_line_error(cl(["write", f"{bid}/../x", "x"], project, check=False)).startswith("cl: path escapes")
    cl(["write", f"{bid}/done", ""], project)
    cl(["wait", bid], project)
    assert cl(["cat", f"{bid}/stdout"], project).stdout == "hello there"
    assert "is not running" in one_line_error(cl(["write", f"{bid}/go", "late"], project, check=False))


def test_netcat_to_a_running_run(project, cl, busybox_image):
    cl(["config", "run.image", busybox_image], project)
    tree(project, {"more.txt": " and more"})
    bid = cl(["run", "echo pong | nc -l -p 5000 > got", "--request-network"], project).stdout.strip()
    _wait_for(cl, project, bid, "running")
    answer = _retry_netcat(cl, project, [bid, "5000", "ping", "-f", "more.txt"])
    assert answer == "pong\n"
    cl(["wait", bid], project)
    assert cl(["cat", f"{bid}/got"], project).stdout == "ping and more"
    closed = cl(["run", "sleep 60", "-n", "closed"], project).stdout.strip()
    _wait_for(cl, project, closed, "running")
    line = one_line_error(cl(["netcat", closed, "5000", "x"], project, check=False))
    assert line == f"cl: run 0x{closed[2:10]} has no network to connect to; " \
                   "start it with --request-network to reach its ports"
    cl(["kill", closed], project)


def test_open_and_wopen_hand_the_page_to_the_browser(tmp_path, project, cl):
    tree(project, {"a.txt": "a\n"})
    cl(["upload", "a.txt", "-d", "the <first> one"], project)
    seen = tmp_path / "seen"
    browser = script(tmp_path / "browser.sh", f'echo "$1" >> {seen}\n')
    page = cl(["o", "a.txt"], project, env={"BROWSER": browser}).stdout.strip()
    assert seen.read_text() == f"file://{page}\n"
    text = open(page, encoding="utf-8").read()
    assert "the &lt;first&gt; one" in text and "a.txt" in text
    page = cl(["wo"], project, env={"BROWSER": browser}).stdout.strip()
    assert seen.read_text().splitlines()[-1] == f"file://{page}"
    assert "a.txt" in open(page, encoding="utf-8").read()


# --- helpers for live runs -------------------------------------------------------------------


def _wait_for(cl, project, bid, stage):
    import time
    for _ in range(600):
        rec = json.loads(cl(["info", "--json", bid], project).stdout)
        if (rec.get("live") or {}).get("stage") == stage:
            return
        if rec["state"] in ("ready", "failed", "killed"):
            raise AssertionError(f"run ended {rec['state']} before it was {stage}")
        time.sleep(0.1)
    raise AssertionError(f"run never got {stage}")


def _wait_for_file(project, bid, name):
    import time
    path = project / ".codalab" / "runs" / bid[2:] / name
    for _ in range(600):
        if path.is_symlink() or path.exists():
            return
        time.sleep(0.1)
    raise AssertionError(f"{name} never appeared in the run")


def _retry_netcat(cl, project, args):
    """The server in the run may not listen yet when the run is running."""
    import time
    for _ in range(100):
        done = cl(["netcat", *args], project, check=False)
        if done.returncode == 0:
            return done.stdout
        assert "cannot connect" in done.stderr, done.stderr
        time.sleep(0.1)
    raise AssertionError(done.stderr)
