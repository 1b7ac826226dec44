"""The canonical msgpack encoding (docs/format.md, "Canonical encoding")."""

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cl.objects import encoding
from cl.objects.encoding import INT_MAX, INT_MIN, EncodingError

scalars = (st.none() | st.booleans() | st.integers(INT_MIN, INT_MAX) | st.text(max_size=40)
           | st.binary(max_size=40))
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner, max_size=5),
    max_leaves=20,
)
maps = st.dictionaries(st.text(max_size=8), values, max_size=6)
big_maps = st.dictionaries(st.text(max_size=8), values, min_size=2, max_size=6)


def same(a, b) -> bool:
    """Equality that tells True from 1 and str from bytes."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return set(a) == set(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b


@given(maps)
@settings(max_examples=200, deadline=None)
def test_round_trip(value):
    """[F4] decode(encode(x)) == x for every allowed value, types kept."""
    data = encoding.encode(value)
    assert same(encoding.decode(data), value)


@given(maps)
@settings(max_examples=100, deadline=None)
def test_equal_values_equal_bytes_whatever_the_insertion_order(value):
    """[F5] maps are key-sorted, so insertion order never changes the bytes."""
    def reverse(v):
        if isinstance(v, dict):
            return {k: reverse(v[k]) for k in reversed(list(v))}
        if isinstance(v, list):
            return [reverse(x) for x in v]
        return v
    assert encoding.encode(reverse(value)) == encoding.encode(value)


@given(big_maps)
@settings(max_examples=100, deadline=None)
def test_unsorted_maps_are_rejected(value):
    """[F5][F9] the same map with keys in another order is not canonical."""
    ordered = sorted(value)
    data = msgpack.packb({k: value[k] for k in reversed(ordered)}, use_bin_type=True)
    with pytest.raises(ValueError, match="canonical"):
        encoding.decode(data)


@given(maps, st.binary(min_size=1, max_size=8))
@settings(max_examples=100, deadline=None)
def test_trailing_bytes_are_rejected(value, extra):
    """[F8] one value and nothing after it."""
    with pytest.raises(ValueError):
        encoding.decode(encoding.encode(value) + extra)


@given(st.integers(INT_MIN, INT_MAX))
@settings(max_examples=200, deadline=None)
def test_integers_are_minimal(n):
    """[F6] integers use the shortest msgpack form, and only that form decodes."""
    data = encoding.encode({"n": n})
    assert data == msgpack.packb({"n": n})
    assert len(data) - 3 == _minimal_int_size(n)
    for wider in _wider_forms(n):
        with pytest.raises(ValueError):
            encoding.decode(b"\x81\xa1n" + wider)


def _minimal_int_size(n):
    if -32 <= n <= 127:
        return 1
    if 0 <= n <= 0xFF or -0x80 <= n < 0:
        return 2
    if 0 <= n <= 0xFFFF or -0x8000 <= n < 0:
        return 3
    if 0 <= n <= 0xFFFFFFFF or -0x80000000 <= n < 0:
        return 5
    return 9


def _wider_forms(n):
    """Valid msgpack for n that is longer than the minimal form."""
    forms = []
    if n >= 0:
        for tag, size in ((0xCC, 1), (0xCD, 2), (0xCE, 4), (0xCF, 8)):
            if n < 1 << (8 * size):
                forms.append(bytes([tag]) + n.to_bytes(size, "big"))
    if n < 1 << 63:
        for tag, size in ((0xD0, 1), (0xD1, 2), (0xD2, 4), (0xD3, 8)):
            if -(1 << (8 * size - 1)) <= n < 1 << (8 * size - 1):
                forms.append(bytes([tag]) + n.to_bytes(size, "big", signed=True))
    minimal = msgpack.packb(n)
    return [f for f in forms if f != minimal]


@pytest.mark.parametrize("value", [1.0, 0.5, float("nan"), {"x": [1, 2.5]}])
def test_floats_are_refused(value):
    """[F7] no floats in hashed objects."""
    with pytest.raises(EncodingError, match="float"):
        encoding.encode({"a": value})


ROWS = [["a", 1, b"x", None], ["b", 2, b"y", True]] * 50


@pytest.mark.parametrize("bad,named", [
    (2.5, "float"), (msgpack.ExtType(1, b"x"), "cannot"), ({"b": 1, "a": 2}, "out of order"),
    ({1: "x"}, "map key"), ([[1.5]], "float"),
])
@pytest.mark.parametrize("where", ["row", "list", "map"])
def test_decode_finds_what_a_walk_must_find_deep_inside(bad, named, where):
    """[F4] [F5] [F7] msgpack that re-encodes to itself and still is not
    canonical is refused wherever it hides: inside one row of a list of
    rows (a tree's entries), among a list's scalars, among a map's values."""
    rows = [list(r) for r in ROWS]
    value = {"rows": rows}
    if where == "row":
        rows[70][2] = bad
    elif where == "list":
        value["rows"] = [1, "x", bad, b"y"]
    else:
        value = {"a": 1, "b": bad}
    data = msgpack.packb(value, use_bin_type=True)
    with pytest.raises(ValueError, match=named):
        encoding.decode(data)
    assert encoding.decode(msgpack.packb({"rows": ROWS}, use_bin_type=True)) == {"rows": ROWS}


@pytest.mark.parametrize("value", [INT_MAX + 1, INT_MIN - 1, 1 << 100])
def test_out_of_range_integers_are_refused(value):
    """[F6] integers fit 64 bits; larger ones are an EncodingError, not a crash."""
    with pytest.raises(EncodingError, match="out of range"):
        encoding.encode({"a": value})


@pytest.mark.parametrize("bad,named", [
    (INT_MAX + 1, "out of range: 18446744073709551616"), (INT_MIN - 1, "out of range"),
    (2.5, "float"), (object(), "cannot encode object"), ({"b": 1.5}, "float"), ({1: "x"}, "map key")])
@pytest.mark.parametrize("where", ["row", "list"])
def test_encode_finds_what_it_must_refuse_in_a_list_it_takes_whole(bad, named, where):
    """[F6] [F7] A list of scalars, or of rows of them (a tree's entries),
    goes to msgpack as it is after a check of its types in C; an integer
    past 64 bits, a float or anything else among them is still refused
    and named."""
    rows = [list(r) for r in ROWS]
    value = {"rows": rows}
    if where == "row":
        rows[70][2] = bad
    else:
        value["rows"] = [1, "x", bad, b"y"]
    with pytest.raises(EncodingError, match=named):
        encoding.encode(value)


def test_a_list_taken_whole_encodes_as_one_walked():
    """Rows of scalars, ids among them and as tuples, give the bytes the
    element-by-element walk gives."""
    from cl.objects.ids import hash_bytes

    rows = [(f"f{i}", 0o100644, i << 40, hash_bytes(b"%d" % i)) for i in range(300)] + [["x", True, None, b"y"]]
    walked = msgpack.packb({"rows": [[str(v) if isinstance(v, str) else v for v in r] for r in rows]},
                           use_bin_type=True)
    assert encoding.encode({"rows": rows}) == walked
    assert encoding.decode(walked) == {"rows": [list(r) for r in rows]}


@pytest.mark.parametrize("value", [{1: "x"}, {b"k": 1}, {"a": {None: 1}}, {"a": object()},
                                   {"a": {1, 2}}, {"a": bytearray(b"x")}])
def test_other_values_are_refused(value):
    """[F4] map keys are text; only the listed value types encode."""
    with pytest.raises(EncodingError):
        encoding.encode(value)


def test_text_is_str_and_bytes_are_bin():
    """[F4] str is a msgpack str (0xa0..), bytes a msgpack bin (0xc4..)."""
    assert encoding.encode({"a": "x"}) == b"\x81\xa1a\xa1x"
    assert encoding.encode({"a": b"x"}) == b"\x81\xa1a\xc4\x01x"
    assert encoding.decode(b"\x81\xa1a\xc4\x01x") == {"a": b"x"}


def test_tuples_encode_as_lists():
    assert encoding.encode({"a": (1, 2)}) == encoding.encode({"a": [1, 2]})


def test_keys_sort_by_code_point():
    """[F5] key order is by UTF-8 bytes, i.e. by code point, not by locale."""
    data = encoding.encode({"é": 1, "z": 2, "Z": 3, "\U0001F600": 4, "\uffff": 5})
    keys = list(msgpack.unpackb(data, raw=True))
    assert keys == sorted(keys)
    assert keys == [k.encode() for k in ["Z", "z", "é", "\uffff", "\U0001F600"]]
