"""The command line: a click group that imports each command's module
only when that command runs (so `cl ls` starts fast).  Its errors become
one line on stderr and an exit code in cl/cli/entry.py, which also runs
`cl serve-stdio PATH` without it."""

import importlib
import sys

import click

from cl.cli.entry import guarded, one_line
from cl.cli.parsing import CompatGroup
from cl.errors import UsageError

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


def main(argv=None) -> None:
    args = sys.argv[1:] if argv is None else argv
    guarded(lambda: _invoke(args))


def _invoke(args: list[str]) -> None:
    """Run the command line; click's own outcomes (a usage error, help
    asked for by giving no arguments, ^C at a prompt) as cl reports them.
    Everything else is guarded's."""
    try:
        cli.main(args=args, prog_name="cl", standalone_mode=False)
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
