"""Command-line parsing as CodaLab's argparse does it, on top of click:
options that take several values (`--tags a b c`, argparse's nargs='*'),
and unambiguous prefixes of long options (`--tag`, `--title=T`).

Both are done in one place, by rewriting a command's arguments before
click parses them (CompatGroup.resolve_command): `--tags a b` becomes
`--tags=a --tags=b`, `--tags` alone becomes `--tags=` (an empty value:
clear), and `--tag` becomes `--tags`.  The rewriting stops at `--` and at
`cl run`'s `---`, after which every word is the command's."""

import click

from cl.errors import UsageError

STOP = ("--", "---")


class Many(click.Option):
    """An option taking every following word up to the next option, as
    argparse's nargs='*'; declare it with multiple=True.  Given with no
    word it yields one empty string, which the commands read as "clear"."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("multiple", True)
        super().__init__(*args, **kwargs)


def _takes_value(param) -> bool:
    return isinstance(param, click.Option) and not param.is_flag and not param.count


def _option_table(command: click.Command) -> dict[str, click.Parameter | None]:
    """Every option spelling of `command` -> its parameter (None for help)."""
    table: dict[str, click.Parameter | None] = {"--help": None, "-h": None}
    for param in command.params:
        if isinstance(param, click.Option):
            for name in (*param.opts, *param.secondary_opts):
                table[name] = param
    return table


def _full_name(table: dict, name: str) -> str:
    """`name` itself, or the one long option it is a prefix of."""
    if name in table or not name.startswith("--") or len(name) < 3:
        return name
    candidates = sorted(n for n in table if n.startswith(name) and n.startswith("--"))
    if len({id(table[n]) for n in candidates}) == 1:  # spellings of one option (--worksheet, --worksheet-spec)
        return min(candidates, key=len)
    if len(candidates) > 1:
        raise UsageError(f"ambiguous option {name}: it could be {', '.join(candidates)}")
    return candidates[0] if candidates else name


def _is_value(word: str) -> bool:
    """Whether a word can be an option's value in argparse's eyes: not an
    option itself (a negative number is a value)."""
    if not word.startswith("-") or word == "-":
        return True
    return word[1:].replace(".", "", 1).isdigit()


def rewrite(command: click.Command, args: list[str]) -> list[str]:
    """`args` for `command`, with prefixes expanded and several-valued
    options spelled once per value."""
    table = _option_table(command)
    out: list[str] = []
    i = 0
    while i < len(args):
        word = args[i]
        i += 1
        if word in STOP:
            out.append(word)
            out.extend(args[i:])
            break
        if not word.startswith("-") or _is_value(word):
            out.append(word)
            continue
        if word.startswith("--"):
            name, eq, value = word.partition("=")
            name = _full_name(table, name)
            param = table.get(name)
            if eq:
                out.append(f"{name}={value}")
                continue
        else:  # -x, or -xVALUE / a cluster of flags -abc, left to click
            name, param = word[:2], table.get(word[:2])
            if len(word) > 2:
                out.append(word)
                continue
        if isinstance(param, Many):
            values = []
            while i < len(args) and args[i] not in STOP and _is_value(args[i]):
                values.append(args[i])
                i += 1
            for value in values or [""]:  # --x=V; -x V (click reads -x=V as "=V")
                out.extend([f"{name}={value}"] if name.startswith("--") else [name, value])
            continue
        out.append(name)
        if _takes_value(param) and i < len(args):
            out.append(args[i])
            i += 1
    return out


def words(groups) -> tuple[str, ...]:
    """The values of a Many option as one tuple of words (each value may
    itself hold several space-separated words: `--tags 'a b'`)."""
    return tuple(w for group in groups for w in group.split())


def cleared_or(groups):
    """A Many option's values: None when it was not given, () when given
    with no word (clear), else the words."""
    if not groups:
        return None
    return words(groups)


class CompatGroup(click.Group):
    """A group whose subcommands' arguments are rewritten as CodaLab's
    argparse would read them (see the module's docstring)."""

    def resolve_command(self, ctx, args):
        name, cmd, rest = super().resolve_command(ctx, args)
        if cmd is not None and not isinstance(cmd, click.Group):
            rest = rewrite(cmd, list(rest))
        return name, cmd, rest
