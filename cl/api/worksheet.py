"""`cl.Worksheet` and `cl.Table`: a worksheet of an open repository, and
its bundles as a table of typed values."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cl.app import worksheets as app_ws

if TYPE_CHECKING:
    from cl.api.bundle import Bundle
    from cl.app.repository import Repository as _Repo


@dataclass(frozen=True)
class Item:
    """One item of a worksheet: kind is markup, directive, bundle or
    worksheet; value is the text, or the `0x…` id of the bundle or worksheet."""
    kind: str
    value: str


@dataclass(frozen=True)
class Table:
    """Rows of typed values: numbers are numbers, times are datetimes, a
    missing value is None (cl/worksheets/tables.py says which post-processors
    apply).  `bundles[i]` is the id of row i's bundle."""
    headers: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]
    bundles: tuple[str, ...]

    def records(self) -> list[dict[str, Any]]:
        """Each row as {header: value} (a repeated header keeps its last value)."""
        return [dict(zip(self.headers, row)) for row in self.rows]

    def column(self, header: str) -> list[Any]:
        """The values of one column, row by row."""
        i = self.headers.index(header)
        return [row[i] for row in self.rows]

    def to_pandas(self) -> Any:
        """A pandas DataFrame indexed by bundle id (pandas is optional: an
        ImportError says it is missing)."""
        import importlib
        pandas = importlib.import_module("pandas")
        return pandas.DataFrame(list(self.rows), columns=list(self.headers),
                                index=pandas.Index(list(self.bundles), name="bundle"))

    def __len__(self) -> int:
        return len(self.rows)

    def _repr_html_(self) -> str:
        return app_ws.table_html(self.headers, ((bid[2:], row) for bid, row in zip(self.bundles, self.rows)))


class Worksheet:
    """A worksheet: its items, text and tables, read at each access."""

    def __init__(self, repo: _Repo, wid: str) -> None:
        self._repo = repo
        self.hex = wid

    @property
    def id(self) -> str:
        """`0x` and the worksheet's 32 hex digits."""
        return "0x" + self.hex

    @property
    def name(self) -> str:
        """The worksheet's name now."""
        return app_ws.name_title(self._repo, self.id)[0]

    @property
    def title(self) -> str:
        """The worksheet's title now."""
        return app_ws.name_title(self._repo, self.id)[1]

    @property
    def items(self) -> list[Item]:
        """The items of the latest version, in order."""
        return [Item(kind, "0x" + value if kind in ("bundle", "worksheet") else value)
                for kind, value in app_ws.items(self._repo, self.id)]

    @property
    def text(self) -> str:
        """The text form `cl wedit` edits."""
        return app_ws.text(self._repo, self.id)

    def bundles(self) -> list[Bundle]:
        """The bundles on the worksheet, in order, each once."""
        from cl.api.bundle import handle
        seen = dict.fromkeys(i.value[2:] for i in self.items if i.kind == "bundle")
        return [handle(self._repo, bid) for bid in seen]

    def add(self, *bundles: str | Bundle, text: str | None = None) -> None:
        """Append text (Markdown; a `%` line is a directive) and bundles."""
        app_ws.add(self._repo, self.id, texts=[text] if text is not None else [],
                   bundles=[b if isinstance(b, str) else b.id for b in bundles])

    def table(self, schema: str | Sequence[str] = "default") -> Table:
        """The worksheet's bundles under a schema (a built-in one or one the
        worksheet defines with `% schema`), as typed values."""
        names = [schema] if isinstance(schema, str) else list(schema)
        t = app_ws.table(self._repo, self.id, names)
        return Table(t.headers, tuple(r.values for r in t.rows), tuple("0x" + r.bundle for r in t.rows))

    def html(self) -> str:
        """The worksheet as one self-contained HTML page (`cl print --html`)."""
        return app_ws.html(self._repo, self.id)

    def __repr__(self) -> str:
        return f"<cl.Worksheet {self.name} 0x{self.hex[:8]}>"

    def _repr_html_(self) -> str:
        return app_ws.render_html(app_ws.page(self._repo, self.id, embed=True), fragment=True)
