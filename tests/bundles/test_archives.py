"""Uploaded archives are read member by member straight into the store
(cl/bundles/archives.py): nothing is extracted to disk, so nothing can be
written outside, links are stored as links and never followed, devices are
left out and set-id bits never reach a file.  These tests run on every
Python 3.11.x (CI runs them on Debian 12's /usr/bin/python3, 3.11.2, whose
tarfile has no `filter=`), and bound what an archive may expand to."""

import io
import json
import os
import stat
import tarfile
import zipfile

import pytest

from tests.cli.test_errors import one_line_error, snapshot


def _tar(path, members, mode="w"):
    """members: (TarInfo fields..., data) as dicts with `name` and `data`."""
    with tarfile.open(path, mode) as t:
        for spec in members:
            spec = dict(spec)
            data = spec.pop("data", b"")
            info = tarfile.TarInfo(spec.pop("name"))
            for k, v in spec.items():
                setattr(info, k, v)
            info.size = len(data) if info.isreg() else 0
            t.addfile(info, io.BytesIO(data))


def _listing(cl, project, spec):
    rec = json.loads(cl(["info", "-v", "--json", spec], project).stdout)
    return {e["name"]: e for e in rec["listing"] or ()}


def test_absolute_and_dangling_links_upload_as_links(project, cl, tmp_path):
    _tar(project / "links.tar", [
        {"name": "abs", "type": tarfile.SYMTYPE, "linkname": "/etc/passwd"},
        {"name": "dangling", "type": tarfile.SYMTYPE, "linkname": "no/such/file"},
        {"name": "d/out", "type": tarfile.SYMTYPE, "linkname": "../../../outside"},
        {"name": "d/f.txt", "data": b"f\n"},
    ])
    cl(["upload", "links.tar"], project)
    top = _listing(cl, project, "links")
    assert top["abs"]["type"] == "link" and top["dangling"]["type"] == "link"
    out = tmp_path / "dl"
    cl(["download", "links", "-o", out], project)
    assert os.readlink(out / "abs") == "/etc/passwd"
    assert os.readlink(out / "dangling") == "no/such/file"
    assert os.readlink(out / "d" / "out") == "../../../outside"


def test_zip_links_are_links(project, cl, tmp_path):
    with zipfile.ZipFile(project / "z.zip", "w") as z:
        info = zipfile.ZipInfo("l")
        info.create_system = 3
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        z.writestr(info, "/etc/hostname")
        z.writestr("a.txt", "a\n")
    cl(["upload", "z.zip"], project)
    assert _listing(cl, project, "z")["l"]["type"] == "link"
    cl(["download", "z", "-o", tmp_path / "dl"], project)
    assert os.readlink(tmp_path / "dl" / "l") == "/etc/hostname"


def test_hard_links_devices_and_setuid(project, cl, tmp_path):
    _tar(project / "odd.tar", [
        {"name": "tool", "data": b"#!/bin/sh\n", "mode": 0o4755},
        {"name": "again", "type": tarfile.LNKTYPE, "linkname": "tool"},
        {"name": "null", "type": tarfile.CHRTYPE, "devmajor": 1, "devminor": 3},
        {"name": "fifo", "type": tarfile.FIFOTYPE},
    ])
    cl(["upload", "odd.tar"], project)
    top = _listing(cl, project, "odd")
    assert set(top) == {"tool", "again"}  # devices and FIFOs have no representation
    assert top["tool"]["type"] == top["again"]["type"] == "executable"
    cl(["download", "odd", "-o", tmp_path / "dl"], project)
    for name in ("tool", "again"):
        mode = os.stat(tmp_path / "dl" / name).st_mode
        assert not mode & (stat.S_ISUID | stat.S_ISGID) and (tmp_path / "dl" / name).read_bytes() == b"#!/bin/sh\n"


@pytest.mark.parametrize("case", ["up", "abs", "dotdot-link", "missing-link", "empty-zip-name",
                                  "file-then-dir"])
def test_refused_archives_change_nothing(project, cl, case):
    name = {"empty-zip-name": "e.zip"}.get(case, "x.tar")
    path = project / name
    if case == "up":
        _tar(path, [{"name": "ok", "data": b"1"}, {"name": "a/../../escaped", "data": b"x"}])
    elif case == "abs":
        _tar(path, [{"name": "ok", "data": b"1"}, {"name": "/tmp/cl-abs", "data": b"x"}])
    elif case == "dotdot-link":
        _tar(path, [{"name": "ok", "data": b"1"},
                    {"name": "h", "type": tarfile.LNKTYPE, "linkname": "../../etc/passwd"}])
    elif case == "missing-link":
        _tar(path, [{"name": "ok", "data": b"1"},
                    {"name": "h", "type": tarfile.LNKTYPE, "linkname": "nosuch"}])
    elif case == "file-then-dir":
        _tar(path, [{"name": "ok", "data": b"1"}, {"name": "a", "data": b"1"},
                    {"name": "a/b", "data": b"2"}])
    else:
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("ok.txt", "fine")
            z.writestr(zipfile.ZipInfo(""), "x")
    before = snapshot(project)
    line = one_line_error(cl(["upload", name], project, check=False))
    assert name in line
    assert snapshot(project) == before


def test_zip_bomb_is_refused_naming_the_setting(project, cl):
    with zipfile.ZipFile(project / "bomb.zip", "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("zeros", bytes(100 << 20))  # 100 MiB in ~100 KiB
    assert os.path.getsize(project / "bomb.zip") < (1 << 20)
    before = snapshot(project)
    line = one_line_error(cl(["upload", "bomb.zip"], project, check=False))
    assert "upload.max_expansion" in line
    assert snapshot(project) == before
    cl(["config", "upload.max_expansion", "100000"], project)
    cl(["upload", "bomb.zip"], project)


def test_gzip_bomb_and_the_absolute_limit(project, cl):
    _tar(project / "bomb.tar.gz", [{"name": "zeros", "data": bytes(100 << 20)}], "w:gz")
    before = snapshot(project)
    assert "upload.max_expansion" in one_line_error(cl(["upload", "bomb.tar.gz"], project, check=False))
    assert snapshot(project) == before
    cl(["config", "upload.max_expansion", "0"], project)  # no ratio
    cl(["config", "upload.max_unpacked_bytes", str(1 << 20)], project)
    assert "upload.max_unpacked_bytes" in one_line_error(cl(["upload", "bomb.tar.gz"], project, check=False))
    cl(["config", "upload.max_unpacked_bytes", "0"], project)  # no limit at all
    cl(["upload", "bomb.tar.gz"], project)


def test_a_small_archive_of_compressible_data_is_fine(project, cl):
    """The ratio applies beyond a floor: a 10 KiB .tar.gz of 1 MiB of zeros
    is no bomb."""
    _tar(project / "small.tar.gz", [{"name": "zeros", "data": bytes(1 << 20)}], "w:gz")
    cl(["upload", "small.tar.gz"], project)


def test_zip_names_without_the_utf8_flag_keep_their_bytes(project, cl, tmp_path):
    """A zip from a Unix zip tool stores names as raw bytes without the
    UTF-8 flag: UTF-8 bytes give that name, other bytes are kept as they
    are ([F20]), not read as cp437."""
    with zipfile.ZipFile(project / "raw.zip", "w") as z:
        z.writestr("cafX.txt", "latin\n")
        z.writestr("utfXX.txt", "utf\n")
    data = (project / "raw.zip").read_bytes()
    data = data.replace(b"cafX.txt", b"caf\xe9.txt").replace(b"utfXX.txt", "utf\u00e9.txt".encode())
    (project / "raw.zip").write_bytes(data)
    cl(["upload", "raw.zip"], project)
    cl(["download", "raw", "-o", tmp_path / "dl"], project)
    assert sorted(os.listdir(os.fsencode(tmp_path / "dl"))) == [b"caf\xe9.txt", "utf\u00e9.txt".encode()]
