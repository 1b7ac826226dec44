"""Provenance: the ancestors or descendants of a bundle as a graph value,
and its text forms — the nested list of `cl ancestors`, JSON for scripts,
Graphviz DOT and Mermaid.

The graph comes from the index's dependency edges (cl/index/provenance.py),
names from the bundles table: no bundle object is read, so printing the
10,000 ancestors of a run costs a few queries and one pass over the edges."""

import json
from dataclasses import dataclass
from operator import attrgetter
from typing import NamedTuple

from cl.index import provenance as q
from cl.objects.ids import ObjectId
from cl.repo import Repository

ANCESTORS = "ancestors"
DESCENDANTS = "descendants"

# A chain of 10,000 runs would print 10,000 levels of indentation (100 MB of
# spaces): past this level the indentation stops growing and each line says
# its level instead, so the output stays linear in the number of bundles.
MAX_INDENT = 30


class Node(NamedTuple):
    """A bundle in a provenance graph, summarized from the index."""

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


class Edge(NamedTuple):
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
            by_key = attrgetter("key")
            for edges in out.values():
                if len(edges) > 1:
                    edges.sort(key=by_key)
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


def _node(oid: ObjectId, summary) -> Node:
    if summary is None:
        return Node(oid, "", "", "", missing=True)
    name, kind, state, deleted, seq = summary
    return _make_node((oid, name, kind, state, bool(deleted), False, seq))


_make_node = Node._make
_make_edge = Edge._make


def _indexed_id(text: str) -> ObjectId:
    """An id read back from the index, which stores only ids that were
    ObjectIds when written: not re-validated (100,000 regex matches are a
    visible part of printing 100,000 ancestors)."""
    return str.__new__(ObjectId, text)


def graph(repo: Repository, bid: ObjectId, direction: str, depth: int | None = None) -> Graph:
    """The ancestors or live descendants of `bid`, `depth` levels deep
    (all of them when None)."""
    if depth is not None and depth < 0:
        raise ValueError("depth must be >= 0")
    up = direction == ANCESTORS
    rows, info, cut = q.closure(repo.db, bid, up, depth)
    root = ObjectId(bid)
    nodes = {root: _node(root, info.get(root))}
    # Every edge end is a bundle of the closure: one ObjectId per bundle,
    # shared by its node and all its edges.
    ids: dict[str, ObjectId] = {root: root}
    edges = []
    add = edges.append
    for child, key, parent, path in rows:
        p = ids.get(parent)
        if p is None:
            p = ids[parent] = _indexed_id(parent)
        c = ids.get(child)
        if c is None:
            c = ids[child] = _indexed_id(child)
        add(_make_edge((p, c, key, path)))
    for text, oid in ids.items():
        if oid not in nodes:
            nodes[oid] = _node(oid, info.get(text))
    return Graph(root, direction, depth, nodes, tuple(edges),
                 frozenset(ids.get(c) or _indexed_id(c) for c in cut))


# --- the nested list -----------------------------------------------------------


class TreeLine(NamedTuple):
    """One line of the nested list: `node` reached through `edge` (None for
    the root) at `level`.  `repeat`: printed in full above; `cut`: it has
    further edges beyond the depth limit."""

    level: int
    node: Node
    edge: Edge | None
    repeat: bool = False
    cut: bool = False


def _walk(g: Graph):
    """Depth-first, each bundle's subtree in full the first time it is
    reached and a repeat after that; yields plain tuples `(level, bundle,
    edge, repeat, cut)` (the fast path for printing 100,000 lines).  A bundle
    first met at the depth limit is expanded where it is met again higher
    up."""
    nxt = g.next_edges()
    up = g.direction == ANCESTORS
    limit = -1 if g.depth is None else g.depth
    cut = g.cut
    expanded: set[str] = set()
    stack: list[tuple[int, ObjectId, Edge | None]] = [(0, g.root, None)]
    pop, push = stack.pop, stack.extend
    while stack:
        level, bid, edge = pop()
        if bid in expanded:
            yield level, bid, edge, True, False
            continue
        children = nxt.get(bid)
        if level == limit:
            yield level, bid, edge, False, bool(children) or bid in cut
            continue
        expanded.add(bid)
        yield level, bid, edge, False, False
        if children:
            below = level + 1
            push([(below, e.parent if up else e.child, e) for e in reversed(children)])


def tree(g: Graph) -> list[TreeLine]:
    """The nested list as values: one TreeLine per line."""
    nodes = g.nodes
    return [TreeLine(level, nodes[bid], edge, repeat, cut) for level, bid, edge, repeat, cut in _walk(g)]


def tree_text(g: Graph) -> str:
    """The task's form: `- exp2(0x2d4192)`, each dependency indented below
    its dependent as `- key: name(0x…)`, repeats as `(see above)`."""
    indents = ["  " * i + "- " for i in range(MAX_INDENT + 1)]
    show_path = g.direction == ANCESTORS
    heads, marks = {}, {}
    for bid, node in g.nodes.items():
        heads[bid] = f"{node.name or '?'}(0x{bid[:6]})"
        marks[bid] = " (missing)" if node.missing else " (deleted)" if node.deleted else ""
    out = []
    append = out.append
    for level, bid, edge, repeat, cut in _walk(g):
        text = indents[level] if level <= MAX_INDENT else f"{indents[MAX_INDENT]}[{level}] "
        if edge is not None and edge.key:
            text += edge.key + ": "
        text += heads[bid]
        if show_path and edge is not None and edge.path:
            text += "/" + edge.path
        text += marks[bid]
        if repeat:
            text += " (see above)"
        elif cut:
            text += " ..."
        append(text)
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
