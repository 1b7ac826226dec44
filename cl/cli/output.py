"""Formatting for people: aligned tables, sizes, records, JSON, state
colours on a terminal, and (the only place rich is imported) progress bars
and worksheet rendering.  rich is imported lazily so quick commands don't
pay for it."""

import contextlib
import os
import sys
from itertools import repeat

import click


def size(n: int | None) -> str:
    if n is None:
        return "-"
    for unit in ("", "k", "m", "g", "t"):
        if abs(n) < 1024 or unit == "t":
            return f"{n:.0f}{unit}" if unit == "" else f"{n:.1f}{unit}"
        n /= 1024
    return str(n)


def counted(n: int, noun: str) -> str:
    """`1 worksheet`, `3 worksheets`."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def table(headers: list[str], rows: list[list], out=None) -> None:
    """A plain aligned table (fast: no rich) of rows of len(headers) cells;
    None shows as nothing, anything else as str()."""
    if not headers:
        (out or sys.stdout).write("\n" * (len(rows) + 1))
        return
    columns = [["" if r[i] is None else shown(str(r[i])) for r in rows] for i in range(len(headers))]
    (out or sys.stdout).write(table_columns([str(h) for h in headers], columns))


def shown(text: str) -> str:
    """Text as it will be shown: a byte that is not UTF-8 (a surrogate
    escape in a file name, docs/format.md [F20]) as `\\xNN`, here rather
    than when written, so that columns line up."""
    if text.isascii():
        return text
    return "".join(f"\\x{ord(c) - 0xDC00:02x}" if 0xDC80 <= ord(c) <= 0xDCFF else c for c in text)


def table_columns(headers: list[str], columns: list[list[str]]) -> str:
    """The text of the same table from its columns of strings: each
    left-aligned to its widest cell, two spaces apart, trailing blanks
    dropped.  Every step runs over a whole column or all rows at once, so
    that 10,000 rows (`cl ls`) take milliseconds."""
    cells = [[header, *column] for header, column in zip(headers, columns)]
    padded = [list(map(str.ljust, column, repeat(max(map(len, column))))) for column in cells[:-1]]
    lines = map(str.rstrip, map("  ".join, zip(*padded, cells[-1])))  # the last column needs no padding
    return "\n".join(lines) + "\n"


# `cl ls` colours a bundle's state on a terminal.  click (loaded anyway) makes
# the escapes: rich would add 20-30 ms to every `cl ls` for the same result.
STATE_STYLES = {
    "failed": {"fg": "red", "bold": True}, "killed": {"fg": "magenta", "bold": True},
    "running": {"fg": "cyan"}, "preparing": {"fg": "cyan"}, "finalizing": {"fg": "cyan"},
    "created": {"fg": "yellow"}, "staged": {"fg": "yellow"}, "ready": {"fg": "green"},
}


def colours(stream) -> bool:
    """Colour on this stream: a terminal, and the user has not said no
    (NO_COLOR set, or TERM=dumb)."""
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty()) and "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"


def colour_states(text: str, headers: list[str], column: str = "state") -> str:
    """An aligned table's text (table_columns) with the cells of `column`
    coloured by state.  The header line gives where the column starts and
    ends; rows above the header (a title line) are left alone."""
    lines = text.split("\n")
    at = next((i for i, line in enumerate(lines) if line.split() == headers), None)
    if at is None or column not in headers:
        return text
    header = lines[at]
    start = header.index(f"  {column}") + 2 if headers[0] != column else 0
    nxt = headers.index(column) + 1
    end = header.index(f"  {headers[nxt]}", start) + 2 if nxt < len(headers) else None
    for i in range(at + 1, len(lines)):
        line = lines[i]
        cell = line[start:end]
        style = STATE_STYLES.get(cell.strip())
        if style:
            word = cell.strip()
            lines[i] = line[:start] + click.style(word, **style) + cell[len(word):] + (line[end:] if end else "")
    return "\n".join(lines)


def sizes(column) -> list[str]:
    """size() of each of a column of byte counts."""
    if set(map(type, column)) == {int} and min(column) >= 0 and max(column) < 1024:
        return list(map(str, column))  # what size() says below 1 KiB
    return list(map(size, column))


def as_json(value) -> None:
    import json  # only --json and friends pay for it
    click.echo(json.dumps(value, indent=2, sort_keys=False, default=str))


def record(rec: dict, indent: str = "") -> None:
    """A record as `key: value` lines; nested maps and lists indented."""
    for key, value in rec.items():
        if isinstance(value, dict):
            if not value:
                continue
            click.echo(f"{indent}{key}:")
            record(value, indent + "  ")
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            click.echo(f"{indent}{key}:")
            for item in value:
                click.echo(indent + "  - " + "  ".join(f"{k}={v}" for k, v in item.items() if v not in (None, "")))
        elif isinstance(value, list):
            click.echo(f"{indent}{key}: {' '.join(map(str, value))}")
        else:
            click.echo(f"{indent}{key}: {'' if value is None else value}")


@contextlib.contextmanager
def progress(description: str, total: int | None, enabled: bool = True):
    """Yields a callback taking a byte count.  A bar appears only on a
    terminal and only for work big enough to take more than a moment."""
    if not enabled or not sys.stderr.isatty() or (total is not None and total < (64 << 20)):
        yield None
        return
    from rich.progress import (BarColumn, DownloadColumn, Progress, TextColumn,
                               TimeRemainingColumn, TransferSpeedColumn)
    from rich.console import Console

    with Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                  TransferSpeedColumn(), TimeRemainingColumn(),
                  console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(description, total=total)
        yield lambda n: bar.advance(task, n)


@contextlib.contextmanager
def transfer_progress():
    """Yields a callback for the progress Ticks of push, pull and clone
    (cl/objects/progress.py) that draws one line per phase on stderr —
    objects, bytes, rate and time left — or None when stderr is not a
    terminal, so that a pipe or a log file gets nothing of it."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import (BarColumn, DownloadColumn, Progress, TextColumn,
                               TimeRemainingColumn, TransferSpeedColumn)

    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[objects]}"),
                  DownloadColumn(), TransferSpeedColumn(), TimeRemainingColumn(),
                  console=Console(stderr=True)) as bar:
        current: dict = {}  # phase -> its task, until the phase is done

        def show(tick) -> None:
            task = current.get(tick.phase)
            if task is None:
                task = current[tick.phase] = bar.add_task(tick.phase, total=tick.bytes_total, objects="")
            total = "" if tick.objects_total is None else f"/{tick.objects_total}"
            bar.update(task, completed=tick.bytes, total=tick.bytes_total,
                       objects=f"{tick.objects}{total} objects")
            if tick.done:
                del current[tick.phase]

        yield show


def run_progress_text(p) -> str:
    """One line for a cl.runs.follow.RunProgress: `queued behind 2 runs: …`,
    `preparing: …`, `running 0:42`."""
    if p.stage in ("created", "staged"):
        ahead = f" behind {p.ahead} run{'' if p.ahead == 1 else 's'}" if p.ahead else ""
        return f"queued{ahead}" + (f": {p.reason}" if p.reason else "")
    if p.stage == "running" and p.elapsed is not None:
        minutes, seconds = divmod(int(p.elapsed), 60)
        hours, minutes = divmod(minutes, 60)
        clock = f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"
        return f"running {clock}"
    return p.stage + (f": {p.reason}" if p.reason else "")


@contextlib.contextmanager
def run_progress(enabled: bool = True):
    """Yields a callback for a waited run's RunProgress that keeps one
    status line on stderr up to date (gone when the wait ends), or None
    when stderr is not a terminal."""
    if not enabled or not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console

    console = Console(stderr=True, highlight=False)
    with console.status("waiting for the run") as status:
        yield lambda p: status.update(run_progress_text(p))


# --- worksheets ---
# rich renderables for `cl print` (cl/cli/ws_render.py builds the page from
# these; rich stays in this module).


def ws_console(file=None):
    from rich.console import Console
    return Console(file=file or sys.stdout, highlight=False)


def ws_markdown(text: str):
    from rich.markdown import Markdown
    return Markdown(text, hyperlinks=False)


def ws_text(text: str, style: str | None = None, wrap: bool = True):
    """Text; `wrap=False` keeps long lines whole (the terminal folds them,
    as it does for `cl ls`)."""
    from rich.text import Text
    if wrap:
        return Text(text, style=style or "")
    return Text(text, style=style or "", no_wrap=True, overflow="ignore")


def ws_rule(title: str):
    from rich.rule import Rule
    return Rule(title, style="dim")


def ws_table(headers, rows, title: str | None = None, key_column: bool = False):
    """A table of strings; `key_column` styles the first column as keys
    (records).  Short columns (ids, numbers, dates) never wrap; long text
    columns give way when the terminal is narrow."""
    from rich import box
    from rich.table import Table
    table = Table(title=title, box=box.SIMPLE_HEAD, show_header=bool(headers), title_justify="left",
                  pad_edge=False)
    ncols = len(headers) if headers else (len(rows[0]) if rows else 1)
    for i in range(ncols):
        h = headers[i] if headers else ""
        longest = max([len(h)] + [len(r[i]) for r in rows if i < len(r)])
        short = longest <= 24
        table.add_column(h, style="bold" if key_column and i == 0 else None, no_wrap=short,
                         min_width=longest if short else min(len(h), 24), overflow="fold")
    for r in rows:
        table.add_row(*r)
    return table


def ws_print(console, renderables) -> None:
    for r in renderables:
        # unwrapped text (long tables) is neither wrapped nor cropped
        console.print(r, soft_wrap=getattr(r, "no_wrap", None) is True)


def reindex_notes(set_aside, current_worksheet: str | None, adopted: str | None = None) -> list[str]:
    """What `cl reindex` tells on stderr besides its counts: where a
    damaged repo.db went, which refs it kept or lost, and which worksheet
    is current now (`adopted`: the only one, made current) or how to
    choose one."""
    notes = []
    if set_aside is not None:
        if set_aside.aside:
            notes.append(f"repo.db was damaged ({set_aside.problem}); it is kept as '{set_aside.aside}'"
                         " and a new one was built from the objects")
        else:
            notes.append(f"repo.db was damaged ({set_aside.problem}); a new one was built from the objects")
        if set_aside.lost:
            notes.append(f"the refs that are not heads could not be read ({set_aside.lost}): the current"
                         " worksheet, what remotes had when last seen and server tokens are lost")
        else:
            notes.append(f"kept {set_aside.kept_refs} refs that are not heads (the current worksheet,"
                         " remote positions, server tokens)")
    if adopted:
        notes.append(f"the current worksheet is now '{adopted}', the only one")
    elif current_worksheet is None:
        notes.append("there is no current worksheet: choose one with 'cl work NAME' ('cl wls' lists them)")
    return notes


def opened_page(path: str, opened: bool, json_wanted: bool) -> None:
    """`cl open`/`cl wopen`: the page's path (and whether a browser took it)."""
    if json_wanted:
        as_json({"path": path, "opened": opened})
        return
    click.echo(path)
    if not opened:
        click.echo("cl: no web browser found; the page is at the path above", err=True)
