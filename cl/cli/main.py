"""The `cl` entry point: a click group that imports each command's module
only when that command runs (so `cl ls` starts fast), and the single place
where errors become one line on stderr and an exit code."""

import codecs
import importlib
import os
import sys

import click

from cl.cli.parsing import CompatGroup
from cl.errors import CLError, UsageError

# command name -> "module:function".  One module per area.
COMMANDS = {
    # the repository and bundles
    "init": "cl.cli.repo_cmds:init",
    "status": "cl.cli.repo_cmds:status",
    "fsck": "cl.cli.repo_cmds:fsck",
    "gc": "cl.cli.repo_cmds:gc",
    "reindex": "cl.cli.repo_cmds:reindex",
    "config": "cl.cli.repo_cmds:config",
    "upload": "cl.cli.bundle_cmds:upload",
    "make": "cl.cli.bundle_cmds:make",
    "ls": "cl.cli.bundle_cmds:ls",
    "info": "cl.cli.bundle_cmds:info",
    "cat": "cl.cli.bundle_cmds:cat",
    "download": "cl.cli.bundle_cmds:download",
    "edit": "cl.cli.bundle_cmds:edit",
    "rm": "cl.cli.bundle_cmds:rm",
    "search": "cl.cli.bundle_cmds:search",
    "open": "cl.cli.bundle_cmds:open_",
    # runs
    "run": "cl.cli.run_cmds:run",
    "worker": "cl.cli.run_cmds:worker",
    "workers": "cl.cli.run_cmds:workers",
    "kill": "cl.cli.run_cmds:kill",
    "wait": "cl.cli.run_cmds:wait",
    "write": "cl.cli.run_cmds:write",
    "netcat": "cl.cli.run_cmds:netcat",
    # provenance
    "ancestors": "cl.cli.provenance_cmds:ancestors",
    "descendants": "cl.cli.provenance_cmds:descendants",
    "mimic": "cl.cli.provenance_cmds:mimic",
    "macro": "cl.cli.provenance_cmds:macro",
    "rerun": "cl.cli.provenance_cmds:rerun",
    # worksheets
    "new": "cl.cli.worksheet_cmds:new",
    "work": "cl.cli.worksheet_cmds:work",
    "wls": "cl.cli.worksheet_cmds:wls",
    "wrm": "cl.cli.worksheet_cmds:wrm",
    "add": "cl.cli.worksheet_cmds:add",
    "detach": "cl.cli.worksheet_cmds:detach",
    "wedit": "cl.cli.worksheet_cmds:wedit",
    "print": "cl.cli.worksheet_cmds:print_",
    "wlog": "cl.cli.worksheet_cmds:wlog",
    "wopen": "cl.cli.worksheet_cmds:wopen",
    # sharing
    "remote": "cl.cli.remote_cmds:remote",
    "alias": "cl.cli.remote_cmds:alias",
    "clone": "cl.cli.remote_cmds:clone",
    "push": "cl.cli.remote_cmds:push",
    "pull": "cl.cli.remote_cmds:pull",
    "fetch": "cl.cli.remote_cmds:fetch",
    "cp": "cl.cli.remote_cmds:cp",
    "wadd": "cl.cli.remote_cmds:wadd",
    "serve-stdio": "cl.cli.remote_cmds:serve_stdio",
    "server": "cl.cli.server_cmds:server",
    "uinfo": "cl.cli.access_cmds:uinfo",
    "uls": "cl.cli.access_cmds:uls",
    "gnew": "cl.cli.access_cmds:gnew",
    "gls": "cl.cli.access_cmds:gls",
    "ginfo": "cl.cli.access_cmds:ginfo",
    "grm": "cl.cli.access_cmds:grm",
    "uadd": "cl.cli.access_cmds:uadd",
    "urm": "cl.cli.access_cmds:urm",
    "perm": "cl.cli.access_cmds:perm",
    "wperm": "cl.cli.access_cmds:wperm",
    "chown": "cl.cli.access_cmds:chown",
    "completion": "cl.cli.completion:completion",
    # CodaLab's other commands
    "help": "cl.cli.main:help_",
}

# CodaLab's short names for commands (cl help lists them with their command).
ALIASES = {
    "up": "upload", "down": "download", "e": "edit", "de": "detach", "s": "search", "i": "info",
    "o": "open", "st": "status", "w": "work", "we": "wedit", "p": "print", "ws": "wls",
    "wsearch": "wls", "wo": "wopen",
}

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class LazyGroup(CompatGroup):
    def list_commands(self, ctx):
        return sorted(name for name in COMMANDS if _available(name))

    def get_command(self, ctx, name):
        target = COMMANDS.get(ALIASES.get(name, name))
        if target is None:
            return None
        module_name, attr = target.split(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                return None
            raise
        command = getattr(module, attr, None)
        if command is None:
            return None
        from cl.cli.options import check_text
        return check_text(command)


def _available(name: str) -> bool:
    module_name = COMMANDS[name].split(":")[0]
    return importlib.util.find_spec(module_name) is not None


from cl.cli.topics import TopicHelp  # noqa: E402  (kept apart from the table above)


class TopicGroup(TopicHelp, LazyGroup):
    """The commands with their help in topics and a did-you-mean for a
    mistyped name (cl/cli/topics.py)."""


@click.group(cls=TopicGroup, context_settings=CONTEXT)
@click.version_option(package_name="cl-worksheets", prog_name="cl")
def cli():
    """cl: git for experiments.

    Upload code and data as immutable bundles, run commands over them in
    Docker, keep the provenance, write worksheets, push and pull."""


@click.command(name="help")
@click.argument("command", required=False)
@click.option("-v", "--verbose", is_flag=True, help="The full help of every command.")
@click.option("-m", "--markdown", is_flag=True, help="With -v: as Markdown, a section per command.")
@click.pass_context
def help_(ctx, command, verbose, markdown):
    """Show how to use cl, or the command COMMAND (CodaLab's `cl help`)."""
    root = ctx.find_root()
    if verbose and command is None:
        for name in root.command.list_commands(root):
            cmd = root.command.get_command(root, name)
            with click.Context(cmd, info_name=name, parent=root) as sub:
                text = cmd.get_help(sub)
            if markdown:
                click.echo(f"### {name}\n\n" + "".join(f"    {line}\n" for line in text.splitlines()))
            else:
                click.echo(text + "\n")
        return
    if command is None:
        click.echo(root.get_help())
        aliases = ", ".join(f"{short} = {long}" for short, long in sorted(ALIASES.items()))
        click.echo(f"\nShort names: {aliases}")
        return
    cmd = root.command.get_command(root, command)
    if cmd is None:
        raise UsageError(f"no such command: '{command}' (see cl help)")
    with click.Context(cmd, info_name=ALIASES.get(command, command), parent=root) as sub:
        click.echo(cmd.get_help(sub))


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


def main(argv=None) -> None:
    args = sys.argv[1:] if argv is None else argv
    _show_bytes_escaped()
    try:
        cli.main(args=args, prog_name="cl", standalone_mode=False)
    except CLError as exc:
        text = exc.message + (f"; {exc.hint}" if exc.hint else "")
        click.echo(f"cl: {one_line(text)}", err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("cl: aborted", err=True)
        sys.exit(130)
    except click.exceptions.NoArgsIsHelpError as exc:
        click.echo(exc.ctx.get_help() if exc.ctx else str(exc))
        sys.exit(0)
    except click.ClickException as exc:
        where = f"cl {exc.ctx.info_name}" if getattr(exc, "ctx", None) and exc.ctx.parent else "cl"
        click.echo(f"{where}: {one_line(exc.format_message())}", err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
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
        click.echo(one_line(f"cl: cannot use '{exc.filename}': {exc.strerror}"), err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        click.echo("cl: interrupted", err=True)
        sys.exit(130)
    except Exception as exc:
        problem = _index_damage(exc)
        if problem is None:
            raise_bug()
        click.echo(f"cl: {one_line(problem.message)}; {problem.hint}", err=True)
        sys.exit(problem.exit_code)


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


def run() -> None:
    """The `cl` program (console script and `python -m cl`): main(), then
    the interpreter's exit without its teardown.  Python's exit waits for
    non-daemon threads, runs the atexit callbacks and flushes stdout and
    stderr, then frees every module and object one by one -- a visible
    share of a short command, for memory the kernel frees at once.  The first three are done here, as Python does them; the
    teardown is skipped.  Everything cl writes is closed where it is
    written (`with`), never left to the teardown.  An exception that
    escapes main() -- a bug -- takes Python's usual way out."""
    try:
        main()
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


def raise_bug() -> None:
    """Anything not a CLError is a bug in cl: show the traceback and say so."""
    import traceback
    traceback.print_exc()
    click.echo("cl: this is a bug in cl; please report it with the traceback above", err=True)
    sys.exit(70)
