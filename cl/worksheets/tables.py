"""Typed tables: a worksheet's bundles under a schema as values a program
can compute with, for the Python API (`Worksheet.table`).

The page (cl/worksheets/interpret.py) shows each cell as text, through
the field's post-processor.  Here a cell is the genpath's value itself:
numbers stay numbers (a number read from a file becomes an int or float),
the time fields (`created`, `updated`, `started`, `finished`) and fields
whose post-processor is `date` become timezone-aware datetimes, and
`duration`, `size`, printf and slice post-processors, which only format,
are not applied.  A missing value is None."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from cl.errors import CLError
from cl.objects.types import Worksheet
from cl.repo import Repository
from cl.worksheets.genpaths import Reader
from cl.worksheets.items import read_directive
from cl.worksheets.markup import Directive
from cl.worksheets.schemas import Field, SchemaSet
from cl.worksheets.structured import scalar

TIME_FIELDS = frozenset(("created", "updated", "started", "finished"))


@dataclass(frozen=True)
class TypedRow:
    bundle: str
    values: tuple[Any, ...]


@dataclass(frozen=True)
class TypedTable:
    headers: tuple[str, ...]
    rows: tuple[TypedRow, ...]


def schemas(ws: Worksheet) -> SchemaSet:
    """The built-in schemas and those the worksheet's directives define
    (a bad directive is left out, as the page shows it as a problem)."""
    found = SchemaSet()
    for item in ws.items:
        if item.kind != "directive":
            continue
        try:
            d = read_directive(item.value)
            if isinstance(d, Directive):
                found.apply(d.name, d.args)
        except CLError:  # the page names it as a problem; a table leaves it out
            continue
    return found


def table(repo: Repository, ws: Worksheet, schema_names: tuple[str, ...] = ()) -> TypedTable:
    """The worksheet's bundles (in order, each once) under the named
    schemas (default: `default`); InputError for an unknown schema."""
    fields = schemas(ws).fields(schema_names or ("default",))
    bids = list(dict.fromkeys(i.value for i in ws.items if i.kind == "bundle"))
    reader = Reader(repo)
    reader.preload(bids)
    rows = tuple(TypedRow(bid, tuple(typed_value(reader, bid, f) for f in fields))
                 for bid in bids if reader.row(bid) is not None)
    return TypedTable(tuple(f.key for f in fields), rows)


def typed_value(reader: Reader, bid: str, f: Field) -> Any:
    value = reader.value(bid, f.genpath)
    if value is None:
        return None
    is_time = (not f.genpath.is_file and f.genpath.field in TIME_FIELDS) or \
        any(step.kind == "date" for step in f.post)
    if isinstance(value, str) and f.genpath.is_file and f.genpath.key is None:
        value = scalar(value)
    if is_time and isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime.datetime.fromtimestamp(value, datetime.timezone.utc).astimezone()
    return value
