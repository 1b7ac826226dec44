"""Interpretation: a worksheet version's items become display blocks.

Directives change how the bundles after them show (`% display MODE …`,
CodaLab's default being a table of the `default` schema) up to the first
item that is not a bundle or a `% search` (comments aside); consecutive
bundles in table or graph mode share one block; `% search` and `% wsearch`
lines show what the search finds now.  Values come from genpaths through
one `Reader`, so each object is read once per page."""

import mimetypes

from cl.errors import CLError
from cl.objects.types import Worksheet
from cl.repo import Repository
from cl.worksheets import blocks as b
from cl.worksheets import markup, structured
from cl.worksheets.genpaths import PREFETCH_MIN, Reader, text
from cl.worksheets.items import read_directive
from cl.worksheets.markup import Comment, Directive
from cl.worksheets.schemas import SchemaSet, parse_genpath

DEFAULT_MAXLINES = 10


class _State:
    """How the next bundles show, and the bundles gathered for one block.
    A plain class: a dataclass costs a millisecond of every `cl print`'s
    start (docs/bench-notes.md)."""

    __slots__ = ("mode", "args", "group")
    MODE, ARGS = "table", ("default",)  # CodaLab's default: a table of the `default` schema

    def __init__(self) -> None:
        self.mode: str = self.MODE
        self.args: tuple = self.ARGS
        self.group: list = []


def interpret(repo: Repository, ws: Worksheet, commit: str = "", version: int | None = None,
              embed: bool = False) -> b.Page:
    """The page of one worksheet version.  `embed` loads the bytes of
    images, HTML files and graph data (the HTML page needs them; the
    terminal only names them)."""
    return b.Page(worksheet=ws.worksheet, name=ws.name, title=ws.title, commit=commit,
                  version=version, author=ws.author, time=ws.time,
                  blocks=tuple(_Interpreter(repo, embed).run(ws.items)))


class _Interpreter:
    def __init__(self, repo: Repository, embed: bool):
        self.repo = repo
        self.embed = embed
        self.reader = Reader(repo)
        self.out: list = []

    def run(self, items) -> list:
        lines = []
        for item in items:
            if item.kind == "directive":
                try:
                    lines.append((item, read_directive(item.value)))
                except CLError as exc:  # saved as typed; shown as an error, as CodaLab shows it
                    lines.append((item, b.Problem(f"% {item.value.strip()}: {exc.message}")))
            else:
                lines.append((item, None))
        schemas = self._schemas([ln for _, ln in lines if isinstance(ln, Directive)])
        self.schemas = schemas
        self.reader.preload([it.value for it, _ in lines if it.kind == "bundle"])
        state = _State()
        markup_lines: list[str] = []
        for item, line in lines:
            if isinstance(line, Comment):
                continue
            if item.kind != "markup" and markup_lines:
                self.out.append(b.Markup("\n".join(markup_lines)))
                markup_lines = []
            if not (item.kind == "bundle" or isinstance(line, Directive) and line.name in ("display", "search")):
                # as in CodaLab, a display mode lasts only over the bundles and
                # searches right after it
                self._flush(state)
                state.mode, state.args = _State.MODE, _State.ARGS
            if item.kind == "markup":
                self._flush(state)
                markup_lines.append(item.value)
            elif item.kind == "bundle":
                self._bundle(state, item.value)
            elif item.kind == "worksheet":
                self._flush(state)
                self.out.append(self._ws_link(item.value))
            elif isinstance(line, b.Problem):
                self._flush(state)
                self.out.append(line)
            else:
                self._directive(state, line)
        if markup_lines:
            self.out.append(b.Markup("\n".join(markup_lines)))
        self._flush(state)
        return self.out

    def _schemas(self, directives) -> SchemaSet:
        found = SchemaSet()
        for d in directives:
            try:
                found.apply(d.name, d.args)
            except CLError as exc:
                self.out.append(b.Problem(f"% {markup.join(d.tokens)}: {exc.message}"))
        return found

    # --- directives --------------------------------------------------------------

    def _directive(self, state: _State, d: Directive) -> None:
        if d.name == "display":
            self._flush(state)
            state.mode, state.args = d.args[0], tuple(d.args[1:])
        elif d.name == "search":
            self._flush(state)
            try:
                from cl.bundles.search import search
                result = search(self.repo, list(d.args))
            except CLError as exc:
                self.out.append(b.Problem(f"% search {markup.join(d.args)}: {exc.message}"))
                return
            if result.count is not None:
                self.out.append(b.Inline("", "", "count", result.aggregate))
                return
            if result.total is not None:
                self.out.append(b.Inline("", "", f"{result.total[0]}=.sum", result.aggregate))
                return
            ids = [r.id for r in result.rows]
            self.reader.preload(ids)
            for bid in ids:
                self._bundle(state, bid)
            self._flush(state)
        elif d.name == "wsearch":
            self._flush(state)
            try:
                from cl.worksheets.wsearch import search_worksheets
                found = search_worksheets(self.repo, list(d.args))
            except CLError as exc:
                self.out.append(b.Problem(f"% wsearch {markup.join(d.args)}: {exc.message}"))
                return
            for row in found.rows:
                self.out.append(b.WorksheetLink(row["wid"], row["name"], row["title"]))

    def _ws_link(self, wid: str) -> b.Block:
        row = self.repo.index.worksheet(wid)
        if row is None:
            return b.Problem(f"worksheet 0x{wid[:8]} is not in this repository")
        return b.WorksheetLink(wid, row["name"] + (" (removed)" if row["deleted"] else ""), row["title"])

    # --- bundles -----------------------------------------------------------------

    def _name(self, bid: str) -> str:
        row = self.reader.row(bid)
        return row.name if row else f"0x{bid[:8]} (missing)"

    def _bundle(self, state: _State, bid: str) -> None:
        mode = state.mode
        if mode == "hidden":
            return
        if mode in ("table", "graph"):
            state.group.append(bid)
            return
        name = self._name(bid)
        if mode == "link":
            self.out.append(b.Link(bid, name, state.args[0] if state.args else name))
        elif mode == "record":
            try:
                fields = self.schemas.fields(state.args)
            except CLError as exc:
                self.out.append(b.Problem(exc.message))
                return
            self.out.append(b.Record(bid, name, tuple((f.key, self.reader.formatted(bid, f)) for f in fields)))
        elif mode == "inline":
            gp = state.args[0]
            self.out.append(b.Inline(bid, name, gp, text(self.reader.value(bid, parse_genpath(gp)))))
        else:
            self.out.append(self._file_view(mode, bid, name, state.args))

    def _flush(self, state: _State) -> None:
        group, state.group = state.group, []
        if not group:
            return
        if state.mode == "graph":
            self.out.append(self._graph(group, state.args))
            return
        try:
            fields = self.schemas.fields(state.args)
        except CLError as exc:
            self.out.append(b.Problem(exc.message))
            return
        if len(group) >= PREFETCH_MIN:
            self.reader.prefetch(group, sorted({f.genpath.path for f in fields if f.genpath.is_file}))
        rows = tuple(b.TableRow(bid, tuple(self.reader.formatted(bid, f) for f in fields)) for bid in group)
        self.out.append(b.Table(tuple(f.key for f in fields), rows))

    def _file_view(self, mode: str, bid: str, name: str, args: tuple) -> b.FileView:
        gp = args[0]
        opts = dict(a.split("=", 1) for a in args[1:])
        genpath = parse_genpath(gp)
        common = {"mode": mode, "bundle": bid, "name": name, "genpath": gp}
        if not genpath.is_file:
            return b.FileView(**common, lines=tuple(text(self.reader.value(bid, genpath)).split("\n")))
        ref = self.reader.file(bid, genpath.path)
        if ref is None:
            return b.FileView(**common, error=f"no file '{genpath.path or '/'}' in {name}")
        if mode == "contents":
            limit = int(opts.get("maxlines", DEFAULT_MAXLINES))
            if genpath.key is not None:
                lines = text(self.reader.value(bid, genpath)).split("\n")
            elif ref.is_dir:
                lines = [f"{n}/" if d else n for n, _, d in self.reader.listing(ref)]
            else:
                data = self.reader.read(ref)
                if data is None:
                    return b.FileView(**common, error=f"'{genpath.path}' is too large to show")
                lines = data.decode("utf-8", errors="replace").split("\n")
                if lines and lines[-1] == "":
                    lines.pop()
            return b.FileView(**common, lines=tuple(lines[:limit]), truncated=len(lines) > limit)
        if ref.is_dir:
            return b.FileView(**common, error=f"'{genpath.path}' is a directory")
        mime = mimetypes.guess_type(genpath.path)[0] or ("text/html" if mode == "html" else "image/png")
        data = self.reader.read(ref) if self.embed else None
        return b.FileView(**common, data=data, mime=mime,
                          width=int(opts["width"]) if "width" in opts else None,
                          height=int(opts["height"]) if "height" in opts else None)

    def _graph(self, group: list, args: tuple) -> b.Graph:
        gp = args[0]
        opts = dict(a.split("=", 1) for a in args[1:])
        named = tuple((bid, self._name(bid)) for bid in group)
        common = {"genpath": gp, "bundles": named, "title": opts.get("title", "")}
        if not self.embed:
            return b.Graph(**common, xlabel=opts.get("xlabel", ""), ylabel=opts.get("ylabel", ""))
        genpath = parse_genpath(gp)
        series, xlabel, ylabels, problems = [], opts.get("xlabel", ""), [], []
        for bid, name in named:
            ref = self.reader.file(bid, genpath.path) if genpath.is_file else None
            data = self.reader.read(ref) if ref is not None else None
            if data is None:
                problems.append(f"no table at '{gp}' in {name}")
                continue
            header, rows = structured.read_table(data)
            if not header or not rows:
                problems.append(f"'{gp}' in {name} has no rows")
                continue
            xcol = opts.get("x", header[0])
            ycols = [c for c in opts["y"].split(",")] if "y" in opts else [h for h in header if h != xcol]
            if xcol not in header or any(c not in header for c in ycols):
                problems.append(f"'{gp}' in {name} has columns {', '.join(header)}")
                continue
            xi = header.index(xcol)
            xlabel = xlabel or xcol
            for col in ycols:
                yi = header.index(col)
                pts = [(r[xi], r[yi]) for r in rows if len(r) > max(xi, yi)
                       and _is_num(r[xi]) and _is_num(r[yi])]
                label = name if len(ycols) == 1 else f"{name}: {col}"
                ylabels.append(col)
                series.append(b.Series(label, tuple(float(x) for x, _ in pts), tuple(float(y) for _, y in pts)))
        ylabel = opts.get("ylabel") or (ylabels[0] if len(set(ylabels)) == 1 else "")
        return b.Graph(**common, series=tuple(series), xlabel=xlabel, ylabel=ylabel,
                       error="; ".join(problems) or None)


def _is_num(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)
