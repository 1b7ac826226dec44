"""The worksheet commands driven as a user would: the real `cl` script."""

import io
import json
import os
import re
import stat
import subprocess

import pytest

from tests.conftest import CL, cl_env, tree
from tests.runs.helpers import stop_workers
from tests.test_readme import README, commands


def out(cl, args, cwd, **kw):
    return cl(args, cwd, **kw).stdout


def fails(cl, args, cwd, **kw):
    done = cl(args, cwd, check=False, **kw)
    assert done.returncode != 0, done.stdout
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    return done.stderr.strip()


def editor(tmp_path, body: str) -> str:
    """An $EDITOR: a shell script run as `editor FILE`."""
    path = tmp_path / "editor.sh"
    path.write_text("#!/bin/sh\nset -e\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return str(path)


@pytest.fixture
def stats_project(project, cl):
    tree(project, {"a.txt": "foo\nbar\n", "sort.py": "print(1)\n",
                   "stats.json": json.dumps({"train": {"errorRate": 0.123456}})})
    cl(["upload", "a.txt"], project)
    cl(["upload", "program", "sort.py"], project)
    return project


def test_new_work_wls_and_links(project, cl):
    home = out(cl, ["work"], project).strip()
    assert home.startswith("Current worksheet: project (0x")
    wid = out(cl, ["new", "scratch", "-t", "Scratch space"], project).strip()
    assert re.fullmatch(r"0x[0-9a-f]{32}", wid)
    assert out(cl, ["work", "scratch"], project).startswith("Switched to worksheet: scratch (0x")
    assert out(cl, ["work"], project).startswith("Current worksheet: scratch")
    listing = out(cl, ["wls"], project)
    assert re.search(r"^\*\s+scratch\s+Scratch space", listing, re.M)
    assert re.search(r"^\s+project\s", listing, re.M)
    assert out(cl, ["wls", "-u", "name=scr%"], project).strip() == wid
    assert out(cl, ["wls", ".count"], project).strip() == "2"
    assert "-> worksheet project" in out(cl, ["print"], project)
    assert "-> worksheet scratch: Scratch space" in out(cl, ["print", "project"], project)


def test_add_forms_print_and_raw(stats_project, cl):
    p = stats_project
    cl(["add", "-m", "Here's a simple bundle:"], p)
    cl(["add", "sort.py"], p)
    cl(["add", "text", "% display table program"], p)
    cl(["add", "bundle", "a.txt", "sort.py"], p)
    cl(["new", "other", "--no-link"], p)
    cl(["add", "worksheet", "other"], p)
    cl(["add", "-w", "other"], p)
    raw = out(cl, ["print", "-r"], p)
    lines = raw.splitlines()
    assert lines[2] == "Here's a simple bundle:"
    assert re.fullmatch(r"\[program sort\.py\]\{0x[0-9a-f]{64}\}", lines[3])
    assert lines[4] == "% display table program"
    assert re.fullmatch(r"\[worksheet other\]\{\{0x[0-9a-f]{32}\}\}", lines[-1])
    shown = out(cl, ["print"], p)
    assert shown.startswith("== project ==")
    assert "Here's a simple bundle:" in shown
    assert re.search(r"^uuid\s+name\s+summary\s+data_size\s+state\s+description\s+created$", shown, re.M)
    assert shown.count("-> worksheet other") == 2


def test_add_to_another_worksheet_and_detach(stats_project, cl):
    p = stats_project
    cl(["new", "other"], p)
    cl(["add", "a.txt", "--dest-worksheet", "other"], p)
    assert "a.txt" in out(cl, ["print", "-r", "other"], p)
    detached = out(cl, ["detach", "a.txt", "-w", "other"], p).strip()
    assert "a.txt" not in out(cl, ["print", "-r", "other"], p)
    assert out(cl, ["info", "-f", "name", detached], p).strip() == "a.txt"
    assert "not on worksheet 'other'" in fails(cl, ["detach", "a.txt", "-w", "other"], p)


def test_wedit_from_file_resolves_references(stats_project, cl, tmp_path):
    p = stats_project
    tree(tmp_path, {"ws.txt": '% title "Sorting"\n# Notes\n{a.txt}\n[my program]{sort.py}\n'})
    assert out(cl, ["wedit", "-f", tmp_path / "ws.txt"], p).startswith("Saved worksheet: project")
    raw = out(cl, ["print", "-r"], p)
    assert re.search(r"^\[dataset a\.txt\]\{0x[0-9a-f]{64}\}$", raw, re.M)
    assert re.search(r"^\[program sort\.py\]\{0x[0-9a-f]{64}\}$", raw, re.M)
    assert out(cl, ["print"], p).startswith("== Sorting ==")
    # the printed text saves back unchanged (the editor round trip)
    (tmp_path / "again.ws").write_text(raw)
    assert "No change" in out(cl, ["wedit", "project", "-f", tmp_path / "again.ws"], p)


def test_wedit_error_names_the_line_and_saves_nothing(stats_project, cl, tmp_path):
    p = stats_project
    before = out(cl, ["print", "-r"], p)
    (tmp_path / "bad.ws").write_text("a\nb\nc\nd\ne\nf\n% display tabel\n!frobnicate\n")
    err = fails(cl, ["wedit", "-f", tmp_path / "bad.ws"], p)
    assert err == "cl: line 8: unknown command 'frobnicate'"  # a bad directive alone would be saved
    (tmp_path / "bad2.ws").write_text("ok\n{nothing-called-this}\n")
    assert fails(cl, ["wedit", "-f", tmp_path / "bad2.ws"], p).startswith("cl: line 2: no bundle matches")
    (tmp_path / "bad3.ws").write_text("!frobnicate ^\n")
    assert fails(cl, ["wedit", "-f", tmp_path / "bad3.ws"], p) == "cl: line 1: unknown command 'frobnicate'"
    assert out(cl, ["print", "-r"], p) == before


def test_wedit_in_the_editor_keeps_bad_text_in_a_named_file(stats_project, cl, tmp_path):
    p = stats_project
    ed = editor(tmp_path, 'printf "my precious notes\\n{nothing-called-this}\\n" >> "$1"\n')
    err = fails(cl, ["wedit"], p, env={"EDITOR": ed})
    m = re.search(r"your text is in (\S+):", err)
    assert err.startswith("cl: line ") and "no bundle matches" in err and m, err
    kept = m.group(1)
    assert "my precious notes" in open(kept).read()
    assert "my precious notes" not in out(cl, ["print", "-r"], p)
    os.unlink(kept)


def test_wedit_refuses_when_the_worksheet_changed_meanwhile(stats_project, cl, tmp_path):
    p = stats_project
    # the "editor" adds to the worksheet through another cl process, then saves its own edit
    ed = editor(tmp_path, f'"{CL}" add -m "added meanwhile"\nprintf "typed in the editor\\n" >> "$1"\n')
    err = fails(cl, ["wedit"], p, env={"EDITOR": ed})
    assert "changed since it was read" in err and "nothing was saved" in err
    kept = re.search(r"your text is in (\S+):", err).group(1)
    assert "typed in the editor" in open(kept).read()
    raw = out(cl, ["print", "-r"], p)
    assert "added meanwhile" in raw and "typed in the editor" not in raw
    # the kept text can be saved once the user has looked at it
    cl(["wedit", "-f", kept], p)
    assert "typed in the editor" in out(cl, ["print", "-r"], p)
    os.unlink(kept)


def test_wedit_in_the_editor_strips_the_header(stats_project, cl, tmp_path):
    p = stats_project
    ed = editor(tmp_path, 'printf "new line\\n" >> "$1"\n')
    cl(["wedit"], p, env={"EDITOR": ed})
    raw = out(cl, ["print", "-r"], p)
    assert raw.endswith("new line\n") and "// Editing worksheet" not in raw


def test_commands_in_the_text_run_on_save(stats_project, cl, tmp_path):
    p = stats_project
    ids = out(cl, ["ls", "-u"], p).split()
    text = f"{{{ids[0]}}}\n!rm ^\n{{{ids[1]}}}\n"
    (tmp_path / "ws.txt").write_text(text)
    done = cl(["wedit", "-f", tmp_path / "ws.txt"], p)
    assert f"line 2: cl rm {ids[0]}" in done.stderr
    assert out(cl, ["ls", "-u"], p).split() == [ids[1]]
    assert fails(cl, ["info", ids[0]], p)


def test_wedit_metadata_only(stats_project, cl):
    p = stats_project
    cl(["wedit", "-n", "renamed", "-t", "A title", "--tags", "nlp, baseline"], p)
    assert out(cl, ["wls", "-u", "tag=nlp"], p).strip()
    assert out(cl, ["wls", "-u", "title=A title"], p).strip()
    assert out(cl, ["print"], p).startswith("== A title ==")
    assert "already exists" in fails(cl, ["new", "renamed"], p)


def test_wlog_and_print_older_versions(stats_project, cl):
    p = stats_project
    cl(["add", "-m", "first note"], p)
    cl(["add", "-m", "second note"], p)
    log = out(cl, ["wlog"], p).splitlines()
    assert log[0].split()[:2] == ["version", "commit"]
    assert log[1].startswith("@5 ") and log[-1].startswith("@1 ") and "create" in log[-1]
    old = out(cl, ["print", "-r", "project@4"], p)
    assert "first note" in old and "second note" not in old
    assert out(cl, ["print", "project@4"], p).startswith("== project  (version 4) ==")
    records = json.loads(out(cl, ["wlog", "--json"], p))
    assert [r["version"] for r in records] == [5, 4, 3, 2, 1]
    assert "versions 1 to 5" in fails(cl, ["print", "project@9"], p)


def test_wrm_keeps_bundles(stats_project, cl):
    p = stats_project
    cl(["new", "tmp"], p)
    cl(["add", "a.txt", "--dest-worksheet", "tmp"], p)
    assert "--force" in fails(cl, ["wrm", "tmp"], p)
    cl(["wrm", "tmp", "--force"], p)
    assert "tmp" not in out(cl, ["wls"], p)
    assert out(cl, ["info", "-f", "name", "a.txt"], p).strip() == "a.txt"
    assert "no worksheet matches" in fails(cl, ["work", "tmp"], p)


def test_print_html_to_a_file(stats_project, cl, tmp_path):
    p = stats_project
    dest = tmp_path / "page.html"
    printed = out(cl, ["print", "--html", "-o", dest], p).strip()
    assert printed == str(dest)
    page = dest.read_text()
    assert page.startswith("<!DOCTYPE html>") and "<table class=\"bundles\">" in page
    assert out(cl, ["print", "--html"], p) == page


def test_print_html_links_to_a_server(stats_project, cl):
    p = stats_project
    bid = out(cl, ["info", "-f", "id", "a.txt"], p).strip()
    wid = out(cl, ["wls", "-u"], p).split()[0]
    cl(["add", "-m", "See {{.}}, the worksheet itself."], p)
    page = out(cl, ["print", "--html", "--server", "https://ws.example.org/"], p)
    assert f'href="https://ws.example.org/bundles/{bid}"' in page
    assert f'href="https://ws.example.org/worksheets/{wid}"' in page
    assert f'href="#b-{bid[2:]}"' not in page and f'id="b-{bid[2:]}"' in page   # the sections stay
    assert f'href="#b-{bid[2:]}"' in out(cl, ["print", "--html"], p)


def test_print_server_is_checked(stats_project, cl):
    p = stats_project
    assert fails(cl, ["print", "--html", "--server", "ftp://x"], p) == \
        "cl: --server needs an http(s) address such as https://worksheets.example.org, not 'ftp://x'"
    assert "--server goes with --html" in fails(cl, ["print", "--server", "https://x"], p)


def test_concurrent_cl_add_all_land(project, cl):
    procs = [subprocess.Popen([CL, "add", "-m", f"note {i}"], cwd=project, env=cl_env({"HOME": cl.home}),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for i in range(6)]
    for proc in procs:
        assert proc.wait(120) == 0, proc.stderr.read()
    raw = out(cl, ["print", "-r"], project)
    assert sorted(raw.split("\n")[:-1]) == sorted(f"note {i}" for i in range(6))


def test_user_errors_are_one_line(project, cl):
    assert "no worksheet matches" in fails(cl, ["print", "nope"], project)
    assert "nothing to add" in fails(cl, ["add"], project)
    assert "no bundle matches" in fails(cl, ["add", "nope"], project)
    assert "line 1: commands ('!…') run only from 'cl wedit'" in fails(cl, ["add", "-m", "!rm x"], project)
    assert "invalid worksheet name" in fails(cl, ["new", "has space"], project)
    assert "unknown worksheet search field" in fails(cl, ["wls", "colour=red"], project)


def test_search_appends_results_to_the_current_worksheet(stats_project, cl):
    p = stats_project
    cl(["new", "found"], p)
    cl(["work", "found"], p)
    listed = out(cl, ["search", "name=%.txt", "-a"], p)
    assert "a.txt" in listed
    raw = out(cl, ["print", "-r"], p)
    assert re.search(r"^\[dataset a\.txt\]\{0x[0-9a-f]{64}\}$", raw, re.M)
    assert out(cl, ["search", "data_size=.sum"], p).strip() == str(len("foo\nbar\n") + len("print(1)\n"))
    assert out(cl, ["search", "host_worksheet=found", ".count"], p).strip() == "1"


def _doc_commands(section_titles) -> str:
    """The `$ ` commands (with their here-documents) of the console blocks
    in the named sections of README.md, as one bash script."""
    text = README.read_text()
    script = []
    for title in section_titles:
        body = re.split(r"\n##+ ", text.split(f"### {title}\n", 1)[1], maxsplit=1)[0]
        for block in re.findall(r"```console\n(.*?)```", body, re.S):
            script += [command for command, _ in commands(block)]
    return "set -euo pipefail\n" + "\n".join(script) + "\n"


def test_the_readme_worked_example_works_as_shown(project, cl, tmp_path):
    script = _doc_commands(["A worked example", "Searching"])
    assert "cl wedit -f sweep.ws" in script and "cl print --html -o sweep.html" in script
    try:
        done = subprocess.run(["bash", "-c", script], cwd=project, env=cl_env({"HOME": cl.home}),
                              capture_output=True, text=True, timeout=600)
    finally:
        stop_workers(project)  # the example's `cl run`s started one, as they would for a user
    assert done.returncode == 0, done.stderr
    table = re.search(r"^run\s+lr\s+error\s+time\n((?:train.*\n){3})", done.stdout, re.M)
    assert table, done.stdout
    rows = [line.split()[:3] for line in table.group(1).splitlines()]
    assert rows == [["train-lr0.1", "0.1", "0.197"], ["train-lr0.03", "0.03", "0.050"],
                    ["train-lr0.01", "0.01", "0.062"]]
    assert "No change to the worksheet." in done.stdout
    page = (project / "sweep.html").read_text()
    assert page.count("<polyline") == 3 and re.search(r'<td><a class="ref" href="#b-[0-9a-f]{64}" '
                                                      r'title="0x[0-9a-f]{64}">train-lr0.03</a>', page)


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_terminal_rendering_with_rich():
    from cl.cli import ws_render
    from cl.worksheets import blocks as b
    page = b.Page(worksheet="ab" * 16, name="ws", title="My page", commit="c" * 64, version=3, author="me",
                  time=0, blocks=(
                      b.Markup("# Notes\nSome **bold** text."),
                      b.Table(("name", "error"), (b.TableRow("1" * 64, ("exp1", "0.250")),)),
                      b.Record("2" * 64, "exp2", (("state", "ready"),)),
                      b.Inline("2" * 64, "exp2", "/stats:e", "0.5"),
                      b.FileView("contents", "2" * 64, "exp2", "/stdout", lines=("line 1", "line 2"), truncated=True),
                      b.FileView("image", "2" * 64, "exp2", "/plot.png"),
                      b.Graph("/curve.tsv", (("3" * 64, "exp3"),)),
                      b.WorksheetLink("cd" * 16, "other", "Other"),
                      b.Problem("something is off")))
    term = _Terminal()
    ws_render.print_page(page, term)
    shown = re.sub(r"\x1b\[[0-9;]*m", "", term.getvalue())
    for expected in ("My page  (version 3)", "Notes", "exp1", "0.250", "exp2 (0x22222222)", "ready",
                     "line 2", "[image: exp2/plot.png (0x22222222); see cl print --html]",
                     "[graph of /curve.tsv: exp3 (0x33333333); see cl print --html]",
                     "-> worksheet other: Other (0xcdcdcdcd)", "[something is off]"):
        assert expected in shown, expected
    assert "**bold**" not in shown, "Markdown is rendered on a terminal"
    plain = io.StringIO()
    ws_render.print_page(page, plain)
    assert "Some **bold** text." in plain.getvalue() and plain.getvalue().startswith("== My page  (version 3) ==")


def test_long_tables_on_a_terminal_are_laid_out_like_ls():
    from cl.cli import ws_render
    from cl.worksheets import blocks as b
    rows = tuple(b.TableRow(f"{i:064x}", (f"exp{i}", "x" * 60, f"{i / 1000:.3f}")) for i in range(150))
    page = b.Page("ab" * 16, "ws", "", "c" * 64, None, "me", 0, (b.Table(("name", "command", "error"), rows),))
    term = _Terminal()
    ws_render.print_page(page, term)
    lines = re.sub(r"\x1b\[[0-9;]*m", "", term.getvalue()).splitlines()
    assert lines[1].split() == ["name", "command", "error"]
    assert lines[2].split() == ["exp0", "x" * 60, "0.000"], "a long row is not wrapped"
    assert lines[-1].split() == ["exp149", "x" * 60, "0.149"]
