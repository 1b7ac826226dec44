"""Reading a byte range of a bundle file (cl/server/rest/files.py), RFC 9110 §14."""

import pytest

from cl.server.rest.files import RangeNotSatisfiable, content_type, parse_range


@pytest.mark.parametrize("header,size,span", [
    (None, 100, None), ("", 100, None),
    ("bytes=0-9", 100, (0, 9)), ("bytes=0-0", 100, (0, 0)), ("bytes=90-", 100, (90, 99)),
    ("bytes=-10", 100, (90, 99)), ("bytes=-1000", 100, (0, 99)), ("bytes=50-5000", 100, (50, 99)),
    ("bytes=5-2", 100, None),            # not a range: ignored, the whole file is sent
    ("bytes=0-1,3-4", 100, None),        # several ranges: the whole file (allowed by the RFC)
    ("items=0-1", 100, None), ("bytes=-", 100, None), ("bytes=a-b", 100, None),
    ("bytes=0-9", None, None),           # a file still being written: no size, no range
])
def test_ranges(header, size, span):
    assert parse_range(header, size) == span


@pytest.mark.parametrize("header,size", [("bytes=100-", 100), ("bytes=100-200", 100), ("bytes=-0", 100),
                                         ("bytes=0-", 0)])
def test_unsatisfiable(header, size):
    with pytest.raises(RangeNotSatisfiable):
        parse_range(header, size)


@pytest.mark.parametrize("name,kind", [("a.txt", "text/plain"), ("page.html", "text/plain; charset=utf-8"),
                                       ("x.svg", "application/octet-stream"), ("p.png", "image/png"),
                                       ("s.js", "text/plain; charset=utf-8"), ("noext", "application/octet-stream")])
def test_no_served_file_is_run_by_a_browser(name, kind):
    assert content_type(name) == kind
