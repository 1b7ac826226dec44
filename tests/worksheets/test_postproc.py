import time

import pytest

from cl.errors import InputError
from cl.bundles import postproc


def run(chain, value):
    return postproc.apply(postproc.parse(chain), value)


@pytest.mark.parametrize("chain, value, expected", [
    ("%.3f", 0.123456, "0.123"),
    ("%.3f", "0.5", "0.500"),
    ("%d", 3.9, "3"),
    ("%s!", "hi", "hi!"),
    ("%.2f", "not a number", "not a number"),
    ("duration", 4.25, "4.2s"),
    ("duration", 185, "3m5s"),
    ("duration", 7800, "2h10m"),
    ("duration", 3 * 86400 + 4 * 3600, "3d4h"),
    ("size", 532, "532"),
    ("size", 1536, "1.5k"),
    ("size", 20 * 1024 * 1024, "20m"),
    ("s/-method//", "fast-method", "fast"),
    ("s/a/b", "banana", "bbnbnb"),
    (r"s/x\/y/z/", "ax/yb", "azb"),
    ("[0:5]", "abcdefgh", "abcde"),
    ("[2:]", "abcdef", "cdef"),
    ("[:-2]", "abcdef", "abcd"),
    ("s/-method// | [0:5]", "simple-method-more", "simplemore"[:5]),
    ("%.1f | s/\\./,/", 2.25, "2,2"),
    ("", "x", "x"),
])
def test_chains(chain, value, expected):
    assert run(chain, value) == expected


def test_none_stays_none():
    assert run("%.3f | [0:2]", None) is None


def test_date_is_local_time():
    t = 1_700_000_000
    assert run("date", t) == time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t))


@pytest.mark.parametrize("bad", ["bogus", "%.3q", "s/(/x/", "s/a", "[a:b]", "duration | nope"])
def test_bad_chains_are_refused(bad):
    with pytest.raises(InputError):
        postproc.parse(bad)
