"""Shell completion: `cl completion bash|zsh|fish` prints the script a
shell sources (click's, driven by the `_CL_COMPLETE` variable), and the
arguments that name bundles, worksheets and remotes complete those names
from the repository the shell is in (cl/app/completion.py reads the index).

Which argument names what is said here, by parameter name, so a command
module declares nothing: `attach` gives each loaded command's parameters
their completion."""

import click

from cl.app.completion import candidates
from cl.cli.context import json_option
from cl.cli.topics import COMPLETE_VAR

SHELLS = ("bash", "zsh", "fish")

# parameter name -> what it names, for every command ...
BY_NAME = {"spec": "bundle", "specs": "bundle", "target": "bundle", "targets": "bundle",
           "worksheet": "worksheet", "worksheets": "worksheet"}
# ... unless the command says otherwise ("COMMAND [SUB]", parameter) -> kind, or None: no names
BY_COMMAND = {
    ("init", "worksheet"): None,            # the name of a worksheet to create
    ("add", "items"): "bundle",
    ("add", "dest"): "worksheet",
    ("macro", "inputs"): "bundle",
    ("wadd", "source"): "worksheet",
    ("wadd", "dest"): "worksheet",
    ("push", "args"): "sharing",
    ("pull", "args"): "sharing",
    ("remote rm", "name"): "remote",
    ("alias", "name"): "remote",
}


def _completer(kind: str):
    def complete(ctx, param, incomplete):
        if kind == "sharing":  # [REMOTE] [WS|SPEC]...: a remote first, then what to send
            first = not (ctx.params.get(param.name) or ())
            kinds = ("remote", "worksheet", "bundle") if first else ("worksheet", "bundle")
            return sorted({n for k in kinds for n in candidates(k, incomplete)})
        return candidates(kind, incomplete)
    return complete


def attach(command: click.Command, path: str) -> click.Command:
    """Give `command`'s parameters (and its subcommands') their completion."""
    for param in command.params:
        kind = BY_COMMAND.get((path, param.name), BY_NAME.get(param.name or ""))
        if (path, param.name) in BY_COMMAND or kind is not None:
            if kind is not None and getattr(param, "_custom_shell_complete", None) is None:
                # click's own slot for a shell_complete= given at construction
                param._custom_shell_complete = _completer(kind)
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            attach(sub, f"{path} {name}")
    return command


@click.command()
@click.argument("shell", type=click.Choice(SHELLS))
@json_option
def completion(shell, as_json):
    """Print the shell completion script for SHELL (bash, zsh or fish).

    \b
    bash:  eval "$(cl completion bash)"     (in ~/.bashrc)
    zsh:   eval "$(cl completion zsh)"      (in ~/.zshrc)
    fish:  cl completion fish > ~/.config/fish/completions/cl.fish

    Commands, options, bundle names, worksheets and remotes complete."""
    from click.shell_completion import get_completion_class
    root = click.get_current_context().find_root().command
    script = get_completion_class(shell)(root, {}, "cl", COMPLETE_VAR).source()
    if as_json:
        from cl.cli import output
        output.as_json({"shell": shell, "script": script})
        return
    click.echo(script)
