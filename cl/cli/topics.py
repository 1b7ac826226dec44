"""How `cl` presents its commands: `cl --help` lists them by topic, as
git's help does, each with its first sentence in full; a mistyped command
name gets a did-you-mean.  The command table itself (name -> module) is
cl/cli/main.py's COMMANDS; this module owns only the grouping and the
wording around it."""

import os

import click

from cl.errors import did_you_mean

COMPLETE_VAR = "_CL_COMPLETE"   # click's completion protocol: set by the script `cl completion` prints

# topic -> its commands, in the order a newcomer meets them.  Every command
# is in exactly one topic (tests/cli/test_help_topics.py); names listed
# here that this build does not have are skipped.
TOPICS = {
    "bundles": ("upload", "make", "ls", "info", "cat", "download", "edit", "rm", "search",
                "open"),
    "runs": ("run", "wait", "kill", "worker", "workers", "write", "netcat"),
    "provenance": ("ancestors", "descendants", "mimic", "macro", "rerun"),
    "worksheets": ("new", "work", "wls", "add", "detach", "wedit", "print", "wlog", "wrm",
                   "wopen"),
    "sharing": ("remote", "alias", "clone", "fetch", "push", "pull", "cp", "wadd", "server",
                "serve-stdio"),
    "people and permissions": ("uinfo", "uls", "gnew", "gls", "ginfo", "grm", "uadd", "urm",
                               "perm", "wperm", "chown"),
    "repository": ("init", "status", "config", "fsck", "gc", "reindex", "completion", "help"),
}

# The width a description may take before the formatter wraps it: long
# enough that no first sentence is cut with "...".
_FULL = 1000


class TopicHelp(click.Group):
    """A group mixin: topic-grouped help, did-you-mean for commands, and
completion of names for the commands' arguments (cl/cli/completion.py)."""

    def format_commands(self, ctx, formatter):
        present = set(self.list_commands(ctx))
        for topic, names in TOPICS.items():
            rows = []
            for name in names:
                cmd = self.get_command(ctx, name) if name in present else None
                if cmd is not None and not cmd.hidden:
                    rows.append((name, cmd.get_short_help_str(_FULL)))
            if rows:
                with formatter.section(topic.capitalize()):
                    formatter.write_dl(rows)
        others = sorted(present - {n for names in TOPICS.values() for n in names})
        if others:
            with formatter.section("Other commands"):
                formatter.write_dl([(n, self.get_command(ctx, n).get_short_help_str(_FULL))
                                    for n in others if self.get_command(ctx, n) is not None])

    def get_command(self, ctx, name):
        command = super().get_command(ctx, name)
        if command is not None and COMPLETE_VAR in os.environ:  # only the shell asking
            from cl.cli.completion import attach
            attach(command, name)
        return command

    def resolve_command(self, ctx, args):
        name = click.utils.make_str(args[0]) if args else ""
        if (args and not name.startswith("-") and not ctx.resilient_parsing
                and self.get_command(ctx, name) is None):
            hint = did_you_mean(name, self.list_commands(ctx))
            raise click.UsageError(f"no such command '{name}'"
                                   + (f"; {hint}" if hint else "; see 'cl --help'"), ctx)
        return super().resolve_command(ctx, args)
