"""Answering a file read: the whole file, or one byte range of it
(RFC 9110 §14: `Range: bytes=A-B`, `bytes=A-`, `bytes=-N`).  A range
header that is not one such range is ignored (the whole file is sent, as
the RFC allows); a range past the end is answered 416.

Bundle files are other people's data: they are sent with a content type
that no browser runs (text, images, or octet-stream), `nosniff`, and a
sandboxing Content-Security-Policy, so a file can never act as a page of
the server."""

from __future__ import annotations

import mimetypes
import re

from cl.errors import CLError

CHUNK = 1 << 16
SAFE_TYPES = {"text/plain", "text/csv", "text/tab-separated-values", "application/json", "image/png",
              "image/jpeg", "image/gif", "image/webp", "application/pdf"}
_RANGE = re.compile(r"bytes=(\d{0,19})-(\d{0,19})\Z")


class RangeNotSatisfiable(CLError):
    """The range asked for lies past the end of the file."""


def parse_range(header: str | None, size: int | None) -> tuple[int, int] | None:
    """(first, last) byte of a single range, or None for the whole file."""
    if not header or size is None:
        return None
    m = _RANGE.match(header.strip())
    if m is None or (not m.group(1) and not m.group(2)):
        return None
    if not m.group(1):  # the last N bytes
        n = int(m.group(2))
        if n == 0:
            raise RangeNotSatisfiable("an empty suffix range")
        return max(0, size - n), size - 1
    first = int(m.group(1))
    last = int(m.group(2)) if m.group(2) else size - 1
    if m.group(2) and last < first:
        return None  # not a valid range: ignored
    if first >= size:
        raise RangeNotSatisfiable(f"the file has {size} bytes")
    return first, min(last, size - 1)


def content_type(name: str) -> str:
    guessed = mimetypes.guess_type(name)[0] or ""
    if guessed.startswith("text/") and guessed not in SAFE_TYPES:
        return "text/plain; charset=utf-8"
    return guessed if guessed in SAFE_TYPES else "application/octet-stream"


def _chunks(f, start: int, length: int | None):
    try:
        if start:
            if f.seekable():
                f.seek(start)
            else:
                skip = start
                while skip:
                    got = f.read(min(CHUNK, skip))
                    if not got:
                        break
                    skip -= len(got)
        while length is None or length > 0:
            data = f.read(CHUNK if length is None else min(CHUNK, length))
            if not data:
                break
            if length is not None:
                length -= len(data)
            yield data
    finally:
        f.close()


def file_response(f, size: int | None, name: str, range_header: str | None):
    from starlette.responses import JSONResponse, StreamingResponse
    headers = {"accept-ranges": "bytes", "x-content-type-options": "nosniff",
               "content-security-policy": "sandbox; default-src 'none'"}
    try:
        span = parse_range(range_header, size)
    except RangeNotSatisfiable as exc:
        f.close()
        return JSONResponse({"error": f"range not satisfiable: {exc.message}"}, 416,
                            headers={**headers, "content-range": f"bytes */{size}"})
    kind = content_type(name.rsplit("/", 1)[-1])
    if span is None:
        if size is not None:
            headers["content-length"] = str(size)
        return StreamingResponse(_chunks(f, 0, None), 200, headers=headers, media_type=kind)
    first, last = span
    headers.update({"content-range": f"bytes {first}-{last}/{size}", "content-length": str(last - first + 1)})
    return StreamingResponse(_chunks(f, first, last - first + 1), 206, headers=headers, media_type=kind)
