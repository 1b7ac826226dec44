"""URL sources of `cl upload`, as CodaLab's: `cl upload https://host/f.tar.gz`
fetches one file (an archive is unpacked unless --pack) and `cl upload
--git URL` clones a git repository (its `.git` kept, as CodaLab keeps it).

A URL comes from somewhere we do not control, so what a server can make us
do is bounded:
- only http and https are fetched (git may also clone git://, ssh:// and
  file:// URLs, which the user typed: a server's redirect never leaves
  http(s), git's own rule);
- at most MAX_REDIRECTS redirects, each to http or https again;
- at most `upload.max_url_size` bytes (default DEFAULT_MAX): refused from
  the Content-Length before anything is read, and counted while reading,
  so a server that lies about the length is cut off too; a clone is
  measured when git is done;
- a read silent for TIMEOUT seconds gives up;
- the fetched file lives under `.codalab/tmp/` and is removed afterwards;
  archives go through cl/bundles/archives.py's checks like any other.

`progress` here is a Tick callback (cl/objects/progress.py), as a transfer's."""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING, Callable

from cl.errors import CLError, InputError

if TYPE_CHECKING:
    from cl.objects.types import Contents
    from cl.repo import Repository

FETCHED = ("http", "https")
CLONED = ("http", "https", "git", "ssh", "file")
MAX_REDIRECTS = 5
TIMEOUT = 60.0
DEFAULT_MAX = 64 << 30
CHUNK = 1 << 20
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://")


def scheme(text: str) -> str | None:
    """The scheme of a URL (`https`), or None when `text` is a path.
    Anything that starts SCHEME:// is a URL, as CodaLab takes it."""
    m = _SCHEME.match(text)
    return m.group(1).lower() if m else None


def is_url(text: str) -> bool:
    return scheme(text) is not None


def check_sources(paths: tuple[str, ...], clone: bool) -> bool:
    """Whether this upload is of a URL (InputError when URLs are mixed
    with paths, or more than one, or of a scheme that is not fetched)."""
    urls = [p for p in paths if is_url(p)]
    if not urls:
        return False
    if len(urls) != len(paths):
        raise InputError("URLs and local files cannot be uploaded in the same bundle")
    if len(urls) > 1:
        raise InputError("only one URL can be uploaded at a time")
    allowed = CLONED if clone else FETCHED
    if scheme(urls[0]) not in allowed:
        names = ", ".join(allowed[:-1]) + " and " + allowed[-1]
        raise InputError(f"cannot upload '{urls[0]}': only {names} URLs "
                         + ("can be cloned" if clone else "are fetched (git repositories: --git)"))
    return True


def file_name(url: str, clone: bool) -> str:
    """The name CodaLab gives what a URL holds: the last part of its path,
    without the query (and without `.git` for a clone); the host when the
    path has none."""
    from urllib.parse import unquote, urlsplit

    parts = urlsplit(url)
    last = unquote(parts.path).rstrip("/").rsplit("/", 1)[-1]
    if clone and last.endswith(".git"):
        last = last[:-len(".git")]
    if last in ("", ".", ".."):
        last = parts.hostname or "download"
    return last.replace("\x00", "")


def max_size(repo: Repository) -> int:
    from cl.bundles.units import parse_size
    value = repo.config.get("upload", "max_url_size")
    return DEFAULT_MAX if value is None else parse_size(value)


def ingest_url(repo: Repository, url: str, *, clone: bool, pack: bool,
               progress: Callable | None = None) -> tuple[Contents, dict, str]:
    """Fetch or clone `url` and store it; returns (contents, source, the
    file name the bundle's default name comes from)."""
    import tempfile  # this module is imported by every upload, used by few

    from cl.bundles import archives
    from cl.objects.checkout import remove_tree
    from cl.objects.ingest import IngestOptions, ingest_path
    name = file_name(url, clone)
    os.makedirs(repo.path("tmp"), exist_ok=True)
    scratch = tempfile.mkdtemp(prefix="url-", dir=repo.path("tmp"))
    try:
        where = os.path.join(scratch, name)
        limit = max_size(repo)
        if clone:
            _clone(url, where, limit)
            from cl.bundles.gitsource import describe
            return ingest_path(repo.store, where, IngestOptions()), {"url": url, "git": describe(where)}, name
        _fetch(url, where, limit, progress)
        if not pack and archives.archive_suffix(where):
            limits = archives.Limits(repo.config.get("upload", "max_expansion"),
                                     repo.config.get("upload", "max_unpacked_bytes"))
            contents = archives.ingest_archive(repo.store, where, limits)
            return contents, {"url": url}, name[: -len(archives.archive_suffix(where))]
        return ingest_path(repo.store, where, IngestOptions()), {"url": url}, name
    finally:
        remove_tree(scratch)  # our own scratch directory (a clone's read-only files too)


# --- http(s) -------------------------------------------------------------------


def _opener():
    import urllib.request

    class Redirects(urllib.request.HTTPRedirectHandler):
        max_redirections = MAX_REDIRECTS
        max_repeats = 2

        def http_error_302(self, req, fp, code, msg, headers):
            from urllib.parse import urljoin
            where = headers.get("location") or headers.get("uri")
            if where and scheme(urljoin(req.full_url, where)) not in FETCHED:
                raise InputError(f"'{req.full_url}' redirects to '{where}': only http and https are followed")
            return super().http_error_302(req, fp, code, msg, headers)

        http_error_301 = http_error_303 = http_error_307 = http_error_308 = http_error_302

    return urllib.request.build_opener(Redirects())


def _fetch(url: str, dest: str, limit: int, progress: Callable | None) -> None:
    import http.client
    import urllib.error

    from cl.objects.progress import meter

    try:
        done, total = 0, None
        with _opener().open(url, timeout=TIMEOUT) as response:
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            if total is not None and total > limit:
                raise _too_large(url, limit)
            m = meter(progress)
            if m is not None:
                m.start("downloading", 1, total)
            with open(dest, "xb") as out:
                while chunk := response.read(CHUNK):
                    done += len(chunk)
                    if done > limit:
                        raise _too_large(url, limit)
                    out.write(chunk)
                    if m is not None:
                        m.add(nbytes=len(chunk))
            if total is not None and done != total:  # http.client takes a short body for the end
                raise InputError(f"cannot fetch '{url}': the server sent {done} of the {total} bytes it announced")
            if m is not None:
                m.add(objects=1)
                m.finish()
    except urllib.error.HTTPError as exc:
        if exc.code in (301, 302, 303, 307, 308) and "infinite loop" in str(exc.reason):
            raise InputError(f"cannot fetch '{url}': more than {MAX_REDIRECTS} redirects") from None
        raise InputError(f"cannot fetch '{url}': HTTP {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        raise InputError(f"cannot fetch '{url}': {exc.reason}") from None
    except http.client.IncompleteRead as exc:
        raise InputError(f"cannot fetch '{url}': the server sent {done + len(exc.partial)} of the "
                         f"{total} bytes it announced") from None
    except (OSError, ValueError, http.client.HTTPException) as exc:  # a reset, a timeout, a malformed answer
        raise InputError(f"cannot fetch '{url}': {exc or type(exc).__name__}") from None


def _too_large(url: str, limit: int) -> InputError:
    from cl.bundles.units import format_size
    return InputError(f"'{url}' is larger than {format_size(limit)} (setting upload.max_url_size)",
                      hint="raise it: cl config upload.max_url_size 200g")


# --- git -----------------------------------------------------------------------


_DUMB = "dumb http transport does not support shallow"


def _clone(url: str, dest: str, limit: int) -> None:
    """`git clone --depth 1` (CodaLab's clone), without prompts, with no
    transport but CLONED, and giving up on a server that stalls.  A
    server of git's "dumb" http protocol (plain files) cannot send a
    shallow history: from one, the whole history is cloned."""
    import shutil

    from cl.objects.checkout import remove_tree
    git = shutil.which("git")
    if git is None:
        raise CLError("cl upload --git needs the git program on PATH")
    done = _git_clone(git, url, dest, shallow=True)
    if done.returncode != 0 and _DUMB in done.stderr:
        remove_tree(dest)  # what the failed clone left in our scratch directory
        done = _git_clone(git, url, dest, shallow=False)
    if done.returncode != 0:
        lines = [line.strip() for line in done.stderr.splitlines() if line.strip()]
        said = next((line for line in lines if line.startswith(("fatal:", "error:"))), lines[0] if lines else "")
        said = said.split(":", 1)[1].strip() if said.startswith(("fatal:", "error:")) else said
        raise InputError(f"cannot clone '{url}': " + (said or f"git exited {done.returncode}"))
    from cl.bundles.upload import total_size
    if total_size([dest]) > limit:
        raise _too_large(url, limit)


def _git_clone(git: str, url: str, dest: str, shallow: bool):
    import subprocess

    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_ALLOW_PROTOCOL": ":".join(CLONED)}
    cmd = [git, "-c", "http.lowSpeedLimit=1", "-c", f"http.lowSpeedTime={int(TIMEOUT)}",
           "-c", "http.followRedirects=initial", "clone", "--quiet", "--no-recurse-submodules",
           *(["--depth", "1"] if shallow else []), "--", url, dest]
    return subprocess.run(cmd, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          errors="replace")
