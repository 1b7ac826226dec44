"""Files as CodaLab's commands treat them (issue 15), through the real `cl`:
`cl info -f /PATH` reads a file of the bundle, `cl info -v` previews a
one-file bundle (or a run's stdout and stderr), `cl download` of a link is
refused, `cl upload` of a link without -L is refused and with -L stores
what it names, `--pack` keeps an archive given by name packed (and several
paths keep theirs packed without it), `-z` is accepted, and `-l` stores the
bytes and records link_url/link_format."""

import json
import tarfile

from tests.cli.test_errors import one_line_error, snapshot
from tests.conftest import Link, tree


def test_info_f_slash_reads_a_file_of_the_bundle(project, cl):
    tree(project, {"a.txt": "alpha\nbeta\n", "stats.json": '{"train": {"acc": 0.75}}\n',
                   "d": {"x.txt": "x\n", "m.tsv": "loss\t0.5\nepoch\t3\n"}})
    for name in ("a.txt", "stats.json", "d"):
        cl(["upload", name], project)
    assert cl(["info", "-f", "/", "a.txt"], project).stdout == "alpha\nbeta\n"
    assert cl(["info", "-f", "name,/", "a.txt"], project).stdout == "a.txt\talpha\nbeta\n"
    assert cl(["info", "-f", "/:train/acc", "stats.json"], project).stdout == "0.75\n"
    assert cl(["info", "-f", "/x.txt,/m.tsv:epoch", "d"], project).stdout == "x\t3\n"
    # a directory or a missing file: nothing, as CodaLab prints no contents for them
    assert cl(["info", "-f", "/,/nothing,name", "d"], project).stdout == "\t\td\n"


def test_info_v_previews_a_file_a_link_and_a_runs_streams(project, cl):
    lines = "".join(f"line {i}\n" for i in range(1, 31))
    tree(project, {"long.txt": lines, "d": {"stdout": "out 1\nout 2\n", "stderr": "err\n", "other": "o\n"},
                   "l": {"target": Link("../elsewhere")}})
    cl(["upload", "long.txt"], project)
    cl(["upload", "d"], project)
    cl(["upload", "l"], project)
    cl(["make", "l/target", "-n", "alink"], project)
    shown = cl(["info", "-v", "long.txt"], project).stdout
    assert "=== contents preview ===\n" + "".join(f"line {i}\n" for i in range(1, 11)) in shown
    assert "line 11" not in shown
    shown = cl(["info", "-v", "d"], project).stdout
    assert "=== stdout preview ===\nout 1\nout 2\n=== stderr preview ===\nerr\n" in shown
    assert "=== contents preview ===" not in shown
    assert "=== contents preview ===\n -> ../elsewhere\n" in cl(["info", "-v", "alink"], project).stdout
    rec = json.loads(cl(["info", "-v", "--json", "long.txt"], project).stdout)
    assert rec["previews"] == [{"path": "", "text": "".join(f"line {i}\n" for i in range(1, 11))}]
    assert json.loads(cl(["info", "--json", "long.txt"], project).stdout).get("previews") is None


def test_download_of_a_link_is_refused_as_codalab_refuses_it(project, cl):
    tree(project, {"d": {"a.txt": "a\n", "rel": Link("a.txt"), "abs": Link("/etc/hostname")}})
    cl(["upload", "d"], project)
    for path, target in (("d/rel", "a.txt"), ("d/abs", "/etc/hostname")):
        before = snapshot(project)
        line = one_line_error(cl(["download", path, "-o", "out"], project, check=False))
        assert "downloading symbolic links is not allowed" in line and f"link to '{target}'" in line
        assert not (project / "out").exists() and snapshot(project) == before
    cl(["download", "d", "-o", "whole"], project)  # links inside a downloaded directory stay links
    assert (project / "whole" / "rel").is_symlink()


def test_upload_of_a_link_without_L_is_refused_with_L_stores_its_target(project, cl):
    tree(project, {"a.txt": "alpha\n", "d": {"x": "x\n"}, "la": Link("a.txt"), "ld": Link("d"),
                   "dangling": Link("nowhere")})
    before = snapshot(project)
    for name in ("la", "ld/", "dangling"):
        line = one_line_error(cl(["upload", name], project, check=False))
        assert "not following the symbolic link" in line and "-L" in line, line
    assert snapshot(project) == before
    cl(["upload", "-L", "la"], project)
    assert cl(["cat", "la"], project).stdout == "alpha\n"
    cl(["upload", "--follow-symlinks", "ld"], project)
    assert "x" in cl(["cat", "ld"], project).stdout


def _tgz(path, files):
    with tarfile.open(path, "w:gz") as t:
        for name, text in files.items():
            src = path.parent / f"src-{name}"
            src.write_text(text)
            t.add(src, arcname=name)


def test_pack_keeps_an_archive_as_it_is(project, cl):
    _tgz(project / "one.tar.gz", {"in.txt": "inside\n"})
    _tgz(project / "two.tar.gz", {"in2.txt": "inside 2\n"})
    (project / "plain.txt").write_text("p\n")
    cl(["upload", "one.tar.gz"], project)
    assert cl(["cat", "one/in.txt"], project).stdout == "inside\n"
    cl(["upload", "-p", "one.tar.gz"], project)
    assert cl(["info", "-f", "name,data_size", "^"], project).stdout == \
        f"one.tar.gz\t{(project / 'one.tar.gz').stat().st_size}\n"
    # several paths: archives are kept packed, as CodaLab's upload packs them all into one
    cl(["upload", "two.tar.gz", "plain.txt", "-n", "several"], project)
    listing = cl(["cat", "several"], project).stdout
    assert "two.tar.gz" in listing and "plain.txt" in listing and "in2.txt" not in listing


def test_force_compression_is_accepted_and_changes_nothing(project, cl):
    (project / "a.txt").write_text("same\n")
    plain = json.loads(cl(["upload", "a.txt", "--json"], project).stdout)["id"]
    forced = json.loads(cl(["upload", "a.txt", "-z", "--json"], project).stdout)["id"]
    contents = cl(["info", "-f", "data_hash", plain, forced], project).stdout.split()
    assert contents[0] == contents[1]
    cl(["upload", "a.txt", "--force-compression"], project)


def test_link_stores_the_bytes_and_records_the_path(project, cl):
    """CodaLab's -l leaves the data at the path; cl stores it (README,
    "Differences from CodaLab") and records where it came from."""
    (project / "big.txt").write_text("data\n")
    cl(["upload", "-l", "big.txt"], project)
    assert cl(["info", "-f", "link_url,link_format", "^"], project).stdout == f"{project / 'big.txt'}\traw\n"
    (project / "big.txt").write_text("changed later\n")
    assert cl(["cat", "big.txt"], project).stdout == "data\n"  # the bytes as they were
    cl(["upload", "big.txt", "--link-url", "/shared/big.txt", "--link-format", "raw", "-n", "named"], project)
    assert cl(["info", "-f", "link_url", "named"], project).stdout == "/shared/big.txt\n"
