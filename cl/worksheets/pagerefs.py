"""What the HTML page says about the things it names, read from the
repository: for each bundle a page shows, its section (id, kind, state,
the failure of a run that failed, command, size, time, peak memory,
dependencies); for each worksheet it links to or names as `{{WS}}` in its
text, its id, name and title.  cl/worksheets/html.py renders these; it
stays pure."""

from dataclasses import dataclass
from functools import cached_property

from cl.errors import CLError
from cl.worksheets import blocks as b
from cl.worksheets import markdown


@dataclass(frozen=True)
class BundleCard:
    id: str
    name: str
    kind: str = ""
    state: str = ""
    failure: str | None = None
    command: str = ""
    description: str = ""
    created: int | None = None            # ns since the epoch
    data_size: int | None = None          # bytes
    time: float | None = None             # seconds a run took
    peak_memory: int | None = None        # bytes
    exit_code: int | None = None
    dependencies: tuple[tuple[str, str, str, str], ...] = ()   # (key, parent id, parent name, path)
    missing: bool = False                 # not in this repository


@dataclass(frozen=True)
class WorksheetCard:
    id: str
    name: str
    title: str = ""


@dataclass(frozen=True)
class PageRefs:
    bundles: tuple[BundleCard, ...] = ()              # in order of first appearance on the page
    worksheets: tuple[WorksheetCard, ...] = ()
    specs: tuple[tuple[str, str], ...] = ()           # `{{spec}}` in text -> worksheet id

    @cached_property
    def _by_id(self) -> dict:
        return {c.id: c for c in self.bundles} | {("w", c.id): c for c in self.worksheets}

    def bundle(self, bid: str) -> BundleCard | None:
        return self._by_id.get(bid)

    def worksheet(self, wid: str) -> WorksheetCard | None:
        return self._by_id.get(("w", wid))

    def spec(self, spec: str) -> WorksheetCard | None:
        wid = dict(self.specs).get(spec)
        return None if wid is None else self.worksheet(wid)


def bundle_ids(page: b.Page) -> list[str]:
    """Every bundle the page names, once each, in order."""
    ids: list[str] = []
    for blk in page.blocks:
        if isinstance(blk, b.Table):
            ids.extend(r.bundle for r in blk.rows)
        elif isinstance(blk, b.Graph):
            ids.extend(bid for bid, _ in blk.bundles)
        elif isinstance(blk, (b.Record, b.Inline, b.FileView, b.Link)) and blk.bundle:
            ids.append(blk.bundle)
    return list(dict.fromkeys(ids))


def collect(repo, page: b.Page) -> PageRefs:
    """The sections and worksheet names of one page."""
    from cl.bundles.specs import resolve_worksheet  # not at the top: html.py, which is pure, imports this module
    from cl.worksheets.genpaths import Reader

    reader = Reader(repo)
    ids = bundle_ids(page)
    reader.preload(ids)
    cards = tuple(_card(reader, bid) for bid in ids)
    wids = [blk.worksheet for blk in page.blocks if isinstance(blk, b.WorksheetLink)]
    specs = []
    for blk in page.blocks:
        if isinstance(blk, b.Markup):
            for spec in markdown.worksheet_specs(blk.text):
                try:
                    wid = resolve_worksheet(repo, spec)
                except CLError:  # shown as a missing reference, as typed
                    continue
                specs.append((spec, wid))
                wids.append(wid)
    worksheets = []
    for wid in dict.fromkeys(wids):
        row = repo.index.worksheet(wid)
        if row is not None:
            worksheets.append(WorksheetCard(wid, row["name"], row["title"] or ""))
    return PageRefs(cards, tuple(worksheets), tuple(dict.fromkeys(specs)))


def _card(reader, bid: str) -> BundleCard:
    row = reader.row(bid)
    if row is None:
        return BundleCard(bid, f"0x{bid[:8]}", missing=True)
    result = reader.result(bid)
    deps = []
    for key, parent, path in reader.repo.index.dependencies(bid):
        prow = reader.row(parent)
        deps.append((key or "", parent, prow.name if prow else f"0x{parent[:8]}", path or ""))
    took = None
    if result is not None and result.finished and result.started:
        took = (result.finished - result.started) / 1e9
    return BundleCard(
        id=bid, name=row.name, kind=row.kind, state=row.state,
        failure=result.failure if result is not None else None,
        command=row.command or "", description=row.description or "", created=row.created,
        data_size=row.data_size, time=took,
        peak_memory=result.peak_memory if result is not None and result.peak_memory else None,
        exit_code=result.exit_code if result is not None else None, dependencies=tuple(deps))
