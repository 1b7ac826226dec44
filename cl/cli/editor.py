"""Text the user types: in $EDITOR, in a file (`-f FILE`) or on stdin.  It
must be UTF-8; when it is not, the command is refused and, where the text
exists nowhere else (the editor's file, stdin), its bytes are kept in a
file the message names: typed text is never lost."""

import os

import click

from cl.errors import InputError


def keep(data: bytes, prefix: str, suffix: str) -> str:
    """Write `data` to a new file in the working directory (or the
    temporary directory if that is not writable); its path."""
    import tempfile  # here: every command of bundle_cmds imports this module, `cl ls` too
    where = os.getcwd() if os.access(os.getcwd(), os.W_OK) else None
    fd, path = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=where)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    return path


def decode(data: bytes, what: str, keep_as: tuple[str, str] | None = None) -> str:
    """`data` as text, or an InputError saying where it is not UTF-8 (and,
    with `keep_as` (prefix, suffix), where its bytes were kept)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        problem = f"{what} is not UTF-8 text (byte {exc.start})"
        if keep_as is None:
            raise InputError(problem) from None
        kept = keep(data, *keep_as)
        raise InputError(f"{problem}; nothing was saved: your text is kept in {kept}") from None


def read(path: str, keep_as: tuple[str, str]) -> str:
    """The text of FILE, or of stdin for '-' (kept if it is not UTF-8)."""
    if path == "-":
        return decode(click.get_binary_stream("stdin").read(), "the text on stdin", keep_as)
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as exc:
        raise InputError(f"cannot read '{path}': {exc.strerror}") from None
    return decode(data, f"'{path}'")


def edit(text: str, extension: str, keep_as: tuple[str, str]) -> str | None:
    """`text` as the user left it in $EDITOR, or None if they did not save."""
    import tempfile
    fd, path = tempfile.mkstemp(prefix="cl-edit-", suffix=extension)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(text.encode("utf-8"))
        before = os.stat(path).st_mtime_ns
        click.edit(filename=path)
        if os.stat(path).st_mtime_ns == before:
            return None
        with open(path, "rb") as f:
            data = f.read()
        return decode(data, "the edited text", keep_as)
    finally:
        os.unlink(path)
