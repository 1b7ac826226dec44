"""What a worksheet shows, as plain frozen values: the output of
interpretation (cl/worksheets/interpret.py) and the input of the terminal
(cl/cli/ws_render.py) and HTML (cl/worksheets/html.py) renderers."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Markup:
    text: str                       # Markdown, lines joined by "\n"


@dataclass(frozen=True)
class TableRow:
    bundle: str
    cells: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    headers: tuple[str, ...]
    rows: tuple[TableRow, ...]


@dataclass(frozen=True)
class Record:
    bundle: str
    name: str
    rows: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Inline:
    bundle: str
    name: str
    genpath: str
    value: str


@dataclass(frozen=True)
class FileView:
    """`contents`, `image` and `html` modes: a file of a bundle.  `lines`
    for contents (a directory lists its entries), `data` for image/html
    (loaded only when the renderer embeds it)."""

    mode: str                       # contents | image | html
    bundle: str
    name: str
    genpath: str
    lines: tuple[str, ...] = ()
    truncated: bool = False
    data: bytes | None = None
    mime: str = ""
    width: int | None = None
    height: int | None = None
    error: str | None = None


@dataclass(frozen=True)
class Series:
    label: str
    xs: tuple[float, ...]
    ys: tuple[float, ...]


@dataclass(frozen=True)
class Graph:
    genpath: str
    bundles: tuple[tuple[str, str], ...]        # (id, name) of each plotted bundle
    series: tuple[Series, ...] = ()
    xlabel: str = ""
    ylabel: str = ""
    title: str = ""
    error: str | None = None


@dataclass(frozen=True)
class Link:
    bundle: str
    name: str
    text: str


@dataclass(frozen=True)
class WorksheetLink:
    worksheet: str
    name: str
    title: str


@dataclass(frozen=True)
class Problem:
    """Something the worksheet asks for that cannot be shown (a search that
    fails, a stored directive that no longer reads)."""

    message: str


Block = Markup | Table | Record | Inline | FileView | Graph | Link | WorksheetLink | Problem


@dataclass(frozen=True)
class Page:
    worksheet: str
    name: str
    title: str
    commit: str
    version: int | None             # set when an older version is shown
    author: str
    time: int
    blocks: tuple[Block, ...]
