"""Option types shared by the commands, and the check that command-line
text is UTF-8.

Numbers: click's `int` takes any size, and a count of 10**20 lines then
fails deep inside (`islice`, msgpack).  These ranges say what is accepted
in the usage error itself.

Text: on Linux an argument is bytes; Python hands bytes that are not UTF-8
to cl as lone surrogates, which cannot be stored, hashed or printed.
`check_text` (installed by cl.cli.main on every command it loads) refuses
them in every parameter except file paths and targets (a file inside a
bundle), whose bytes the file system gives meaning to."""

import click

from cl.errors import UsageError

MAX_COUNT = 1 << 62  # below sys.maxsize, which islice and deque take


class Target(click.ParamType):
    """BUNDLE[/PATH]: the path part names a file inside a bundle, whose
    name may be bytes that are not UTF-8 as any file name may (docs/format.md
    [F20]); so `check_text` lets it through, like a file path."""
    name = "target"

    def convert(self, value, param, ctx):
        return value


TARGET = Target()

COUNT = click.IntRange(0, MAX_COUNT)  # lines, CPUs, GPUs
PRIORITY = click.IntRange(-MAX_COUNT, MAX_COUNT)
PORT = click.IntRange(0, 65535)


def _not_utf8(value) -> str | None:
    """The first piece of text in a parameter's value that is not UTF-8."""
    for text in (value if isinstance(value, (tuple, list)) else (value,)):
        if isinstance(text, str):
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:
                return text
    return None


def _checked(callback):
    def check(ctx, param, value):
        bad = _not_utf8(value)
        if bad is not None:
            try:  # the bytes a shell passed, when they came from argv
                shown = bad.encode("utf-8", "surrogateescape")
            except UnicodeEncodeError:  # a lone surrogate from elsewhere (a caller in Python)
                shown = bad.encode("utf-8", "backslashreplace")
            where = param.opts[0] if isinstance(param, click.Option) else param.human_readable_name
            raise UsageError(f"{where} is not UTF-8 text: {shown!r}")
        return callback(ctx, param, value) if callback else value
    return check


def check_text(command: click.Command) -> click.Command:
    """Make every text parameter of `command` (and of its subcommands)
    refuse what is not UTF-8.  Idempotent."""
    if getattr(command, "_cl_text_checked", False):
        return command
    command._cl_text_checked = True
    for param in command.params:
        if not isinstance(param.type, (click.Path, click.File, Target)):
            param.callback = _checked(param.callback)
    for sub in getattr(command, "commands", {}).values():
        check_text(sub)
    return command
