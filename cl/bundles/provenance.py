"""Provenance: the ancestors or descendants of a bundle as a graph value,
and its text forms — the nested list of `cl ancestors`, JSON for scripts,
Graphviz DOT and Mermaid.

The graph comes from the index's dependency edges (cl/index/provenance.py),
names from the bundles table: no bundle object is read, so printing the
10,000 ancestors of a run costs a few queries and one pass over the edges.
The nested list of a whole closure, what the commands print most, is made
by `lines_text` from integer-keyed rows without a graph (`graph_text_of`)."""

import json
import gc
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from itertools import groupby
from operator import itemgetter
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
    """The bundles reachable from `root` in one direction, as the index
    gave them: `rows`, the edges `(child, key, parent, path)`, and `info`,
    `(name, kind, state, deleted, seq)` of each bundle the index has.
    `nodes` holds the root first, then the others in the order the edges
    name them; `cut` names the bundles whose further edges the depth limit
    left out.  `nodes`, `edges` and `cut` are made when first asked for:
    printing the nested list of 100,000 bundles needs none of them."""

    root: ObjectId
    direction: str
    depth: int | None
    rows: list = field(repr=False)
    info: dict = field(repr=False)
    cut_ids: frozenset = field(default=frozenset(), repr=False)
    runs: dict | None = field(default=None, repr=False, compare=False)  # see cl.index.provenance.Closure
    ordered: bool = field(default=False, repr=False, compare=False)

    @cached_property
    def _ids(self) -> dict[str, ObjectId]:
        """One ObjectId per bundle, shared by its node and all its edges, in
        node order: the root, then each edge's parent and child."""
        rows = self.rows
        ends: list = [None] * (2 * len(rows))
        ends[0::2] = [row[2] for row in rows]
        ends[1::2] = [row[0] for row in rows]
        ids = {self.root: self.root}
        for text in dict.fromkeys(ends):
            if text not in ids:
                ids[text] = _indexed_id(text)
        return ids

    @cached_property
    def nodes(self) -> dict[ObjectId, Node]:
        info = self.info
        with _quiet_gc():
            return {oid: _node(oid, info.get(oid)) for oid in self._ids.values()}

    @cached_property
    def edges(self) -> tuple[Edge, ...]:
        ids, new = self._ids, tuple.__new__
        with _quiet_gc():
            return tuple([new(Edge, (ids[parent], ids[child], key, path))
                          for child, key, parent, path in self.rows])

    @cached_property
    def cut(self) -> frozenset:
        ids = self._ids
        return frozenset(ids.get(c) or _indexed_id(c) for c in self.cut_ids)

    def next_edges(self) -> dict[str, list[Edge]]:
        """For each bundle, the edges leading away from the root: to its
        dependencies (ancestors, in key order) or to its dependents
        (descendants, in creation order)."""
        return _next(self, (self.edges,), 1, 0, 2)

    def next_rows(self) -> dict[str, list[tuple]]:
        """`next_edges` as the index's rows `(child, key, parent, path)`."""
        return self._next_rows

    @cached_property
    def _next_rows(self) -> dict[str, list[tuple]]:
        runs = self.runs
        if runs is None:
            return _next(self, (self.rows,), 0, 2, 1)
        if not self.ordered:  # the runs are this graph's own: sorted in place
            info = self.info
            with _quiet_gc():
                for run in runs.values():
                    if len(run) > 1:
                        run.sort(key=lambda e: ((info.get(e[0]) or _NO_SUMMARY)[4], e[1]))
        return runs

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


def _indexed_id(text: str) -> ObjectId:
    """An id read back from the index, which stores only ids that were
    ObjectIds when written: not re-validated (100,000 regex matches are a
    visible part of printing 100,000 ancestors)."""
    return str.__new__(ObjectId, text)


@contextmanager
def _quiet_gc():
    """No cyclic garbage collection while a graph's hundreds of thousands of
    tuples are made (none of them is garbage yet, and the collector walking
    them again and again took a third of the time of 100,000 ancestors)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _next(g: Graph, parts, child: int, parent: int, key: int) -> dict[str, list]:
    """`Graph.next_edges` over the edges in `parts` (lists of edges) whose
    child, parent and key are at these positions."""
    up = g.direction == ANCESTORS
    out: dict[str, list] = {}
    with _quiet_gc():
        # the index gives each bundle's edges together: one lookup a run
        for edges in parts:
            for bid, run in groupby(edges, itemgetter(child if up else parent)):
                have = out.get(bid)
                if have is None:
                    out[bid] = list(run)
                else:
                    have += run
        if up:
            # one bundle's edges differ in their key: the index's rows,
            # child first, sort by it as they are
            by_key = None if child == 0 and key == 1 else itemgetter(key)
            for have in out.values():
                if len(have) > 1:
                    have.sort(key=by_key)
        else:
            info = g.info
            for have in out.values():
                if len(have) > 1:
                    have.sort(key=lambda e: ((info.get(e[child]) or _NO_SUMMARY)[4], e[key]))
    return out


_NO_SUMMARY = ("", "", "", 0, 0)


def graph(repo: Repository, bid: ObjectId, direction: str, depth: int | None = None) -> Graph:
    """The ancestors or live descendants of `bid`, `depth` levels deep
    (all of them when None)."""
    if depth is not None and depth < 0:
        raise ValueError("depth must be >= 0")
    with _quiet_gc():
        found = q.closure(repo.db, bid, direction == ANCESTORS, depth)
    return Graph(ObjectId(bid), direction, depth, found.edges, found.info, frozenset(found.cut), found.runs,
                 found.ordered)


def graph_text_of(repo: Repository, bid: ObjectId, direction: str, depth: int | None = None,
                  form: str = "tree") -> str:
    """The graph of `bid` as text (`FORMS`), the graph dropped before the
    garbage collector runs again."""
    render = FORMS[form]
    with _quiet_gc():
        if form == "tree" and depth is None:
            found = q.lines(repo.db, bid, direction == ANCESTORS)
            if found is not None:
                text = lines_text(found)
                del found
                return text
        g = graph(repo, bid, direction, depth)
        text = render(g)
        del g  # freed by reference counting, before the collector is back
    return text


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
    row, repeat, cut)`, `row` the index's `(child, key, parent, path)` (the
    fast path for printing 100,000 lines).  A bundle first met at the depth
    limit is expanded where it is met again higher up."""
    nxt = g.next_rows()
    far = 2 if g.direction == ANCESTORS else 0
    limit = -1 if g.depth is None else g.depth
    cut = g.cut_ids
    expanded: set[str] = set()
    stack: list[tuple[int, str, tuple | None]] = [(0, g.root, None)]
    pop, push = stack.pop, stack.extend
    while stack:
        level, bid, row = pop()
        if bid in expanded:
            yield level, bid, row, True, False
            continue
        children = nxt.get(bid)
        if level == limit:
            yield level, bid, row, False, bool(children) or bid in cut
            continue
        expanded.add(bid)
        yield level, bid, row, False, False
        if children:
            below = level + 1
            push([(below, r[far], r) for r in reversed(children)])


def tree(g: Graph) -> list[TreeLine]:
    """The nested list as values: one TreeLine per line."""
    nodes, ids = g.nodes, g._ids
    return [TreeLine(level, nodes[ids[bid]], row and Edge(ids[row[2]], ids[row[0]], row[1], row[3]),
                     repeat, cut)
            for level, bid, row, repeat, cut in _walk(g)]


def tree_text(g: Graph) -> str:
    """The task's form: `- exp2(0x2d4192)`, each dependency indented below
    its dependent as `- key: name(0x…)`, repeats as `(see above)`.  The walk
    of `_walk`, written out here for speed: a line of 100,000 costs no
    generator step, and each line is made whole, indent included, in one
    comprehension with its siblings' when their parent is expanded."""
    indents = ["  " * i + "- " for i in range(MAX_INDENT + 1)]
    up = g.direction == ANCESTORS
    far = 2 if up else 0
    with _quiet_gc():
        heads, marks = {}, {}
        for bid, (name, _, _, deleted, _) in g.info.items():
            heads[bid] = f"{name or '?'}(0x{bid[:6]})"
            if deleted:
                marks[bid] = " (deleted)"
        ends = set(map(itemgetter(far), g.rows))
        ends.add(g.root)
        for bid in ends - heads.keys():
            heads[bid] = f"?(0x{bid[:6]})"  # an edge names it, the index lacks it
            marks[bid] = " (missing)"
        full = {bid: head + marks[bid] if bid in marks else head for bid, head in heads.items()}

        def label(row) -> str:  # the rare line with a path
            bid = row[2]
            return (row[1] + ": " if row[1] else "") + heads[bid] + "/" + row[3] + marks.get(bid, "")

        nxt = g.next_rows()
        limit = -1 if g.depth is None else g.depth
        cut = g.cut_ids
        expanded: set[str] = set()
        out: list[str] = []
        append = out.append
        # each entry's line comes whole, indent and all: its bundle's
        # children's lines are made together when it is expanded
        stack: list[tuple[int, str, str]] = [(0, g.root, indents[0] + full[g.root])]
        pop, push = stack.pop, stack.extend
        while stack:
            level, bid, text = pop()
            if bid in expanded:
                append(text + " (see above)")
                continue
            children = nxt.get(bid)
            if level == limit:
                append(text + " ..." if children or bid in cut else text)
                continue
            expanded.add(bid)
            append(text)
            if children:
                below = level + 1
                if below == len(indents):  # past MAX_INDENT the level is written out
                    indents.append(f"{indents[MAX_INDENT]}[{below}] ")
                ind = indents[below]
                push([(below, r[far], ind + label(r) if up and r[3] else
                       f"{ind}{r[1]}: {full[r[far]]}" if r[1] else ind + full[r[far]])
                      for r in reversed(children)])
        return "\n".join(out)


def lines_text(found: q.Lines) -> str:
    """`tree_text` of a whole closure (no depth limit) from the index's
    integer-keyed rows (cl/index/provenance.py:lines): the same text, the
    walk over small integers, each bundle's text made once, by SQLite."""
    indents = ["  " * i + "- " for i in range(MAX_INDENT + 1)]
    heads, paths, far = found.heads, found.paths, found.far
    full = {n: head + mark if mark else head for n, (head, mark) in heads.items()}

    def label(row) -> str:
        if paths and (row[0], row[1]) in paths:  # the rare edge with a path
            head, mark = heads[row[2]]
            return (row[1] + ": " if row[1] else "") + head + "/" + paths[row[0], row[1]] + mark
        return row[1] + ": " + full[row[far]] if row[1] else full[row[far]]

    nxt = found.runs
    expanded: set[int] = set()
    out: list[str] = []
    append = out.append
    stack: list[tuple[int, int, str]] = [(0, found.root, indents[0] + full[found.root])]
    pop, push = stack.pop, stack.extend
    while stack:
        level, n, text = pop()
        if n in expanded:
            append(text + " (see above)")
            continue
        expanded.add(n)
        append(text)
        children = nxt.get(n)
        if children:
            below = level + 1
            if below == len(indents):  # past MAX_INDENT the level is written out
                indents.append(f"{indents[MAX_INDENT]}[{below}] ")
            ind = indents[below]
            if paths:
                push([(below, r[far], ind + label(r)) for r in reversed(children)])
            else:
                push([(below, r[far], f"{ind}{r[1]}: {full[r[far]]}" if r[1] else ind + full[r[far]])
                      for r in reversed(children)])
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


FORMS = {"tree": tree_text, "json": json_text, "dot": dot_text, "mermaid": mermaid_text}
