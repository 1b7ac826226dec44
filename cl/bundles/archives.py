"""Unpacking uploaded archives (.tar, .tar.gz, .tgz, .zip) safely: a member
that is absolute, climbs out with `..`, or is a link pointing outside is
refused before anything is extracted.  The archive modules are imported
by unpack(): every upload asks archive_suffix(), few unpack."""

import os
import posixpath

from cl.errors import InputError

SUFFIXES = (".tar.gz", ".tgz", ".tar.bz2", ".tar.xz", ".tar", ".zip")
_TAR_MODES = {".tar.gz": "r:gz", ".tgz": "r:gz", ".tar.bz2": "r:bz2", ".tar.xz": "r:xz",
              ".tar": "r:*"}  # a .tar may still be compressed


def archive_suffix(path: str) -> str | None:
    lower = path.lower()
    for suffix in SUFFIXES:
        if lower.endswith(suffix) and os.path.isfile(path):
            return suffix
    return None


def _check_member(archive: str, name: str) -> None:
    normal = posixpath.normpath(name)
    if name.startswith("/") or normal == ".." or normal.startswith("../"):
        raise InputError(f"unsafe member in archive '{archive}': '{name}'")


def unpack(path: str, dest: str) -> None:
    """Extract into the empty directory `dest`."""
    import gzip
    import lzma
    import tarfile
    import zipfile
    import zlib

    suffix = archive_suffix(path)
    try:
        if suffix == ".zip":
            with zipfile.ZipFile(path) as z:
                infos = z.infolist()
                for info in infos:
                    _check_member(path, info.filename)
                for info in infos:
                    target = z.extract(info, dest)
                    perm = (info.external_attr >> 16) & 0o777
                    if perm and not info.is_dir():
                        os.chmod(target, perm)
        else:
            with tarfile.open(path, _TAR_MODES[suffix]) as t:
                members = t.getmembers()
                for m in members:
                    _check_member(path, m.name)
                    if m.issym() or m.islnk():
                        link = m.linkname if m.islnk() else posixpath.join(posixpath.dirname(m.name), m.linkname)
                        _check_member(path, link)
                t.extractall(dest, members=members, filter="data")
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, zlib.error, gzip.BadGzipFile,
            lzma.LZMAError) as exc:
        # One line: tarfile's messages can list every method it tried.
        reason = str(exc).strip().splitlines()[0].rstrip(":") if str(exc).strip() else type(exc).__name__
        raise InputError(f"cannot unpack '{path}': {reason}") from None
