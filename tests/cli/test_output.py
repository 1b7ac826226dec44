"""The plain tables and sizes of cl/cli/output.py, which `cl ls` builds a
column at a time: the same text as padding each cell and stripping each
line, for any cells."""

import io

from hypothesis import given, strategies as st

from cl.cli import output


def reference_table(headers, rows) -> str:
    """Each cell (None as nothing) left-aligned to its column's widest,
    two spaces apart, each line stripped of trailing whitespace."""
    cells = [[str(h) for h in headers]] + [["" if c is None else str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    return "".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() + "\n" for r in cells)


_cell = st.one_of(st.none(), st.integers(-10**6, 10**6),
                  st.text(st.characters(blacklist_categories=("Cs",)), max_size=12),
                  st.sampled_from(["", " ", "a b ", "x\t", "tail\n", "\u3000", "é"]))


@given(st.integers(1, 6).flatmap(lambda n: st.tuples(
    st.lists(st.text(max_size=6), min_size=n, max_size=n),
    st.lists(st.lists(_cell, min_size=n, max_size=n), max_size=8))))
def test_table_is_padded_cells_and_stripped_lines(table):
    headers, rows = table
    out = io.StringIO()
    output.table(headers, rows, out)
    assert out.getvalue() == reference_table(headers, rows)


def test_table_without_headers_prints_empty_lines():
    out = io.StringIO()
    output.table([], [[], []], out)
    assert out.getvalue() == reference_table([], [[], []]) == "\n\n\n"


@given(st.lists(st.one_of(st.none(), st.integers(-2**62, 2**62), st.integers(0, 1023),
                          st.sampled_from([1023, 1024, 1280, 1536, 1048575, 1048576, 5 << 40]))))
def test_sizes_of_a_column_are_each_size(column):
    assert output.sizes(column) == [output.size(n) for n in column]
