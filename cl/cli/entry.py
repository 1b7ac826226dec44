"""The `cl` program (console script and `python -m cl`): the one place
where errors become one line on stderr and an exit code (`guarded`), and
the way out (`run`).  Nothing here imports click.

`cl serve-stdio PATH` is the far side of every ssh remote's session, and
the client waits for its start before anything moves; so it is run here
directly, without the command-line parser and its table of commands
(click's import is a quarter of that start).  Any other form of it
(`--help`, a missing path) goes to the parser like every command."""

import codecs
import os
import sys
from typing import Callable

from cl.errors import CLError


def run() -> None:
    """The `cl` program: the command, then the interpreter's exit without
    its teardown.  Python's exit waits for non-daemon threads, runs the
    atexit callbacks and flushes stdout and stderr, then frees every module
    and object one by one -- a visible share of a short command, for memory
    the kernel frees at once.  The first three are done here, as Python
    does them; the teardown is skipped.  Everything cl writes is closed
    where it is written (`with`), never left to the teardown.  An exception
    that escapes -- a bug -- takes Python's usual way out."""
    args = sys.argv[1:]
    try:
        if len(args) == 2 and args[0] == "serve-stdio" and not args[1].startswith("-"):
            from cl.app.sharing import serve_stdio
            guarded(lambda: serve_stdio(args[1]))
        else:
            from cl.cli.main import main
            main(args)
        code = 0
    except SystemExit as exc:
        code = exc.code
    threading = sys.modules.get("threading")
    if threading is not None:
        threading._shutdown()  # what Python's exit calls first: joins non-daemon threads
    import atexit
    atexit._run_exitfuncs()
    if code is None:
        code = 0
    elif not isinstance(code, int):
        print(code, file=sys.stderr)  # sys.exit("text"), as Python reports it
        code = 1
    try:
        sys.stdout.flush()
    except (OSError, ValueError):  # a closed pipe or stream
        code = code or 120  # what Python's exit gives when stdout cannot be flushed
    try:
        sys.stderr.flush()
    except (OSError, ValueError):  # nowhere left to say anything
        pass
    os._exit(code)


def guarded(command: Callable[[], None]) -> None:
    """Run a command: a CLError becomes one line on stderr and its exit
    code, as do the environment's failures (a full disk, a damaged
    repo.db, ^C); anything else is a bug, shown with its traceback."""
    _show_bytes_escaped()
    try:
        command()
    except CLError as exc:
        text = exc.message + (f"; {exc.hint}" if exc.hint else "")
        say(f"cl: {one_line(text)}")
        sys.exit(exc.exit_code)
    except BrokenPipeError:
        # stdout closed early (`cl cat big | head`): not an error.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(0)
    except OSError as exc:
        if exc.filename is None:
            raise_bug()
        # The environment, not cl: a read-only repository, a full disk.
        say(one_line(f"cl: cannot use '{exc.filename}': {exc.strerror}"))
        sys.exit(1)
    except KeyboardInterrupt:
        say("cl: interrupted")
        sys.exit(130)
    except Exception as exc:
        problem = _index_damage(exc)
        if problem is None:
            raise_bug()
        say(f"cl: {one_line(problem.message)}; {problem.hint}")
        sys.exit(problem.exit_code)


def say(line: str) -> None:
    """One line on stderr, at once."""
    print(line, file=sys.stderr, flush=True)


def raise_bug() -> None:
    """Anything not a CLError is a bug in cl: show the traceback and say so."""
    import traceback
    traceback.print_exc()
    say("cl: this is a bug in cl; please report it with the traceback above")
    sys.exit(70)


# C0, DEL and C1 controls, and the Unicode line and paragraph separators:
# whatever a terminal acts on or str.splitlines() breaks at
_CONTROL = ({c: f"\\x{c:02x}" for c in (*range(0x20), *range(0x7F, 0xA0))}
            | {c: f"\\u{c:04x}" for c in (0x2028, 0x2029)} | {0x0A: "\\n", 0x0D: "\\r", 0x09: "\\t"})


def one_line(text: str) -> str:
    """An error message as one line: control characters that came with
    the user's input (a newline, a terminal escape) shown escaped."""
    return text.translate(_CONTROL)


def _index_damage(exc: Exception):
    """IndexDamaged for a SQLite error that says repo.db is damaged and
    escaped the wrappers in cl.refs.db (a cursor read row by row); else None."""
    if type(exc).__module__ != "sqlite3":
        return None
    from cl.app.repository import index_damage
    return index_damage(exc)


def _escape_bytes(exc: UnicodeError):
    """How text that holds bytes that are not UTF-8 is shown: a file name
    read from disk or from a tree keeps each such byte as a surrogate escape
    (docs/format.md [F20]); on stdout and stderr it becomes `\\xe9`
    (output.shown), and any other character the stream cannot encode
    `\\uXXXX`."""
    if not isinstance(exc, UnicodeEncodeError):
        raise exc
    from cl.cli.output import shown
    text = shown(exc.object[exc.start:exc.end])
    return text.encode("ascii", "backslashreplace").decode("ascii"), exc.end


def _show_bytes_escaped() -> None:
    codecs.register_error("cl-escape", _escape_bytes)
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="cl-escape")
