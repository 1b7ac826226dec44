"""`cl print` on the terminal: a worksheet page (the blocks of
cl/app/page.py) rendered with rich through cl/cli/output.py — Markdown, tables, records,
inline values, `contents` with a line limit, and for images, HTML and
graphs a line naming the file (`cl print --html` shows those).

When stdout is not a terminal (a pipe, `-o FILE`) the same page is written
as plain aligned text: Markdown kept as written, tables like `cl ls`, no
wrapping and no trailing spaces, so it diffs and greps well."""

import io
import sys

from cl.cli import output
from cl.app import page as b


def print_page(page: b.Page, file=None) -> None:
    file = file or sys.stdout
    if hasattr(file, "isatty") and file.isatty():
        console = output.ws_console(file)
        output.ws_print(console, renderables(page))
    else:
        write_plain(page, file)


def heading(page: b.Page) -> str:
    text = page.title or page.name
    if page.version is not None:
        text += f"  (version {page.version})"
    return text


# --- rich -------------------------------------------------------------------------

BIG_TABLE = 100


def _aligned(block: b.Table) -> list[str]:
    buf = io.StringIO()
    output.table(list(block.headers), [list(r.cells) for r in block.rows], buf)
    return buf.getvalue().splitlines()



def renderables(page: b.Page) -> list:
    out = [output.ws_rule(heading(page))]
    for block in page.blocks:
        out.extend(_rich_block(block))
    return out


def _rich_block(block) -> list:
    if isinstance(block, b.Markup):
        return [output.ws_markdown(block.text)] if block.text.strip() else [output.ws_text("")]
    if isinstance(block, b.Table):
        if len(block.rows) > BIG_TABLE:
            # rich measures every cell of every row; a long table is laid out
            # like `cl ls` instead (the same columns, a bold header), so
            # printing 1,000 runs stays as quick as listing them
            header, *body = _aligned(block)
            return [output.ws_text(header, "bold", wrap=False), output.ws_text("\n".join(body), wrap=False)]
        return [output.ws_table(list(block.headers), [list(r.cells) for r in block.rows])]
    if isinstance(block, b.Record):
        return [output.ws_text(f"{block.name} (0x{block.bundle[:8]})", "bold"),
                output.ws_table([], [[k, v] for k, v in block.rows], key_column=True)]
    if isinstance(block, b.FileView) and block.mode == "contents" and not block.error:
        out = [output.ws_text(_where(block), "dim"), output.ws_text("\n".join(block.lines))]
        if block.truncated:
            out.append(output.ws_text("…", "dim"))
        return out
    style = "red" if isinstance(block, b.Problem) or getattr(block, "error", None) else \
        "underline" if isinstance(block, (b.Link, b.WorksheetLink)) else \
        "cyan" if isinstance(block, (b.FileView, b.Graph)) else None
    return [output.ws_text(line, style) for line in _plain_lines(block)]


# --- plain text ---------------------------------------------------------------------


def write_plain(page: b.Page, out) -> None:
    lines = [f"== {heading(page)} =="]

    def gap():
        if lines[-1] != "":
            lines.append("")
    previous = None
    for block in page.blocks:
        if isinstance(block, (b.Table, b.Record)) or isinstance(previous, (b.Table, b.Record)):
            gap()
        if isinstance(block, b.Table):
            lines.extend(_aligned(block))
        elif isinstance(block, b.Record):
            lines.append(f"{block.name} (0x{block.bundle[:8]})")
            width = max((len(k) for k, _ in block.rows), default=0)
            lines.extend(f"  {k.ljust(width)}  {v}".rstrip() for k, v in block.rows)
        else:
            lines.extend(_plain_lines(block))
        previous = block
    # blank lines never repeat (a gap next to a blank text line is one gap)
    kept = [ln for i, ln in enumerate(lines) if ln != "" or i == 0 or lines[i - 1] != ""]
    out.write("".join(line + "\n" for line in kept))


def _where(block) -> str:
    return f"{block.name}{block.genpath}" if block.genpath.startswith("/") else f"{block.name} {block.genpath}"


def _plain_lines(block) -> list[str]:
    if isinstance(block, b.Markup):
        return block.text.split("\n")
    if isinstance(block, b.Inline):
        return [block.value]
    if isinstance(block, b.FileView):
        if block.error:
            return [f"[{block.mode}: {block.error}]"]
        if block.mode == "contents":
            return [f"--- {_where(block)}", *block.lines] + (["..."] if block.truncated else []) + ["---"]
        return [f"[{block.mode}: {_where(block)} (0x{block.bundle[:8]}); see cl print --html]"]
    if isinstance(block, b.Graph):
        names = ", ".join(f"{name} (0x{bid[:8]})" for bid, name in block.bundles)
        return [f"[graph of {block.genpath}: {names}; see cl print --html]"]
    if isinstance(block, b.Link):
        return [f"{block.text} (0x{block.bundle[:8]})"]
    if isinstance(block, b.WorksheetLink):
        title = f": {block.title}" if block.title else ""
        return [f"-> worksheet {block.name}{title} (0x{block.worksheet[:8]})"]
    if isinstance(block, b.Problem):
        return [f"[{block.message}]"]
    raise TypeError(block)
