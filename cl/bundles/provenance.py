"""Provenance: the ancestors or descendants of a bundle as a graph value,
and its text forms — the nested list of `cl ancestors`, JSON for scripts,
Graphviz DOT and Mermaid.

The graph comes from the index's dependency edges (cl/index/provenance.py),
names from the bundles table: no bundle object is read, so printing the
10,000 ancestors of a run costs a few queries and one pass over the edges."""

import json
from dataclasses import dataclass

from cl.index import provenance as q
from cl.objects.ids import ObjectId
from cl.repo import Repository

ANCESTORS = "ancestors"
DESCENDANTS = "descendants"

# A chain of 10,000 runs would print 10,000 levels of indentation (100 MB of
# spaces): past this level the indentation stops growing and each line says
# its level instead, so the output stays linear in the number of bundles.
MAX_INDENT = 30


@dataclass(frozen=True)
class Node:
    id: ObjectId
    name: str
    kind: str
    state: str
    deleted: bool = False
    missing: bool = False  # an edge names it but this repository does not have it
    seq: int = 0

    @property
    def label(self) -> str:
        return f"{self.name or '?'}({self.id.short})"

    def to_json(self) -> dict:
        return {"id": self.id.display, "name": self.name, "kind": self.kind, "state": self.state,
                "deleted": self.deleted, "missing": self.missing}


@dataclass(frozen=True)
class Edge:
    """`child` sees `parent`/`path` at `key`."""

    parent: ObjectId
    child: ObjectId
    key: str
    path: str = ""

    def to_json(self) -> dict:
        return {"parent": self.parent.display, "child": self.child.display, "key": self.key,
                "path": self.path}


@dataclass(frozen=True)
class Graph:
    """The bundles reachable from `root` in one direction.  `nodes` holds
    the root first, then the others in discovery order; `cut` names the
    bundles whose further edges the depth limit left out."""

    root: ObjectId
    direction: str
    depth: int | None
    nodes: dict
    edges: tuple[Edge, ...]
    cut: frozenset = frozenset()

    def next_edges(self) -> dict[str, list[Edge]]:
        """For each bundle, the edges leading away from the root: to its
        dependencies (ancestors, in key order) or to its dependents
        (descendants, in creation order)."""
        out: dict[str, list[Edge]] = {}
        if self.direction == ANCESTORS:
            for e in self.edges:
                out.setdefault(e.child, []).append(e)
            for edges in out.values():
                edges.sort(key=lambda e: e.key)
        else:
            for e in self.edges:
                out.setdefault(e.parent, []).append(e)
            seq = {bid: node.seq for bid, node in self.nodes.items()}
            for edges in out.values():
                edges.sort(key=lambda e: (seq.get(e.child, 0), e.key))
        return out

    def far_end(self, edge: Edge) -> ObjectId:
        return edge.parent if self.direction == ANCESTORS else edge.child

    def levels(self) -> dict[str, int]:
        """Each bundle's shortest distance from the root."""
        nxt = self.next_edges()
        level = {self.root: 0}
        frontier = [self.root]
        while frontier:
            following = []
            for bid in frontier:
                for e in nxt.get(bid, ()):
                    other = self.far_end(e)
                    if other not in level:
                        level[other] = level[bid] + 1
                        following.append(other)
            frontier = following
        return level


def graph(repo: Repository, bid: ObjectId, direction: str, depth: int | None = None) -> Graph:
    """The ancestors or live descendants of `bid`, `depth` levels deep
    (all of them when None)."""
    if depth is not None and depth < 0:
        raise ValueError("depth must be >= 0")
    up = direction == ANCESTORS
    rows, cut = q.closure_edges(repo.db, bid, up, depth)
    order: dict[str, None] = {bid: None}
    edges = []
    for child, key, parent, path in rows:
        edges.append(Edge(ObjectId(parent), ObjectId(child), key, path))
        order[parent if up else child] = None
    info = q.summaries(repo.db, list(order))
    nodes = {}
    for node_id in order:
        row = info.get(node_id)
        oid = ObjectId(node_id)
        if row is None:
            nodes[oid] = Node(oid, "", "", "", missing=True)
        else:
            name, kind, state, deleted, seq = row
            nodes[oid] = Node(oid, name, kind, state, bool(deleted), seq=seq)
    return Graph(ObjectId(bid), direction, depth, nodes, tuple(edges), frozenset(cut))


# --- the nested list -----------------------------------------------------------


@dataclass(frozen=True)
class TreeLine:
    """One line of the nested list: `node` reached through `edge` (None for
    the root) at `level`.  `repeat`: printed in full above; `cut`: it has
    further edges beyond the depth limit."""

    level: int
    node: Node
    edge: Edge | None
    repeat: bool = False
    cut: bool = False


def tree(g: Graph) -> list[TreeLine]:
    """Depth-first, each bundle's subtree in full the first time it is
    reached and `repeat` after that.  A bundle first met at the depth limit
    is expanded where it is met again higher up."""
    nxt = g.next_edges()
    expanded: set[str] = set()
    lines: list[TreeLine] = []
    stack: list[tuple[int, str, Edge | None]] = [(0, g.root, None)]
    while stack:
        level, bid, edge = stack.pop()
        node = g.nodes[bid]
        children = nxt.get(bid, ())
        at_limit = g.depth is not None and level >= g.depth
        if bid in expanded:
            lines.append(TreeLine(level, node, edge, repeat=True))
            continue
        if at_limit:
            lines.append(TreeLine(level, node, edge, cut=bool(children) or bid in g.cut))
            continue
        expanded.add(bid)
        lines.append(TreeLine(level, node, edge))
        for e in reversed(children):
            stack.append((level + 1, g.far_end(e), e))
    return lines


def tree_text(g: Graph) -> str:
    """The task's form: `- exp2(0x2d4192)`, each dependency indented below
    its dependent as `- key: name(0x…)`, repeats as `(see above)`."""
    out = []
    for line in tree(g):
        indent = "  " * min(line.level, MAX_INDENT)
        text = indent + "- "
        if line.level > MAX_INDENT:
            text += f"[{line.level}] "
        if line.edge is not None and line.edge.key:
            text += line.edge.key + ": "
        text += line.node.label
        if line.edge is not None and line.edge.path and g.direction == ANCESTORS:
            text += "/" + line.edge.path
        if line.node.missing:
            text += " (missing)"
        elif line.node.deleted:
            text += " (deleted)"
        if line.repeat:
            text += " (see above)"
        elif line.cut:
            text += " ..."
        out.append(text)
    return "\n".join(out)


# --- graph forms -----------------------------------------------------------------


def to_json(g: Graph) -> dict:
    levels = g.levels()
    nodes = []
    for bid, node in g.nodes.items():
        rec = node.to_json()
        rec["level"] = levels.get(bid)
        rec["cut"] = bid in g.cut
        nodes.append(rec)
    return {"root": g.root.display, "direction": g.direction, "depth": g.depth,
            "nodes": nodes, "edges": [e.to_json() for e in g.edges]}


def json_text(g: Graph) -> str:
    return json.dumps(to_json(g), indent=2)


def _dot_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _dot_str(text: str) -> str:
    return '"' + _dot_escape(text) + '"'


def dot_text(g: Graph) -> str:
    """Graphviz: edges point from a dependency to what was made from it."""
    out = [f"digraph {g.direction} {{", "  rankdir=LR;", "  node [shape=box];"]
    for bid, node in g.nodes.items():
        attrs = [f'label="{_dot_escape(node.name or "?")}\\n{node.id.short}"']
        if bid == g.root:
            attrs.append("style=bold")
        if node.missing or node.deleted:
            attrs.append("style=dashed")
        out.append(f"  {_dot_str(node.id.display)} [{', '.join(attrs)}];")
    for e in g.edges:
        label = e.key + (f" ({e.path})" if e.path else "")
        attr = f" [label={_dot_str(label)}]" if label else ""
        out.append(f"  {_dot_str(e.parent.display)} -> {_dot_str(e.child.display)}{attr};")
    out.append("}")
    return "\n".join(out)


def _mermaid_str(text: str) -> str:
    return '"' + text.replace("&", "#amp;").replace('"', "#quot;") + '"'


def mermaid_text(g: Graph) -> str:
    """Mermaid flowchart; node ids are positions (n0 is the root)."""
    ids = {bid: f"n{i}" for i, bid in enumerate(g.nodes)}
    out = ["flowchart LR"]
    for bid, node in g.nodes.items():
        shape = _mermaid_str(f"{node.name or '?'} {node.id.short}")
        out.append(f"  {ids[bid]}[{shape}]")
    for e in g.edges:
        label = e.key + (f" ({e.path})" if e.path else "")
        arrow = f"-->|{_mermaid_str(label)}|" if label else "-->"
        out.append(f"  {ids[e.parent]} {arrow} {ids[e.child]}")
    if g.root in ids:
        out.append(f"  style {ids[g.root]} stroke-width:3px")
    return "\n".join(out)
