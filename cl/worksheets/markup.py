"""The text form of a worksheet: parsing and printing, both pure.

One line is one of:

    {SPEC}  [desc]{SPEC}       a bundle reference (alone on its line)
    {{WS}}  [desc]{{WS}}       a worksheet link
    % DIRECTIVE ARGS...        title, display, schema, addschema, add, search, wsearch
    // comment                 kept, never rendered
    !COMMAND ARGS...           a cl command run when the text is saved
    anything else              Markdown text

Specs are not resolved here (that needs a repository: cl/worksheets/edit.py
does it).  Directive arguments are shell-quoted; printing quotes them
canonically, so `print_text(parse(t))` is a fixed point after one round.

As in CodaLab, a `%` line that cannot be interpreted is kept, not refused:
`parse` gives a `BadDirective` holding its text and the problem, which is
saved as typed and shown as an error where the worksheet is displayed.
`parse(text, strict=True)` raises instead, naming the line:
"line 7: unknown display mode 'tabel'".  A bad `!` command line is an
error either way."""

import re
import shlex
from dataclasses import dataclass, field

from cl.errors import CLError, InputError
from cl.worksheets import schemas

_BUNDLE = re.compile(r"(?:\[(?P<desc>.*)\])?\{\s*(?P<spec>[^\s{}]+)\s*\}\s*\Z")
_WORKSHEET = re.compile(r"(?:\[(?P<desc>.*)\])?\{\{\s*(?P<spec>[^\s{}]+)\s*\}\}\s*\Z")
_SAFE = re.compile(r"[^\s\"'\\]+\Z")
_OPTION = re.compile(r"([A-Za-z_][A-Za-z0-9_-]*=)(.*)\Z", re.S)

DISPLAY_MODES = ("hidden", "link", "inline", "contents", "image", "html", "record", "table", "graph")
DIRECTIVES = ("title", "display", "schema", "addschema", "add", "search", "wsearch")
MODE_OPTIONS = {
    "inline": (), "html": (), "contents": ("maxlines",), "image": ("width", "height"),
    "graph": ("x", "y", "xlabel", "ylabel", "title"),
}


class MarkupError(CLError):
    """A line of worksheet text that cannot be read or resolved."""

    def __init__(self, line: int, problem: str):
        super().__init__(f"line {line}: {problem}")
        self.line = line
        self.problem = problem


# --- the lines ----------------------------------------------------------------


@dataclass(frozen=True)
class Text:
    text: str
    lineno: int = field(default=0, compare=False)


@dataclass(frozen=True)
class BundleRef:
    spec: str
    desc: str = ""
    lineno: int = field(default=0, compare=False)


@dataclass(frozen=True)
class WorksheetRef:
    spec: str
    desc: str = ""
    lineno: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Directive:
    tokens: tuple[str, ...]
    lineno: int = field(default=0, compare=False)

    @property
    def name(self) -> str:
        return self.tokens[0]

    @property
    def args(self) -> tuple[str, ...]:
        return self.tokens[1:]


@dataclass(frozen=True)
class BadDirective:
    """A `%` line that cannot be interpreted: its text after the `%`
    (stripped), kept as typed, and what is wrong with it."""
    text: str
    problem: str = field(default="", compare=False)
    lineno: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Comment:
    text: str
    lineno: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Command:
    argv: tuple[str, ...]
    lineno: int = field(default=0, compare=False)


Line = Text | BundleRef | WorksheetRef | Directive | BadDirective | Comment | Command


# --- quoting ------------------------------------------------------------------


def quote(token: str, options: bool = False) -> str:
    """Canonical shell-like quoting; with `options`, `key=some value` keeps
    the key bare (`title="Training loss"`)."""
    if _SAFE.match(token):
        return token
    m = _OPTION.match(token) if options else None
    if m:
        return m[1] + _quoted(m[2])
    return _quoted(token)


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def join(tokens) -> str:
    return " ".join(quote(t) for t in tokens)


def directive_text(tokens) -> str:
    """A directive's canonical text without the `%` (option-style quoting
    for everything but a title)."""
    return " ".join(quote(t, options=tokens[0] != "title") for t in tokens)


def split(text: str) -> list[str]:
    """Shell-like splitting; ValueError on unbalanced quotes."""
    return shlex.split(text, comments=False, posix=True)


def one_line(text: str) -> str:
    """A description fit for a reference line."""
    return " ".join(text.split())


# --- parsing ------------------------------------------------------------------


def parse(text: str, strict: bool = False) -> list[Line]:
    """Every line of `text`, classified and checked.  A directive that
    cannot be interpreted becomes a BadDirective; with `strict`, it and a
    schema problem are a MarkupError instead.  A bad command line is
    always a MarkupError (nothing is half-read)."""
    lines = text.replace("\r\n", "\n").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    out = [parse_line(raw.rstrip("\r"), n, strict) for n, raw in enumerate(lines, 1)]
    if strict:
        check_schemas(out)
    return out


def parse_line(raw: str, lineno: int = 0, strict: bool = False) -> Line:
    if raw.startswith("//"):
        return Comment(raw[2:], lineno)
    if raw.startswith("%"):
        try:
            return Directive(read_tokens(raw[1:]), lineno)
        except InputError as exc:
            if strict:
                raise MarkupError(lineno, exc.message) from None
            return BadDirective(raw[1:].strip(), exc.message, lineno)
    if raw.startswith("!"):
        try:
            argv = split(raw[1:])
        except ValueError as exc:
            raise MarkupError(lineno, f"cannot read command ({exc})") from None
        if not argv:
            raise MarkupError(lineno, "empty command after '!'")
        if argv[0] == "cl":
            argv = argv[1:]
            if not argv:
                raise MarkupError(lineno, "empty command after '!cl'")
        return Command(tuple(argv), lineno)
    m = _WORKSHEET.match(raw)
    if m:
        return WorksheetRef(m["spec"], m["desc"] or "", lineno)
    m = _BUNDLE.match(raw)
    if m:
        return BundleRef(m["spec"], m["desc"] or "", lineno)
    return Text(raw, lineno)


def read_tokens(text: str) -> tuple[str, ...]:
    """The canonical tokens of a directive's text (after the `%`), or
    InputError saying why it cannot be interpreted."""
    try:
        tokens = split(text)
    except ValueError as exc:
        raise InputError(f"cannot read directive ({exc})") from None
    if not tokens:
        raise InputError("empty directive")
    return check_directive(tokens)


def check_directive(tokens: list[str]) -> tuple[str, ...]:
    """The canonical tokens of a directive, or InputError saying what is
    wrong with it."""
    name, args = tokens[0], list(tokens[1:])
    if name not in DIRECTIVES:
        raise InputError(f"unknown directive '{name}' (one of: {', '.join(DIRECTIVES)})")
    if name == "title":
        if not args:
            raise InputError("'title' needs the title text")
        return ("title", " ".join(args))
    if name in ("schema", "addschema"):
        if len(args) != 1:
            raise InputError(f"'{name}' takes one schema name")
        return (name, args[0])
    if name == "add":
        if not 1 <= len(args) <= 3:
            raise InputError("'add' takes KEY [GENPATH [POST-PROCESSOR]]")
        schemas.make_field(*args)
        return ("add", *args)
    if name in ("search", "wsearch"):
        return (name, *args)
    return ("display", *check_display(args))


def check_display(args: list[str]) -> list[str]:
    if not args:
        raise InputError(f"'display' needs a mode (one of: {', '.join(DISPLAY_MODES)})")
    mode, rest = args[0], args[1:]
    if mode not in DISPLAY_MODES:
        raise InputError(f"unknown display mode '{mode}'")
    if mode == "hidden" and rest:
        raise InputError("'display hidden' takes no arguments")
    if mode == "link" and len(rest) > 1:
        return [mode, " ".join(rest)]
    if mode in MODE_OPTIONS:
        if not rest:
            raise InputError(f"'display {mode}' needs a genpath")
        schemas.parse_genpath(rest[0])
        for opt in rest[1:]:
            key, eq, value = opt.partition("=")
            if not eq or key not in MODE_OPTIONS[mode]:
                allowed = ", ".join(f"{k}=" for k in MODE_OPTIONS[mode]) or "none"
                raise InputError(f"unknown option '{opt}' for 'display {mode}' (allowed: {allowed})")
            if key in ("maxlines", "width", "height") and not value.isdigit():
                raise InputError(f"'{key}' needs a number: '{opt}'")
    return [mode, *rest]


def check_schemas(lines: list[Line]) -> schemas.SchemaSet:
    """Schemas are collected over the whole text first, so a table may use
    a schema defined further down; errors name the line."""
    found = schemas.SchemaSet()
    directives = [ln for ln in lines if isinstance(ln, Directive)]
    for d in directives:
        try:
            found.apply(d.name, d.args)
        except InputError as exc:
            raise MarkupError(d.lineno, exc.message) from None
    for d in directives:
        if d.name == "display" and d.args[0] in ("record", "table"):
            for name in d.args[1:]:
                if name not in found:
                    raise MarkupError(d.lineno, f"unknown schema '{name}'")
    return found


# --- printing -----------------------------------------------------------------


def print_line(line: Line) -> str:
    if isinstance(line, Text):
        return line.text
    if isinstance(line, BundleRef):
        return (f"[{one_line(line.desc)}]" if line.desc.strip() else "") + "{" + line.spec + "}"
    if isinstance(line, WorksheetRef):
        return (f"[{one_line(line.desc)}]" if line.desc.strip() else "") + "{{" + line.spec + "}}"
    if isinstance(line, Directive):
        return "% " + directive_text(line.tokens)
    if isinstance(line, BadDirective):
        return "% " + line.text if line.text else "%"
    if isinstance(line, Comment):
        return "//" + line.text
    if isinstance(line, Command):
        return "!" + join(line.argv)
    raise TypeError(line)


def print_text(lines) -> str:
    return "".join(print_line(ln) + "\n" for ln in lines)
