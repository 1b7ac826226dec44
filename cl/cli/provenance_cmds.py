"""Provenance commands: `cl ancestors`, `cl descendants`, `cl mimic`,
`cl macro`, `cl rerun`.  They parse, call cl/bundles/provenance.py or
cl/bundles/mimic.py, and print."""

import click

from cl.cli.context import pass_repo
from cl.errors import UsageError


def _graph_command(direction: str, doc: str):
    @click.command(help=doc)
    @click.argument("spec")
    @click.option("--depth", type=click.IntRange(min=0), help="Only this many levels (default: all).")
    @click.option("--json", "as_json", is_flag=True, help="The graph as JSON: nodes and keyed edges.")
    @click.option("--dot", is_flag=True, help="Graphviz DOT text (`| dot -Tsvg`).")
    @click.option("--mermaid", is_flag=True, help="Mermaid flowchart text.")
    @pass_repo
    def command(repo, spec, depth, as_json, dot, mermaid):
        from cl.bundles import provenance
        from cl.bundles.specs import resolve_bundle

        if as_json + dot + mermaid > 1:
            raise UsageError("choose one of --json, --dot, --mermaid")
        bid = resolve_bundle(repo, spec)
        g = provenance.graph(repo, bid, direction, depth)
        if as_json:
            text = provenance.json_text(g)
        elif dot:
            text = provenance.dot_text(g)
        elif mermaid:
            text = provenance.mermaid_text(g)
        else:
            text = provenance.tree_text(g)
        click.echo(text)

    command.name = direction
    return command


ancestors = _graph_command("ancestors", """Print every bundle SPEC was made from, recursively.

\b
  - exp2(0x2d4192)
    - cnn.py: cnn.py(0x45d17c)
    - data: mnist(0x1ba223)

Each dependency is indented below the bundle that uses it, after its key;
a bundle reached again by another path says (see above).""")

descendants = _graph_command("descendants", """Print every bundle made from SPEC, recursively.

Each dependent is indented below the bundle it uses, after the key it uses
it under; a bundle reached again by another path says (see above).""")
