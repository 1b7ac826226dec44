"""Batched provenance queries over the index's dependency edges.

`Index.dependencies(bid)` and `Index.dependents(bid)` answer one bundle at a
time; walking a 100,000-bundle DAG that way costs one query per bundle.  This
module answers whole closures in one recursive query (or, when a depth limit
is given, one query per level over the whole frontier), and fetches the
names of every bundle in a closure in a few `IN` queries.  The recursive
step follows the `deps` primary key (child → its parents) or the
`deps_parent` index (parent → its children): one B-tree probe per bundle,
right for the closures most bundles have.  A closure that is a large part
of the repository (the last run of a long pipeline, the first upload) is
answered by reading the whole edge table in one scan and walking it in
Python, in about half the time of as many probes; a recursive query
stopped after `_scan_from` ids decides which (docs/bench-notes.md).  Both
give the same edges in the same order.

Edges are plain tuples `(child, key, parent, path)`, the `deps` row.

`lines` answers the one question that prints a whole closure line by line
(`cl ancestors`/`cl descendants` without `--depth`, the nested list) from
the index's integer-keyed copy of the edges (`nodes`, `edges`), in the same
two ways, read in one snapshot."""

from itertools import groupby, islice
from operator import itemgetter, le
from typing import NamedTuple

from cl.refs.db import Database

CHUNK = 900  # bound parameters per IN query, well under SQLite's limit

# A closure of 100,000 bundles is ~500,000 B-tree probes scattered over a
# 100 MB file, and a temporary B-tree of 100,000 ids for UNION: reading pages
# through a memory map instead of a read() per page, and keeping temporary
# tables in memory with room to grow, cut the query's CPU time to well under
# half (docs/bench-notes.md).  Per connection; harmless for the other queries
# on it.
MEMORY = ("PRAGMA temp_store=MEMORY", "PRAGMA cache_size=-65536")
TUNING = ("PRAGMA mmap_size=1073741824", *MEMORY)

_LIVE_CHILD = "JOIN bundles b ON b.id = d.child AND b.deleted = 0"

# One query answers a whole closure: the recursive part collects the ids,
# then the rows tagged 'e' are its edges and those tagged 'n' summarize its
# bundles (a bundle the index lacks has no 'n' row).
_CLOSURE = """
WITH RECURSIVE closure(id) AS (
    VALUES (?)
    UNION
    {step})
SELECT 'e', d.child, d.key, d.parent, d.path, NULL, NULL FROM closure c {edges}
UNION ALL
SELECT 'n', b.id, b.name, b.kind, b.state, b.deleted, b.seq FROM closure c JOIN bundles b ON b.id = c.id"""

_ANCESTORS = _CLOSURE.format(
    step="SELECT d.parent FROM deps d JOIN closure c ON d.child = c.id",
    edges="JOIN deps d ON d.child = c.id")

# Deleted bundles are pruned afterwards in Python (`_live_only`): joining
# `bundles` on every step to test `deleted` cost a third of the query, and a
# deleted bundle with live dependents is rare (`cl rm` refuses to make one).
_DESCENDANTS = _CLOSURE.format(
    step="SELECT d.child FROM deps d JOIN closure c ON d.parent = c.id",
    edges="JOIN deps d ON d.parent = c.id")

Summary = tuple  # (name, kind, state, deleted, seq)


def _chunks(ids: list[str]):
    for i in range(0, len(ids), CHUNK):
        yield ids[i:i + CHUNK]


def _marks(n: int) -> str:
    return ",".join("?" * n)


def parent_edges(db: Database, ids: list[str]) -> list[tuple[str, str, str, str]]:
    """Every edge whose child is one of `ids`."""
    out = []
    for chunk in _chunks(ids):
        out += db.execute("SELECT child, key, parent, path FROM deps WHERE child IN ("
                          + _marks(len(chunk)) + ")", chunk).fetchall()
    return out


def child_edges(db: Database, ids: list[str]) -> list[tuple[str, str, str, str]]:
    """Every edge from one of `ids` to a live (not deleted) child."""
    out = []
    for chunk in _chunks(ids):
        out += db.execute("SELECT d.child, d.key, d.parent, d.path FROM deps d " + _LIVE_CHILD
                          + " WHERE d.parent IN (" + _marks(len(chunk)) + ")", chunk).fetchall()
    return out


class Closure(NamedTuple):
    """`edges` `(child, key, parent, path)`, each bundle's together, the
    bundles in breadth-first order; `info`, the summary `(name, kind,
    state, deleted, seq)` of each bundle the index has (root included);
    `cut`, the bundles at the depth limit with edges left out; `runs`, when
    the walk made it anyway, each bundle's edges away from the root as one
    list (`edges` is their concatenation), else None; `ordered`: each run is
    in the order a provenance list shows them (an ancestor's by key, a
    descendant's by creation, then key)."""

    edges: list[tuple[str, str, str, str]]
    info: dict[str, Summary]
    cut: set[str]
    runs: dict[str, list] | None = None
    ordered: bool = False


def closure(db: Database, root: str, up: bool, depth: int | None = None) -> Closure:
    """`root`'s ancestors (`up`) or live descendants, `depth` levels deep
    (all when None)."""
    if depth is None:
        for pragma in TUNING:
            db.execute(pragma)
        if _reaches(db, root, up, _scan_from(db)):
            found = closure_by_scan(db, root, up)
        else:
            found = closure_by_query(db, root, up)
        if not up:
            return _live_only(root, found)
        return found
    edges, cut = closure_edges(db, root, up, depth)
    ids = {root} | {e[2] if up else e[0] for e in edges}
    return Closure(edges, summaries(db, list(ids)), cut)


# A closure of at least SCAN_MIN bundles and 1/SCAN_FRACTION of all of them
# is read by a scan of the whole edge table.  Measured on the 100,000-bundle
# layered DAG (docs/bench-notes.md): the recursive query costs about 11 µs
# a bundle of the closure, the scan about 0.25 s plus 3 µs a bundle, so they
# cross near a third of the repository (at 10,000 bundles the scan takes
# 0.04 s: near 3,600); the probe that decides costs about 4 µs a bundle up
# to the limit, paid again by every large closure.
SCAN_MIN = 2_000
SCAN_FRACTION = 5

# The LIMIT inside the recursive query stops the recursion, as SQLite
# documents (measured: the same cost as one outside, which it streams).
_COUNT = """
WITH RECURSIVE closure(id) AS (
    VALUES (?)
    UNION
    {step}
    LIMIT ?)
SELECT count(*) FROM closure"""

_REACHES_UP = _COUNT.format(step="SELECT d.parent FROM deps d JOIN closure c ON d.child = c.id")
_REACHES_DOWN = _COUNT.format(step="SELECT d.child FROM deps d JOIN closure c ON d.parent = c.id")


def _scan_from(db: Database) -> int:
    """The closure size from which a scan is the way."""
    top = db.execute("SELECT max(seq) FROM bundles").fetchone()[0] or 0  # via bundles_seq
    return max(SCAN_MIN, top // SCAN_FRACTION)


def _reaches(db: Database, root: str, up: bool, n: int) -> bool:
    """Whether `root`'s closure holds at least `n` bundles; stops at the `n`th."""
    return db.execute(_REACHES_UP if up else _REACHES_DOWN, (root, n)).fetchone()[0] >= n


def closure_by_query(db: Database, root: str, up: bool) -> Closure:
    """The closure in one recursive query: its edges, each bundle's edges
    together, bundles in breadth-first order (SQLite's queue is first in,
    first out), an ancestor's edges in key order (the `deps` primary key),
    a descendant's in the order they were indexed (`deps_parent`)."""
    edges, info = [], {}
    for tag, a, b, c, d, e, f in db.execute(_ANCESTORS if up else _DESCENDANTS, (root,)):
        if tag == "e":
            edges.append((a, b, c, d))
        else:
            info[a] = (b, c, d, e, f)
    return Closure(edges, info, set())


def closure_by_scan(db: Database, root: str, up: bool) -> Closure:
    """What `closure_by_query` returns, in the same order, from one scan of
    the edge table (in rowid order, the order the edges were indexed) and a
    walk in Python."""
    near, far = (0, 2) if up else (2, 0)
    nxt: dict[str, list] = {}
    rows = db.execute("SELECT child, key, parent, path FROM deps ORDER BY rowid").fetchall()
    for edge in rows:
        step = nxt.get(edge[near])
        if step is None:
            nxt[edge[near]] = [edge]
        else:
            step.append(edge)
    order, seen, edges, runs = [root], {root}, [], {}
    for bid in order:  # grows while it is walked: breadth first
        step = nxt.get(bid)
        if not step:
            continue
        if up and len(step) > 1:
            step.sort()  # one child's rows: by key, as the primary key has them
        runs[bid] = step
        edges += step
        for edge in step:
            other = edge[far]
            if other not in seen:
                seen.add(other)
                order.append(other)
    whole = len(order) * 4 >= len(nxt)
    if whole:
        found = {row[0]: row[1:] for row in
                 db.execute("SELECT id, name, kind, state, deleted, seq FROM bundles")}
    else:
        found = summaries(db, order)
    info = {}
    for bid in order:
        summary = found.get(bid)
        if summary is not None:
            info[bid] = summary
    return Closure(edges, info, set(), runs, up or whole and _in_creation_order(rows, found))


def _in_creation_order(rows: list[tuple], found: dict[str, Summary]) -> bool:
    """Whether the edges, in rowid order, go by their child's `seq` and
    then by key, as the index writes them (a bundle's row and its edges in
    one step): then each bundle's dependents are in creation order already.
    Checked, not assumed, in a few passes that run in C."""
    try:
        seqs = map(itemgetter(4), map(found.__getitem__, map(itemgetter(0), rows)))
        pairs = list(zip(seqs, map(itemgetter(1), rows)))
    except KeyError:  # an edge from a bundle the index lacks
        return False
    return all(map(le, pairs, islice(pairs, 1, None)))


def _live_only(root: str, found: Closure) -> Closure:
    """Descendants reachable from `root` through live bundles only, as
    `Index.dependents` sees them."""
    edges, info = found.edges, found.info
    dead = {bid for bid, summary in info.items() if summary[3] and bid != root}
    if not dead:
        return found
    below: dict[str, list] = {}
    for edge in edges:
        if edge[0] not in dead:
            below.setdefault(edge[2], []).append(edge)
    kept, seen, todo = [], {root}, [root]
    while todo:
        for edge in below.get(todo.pop(), ()):
            kept.append(edge)
            if edge[0] not in seen:
                seen.add(edge[0])
                todo.append(edge[0])
    return Closure(kept, {bid: summary for bid, summary in info.items() if bid in seen}, set())


def closure_edges(db: Database, root: str, up: bool, depth: int | None = None
                  ) -> tuple[list[tuple[str, str, str, str]], set[str]]:
    """The edges of `root`'s ancestors (`up`) or live descendants, and the
    set of bundles at the depth limit that have further edges not returned.
    Level by level: one query per level over the whole frontier."""
    if depth is None:
        return closure(db, root, up).edges, set()
    step = parent_edges if up else child_edges
    edges: list = []
    seen = {root}
    frontier = [root]
    for _ in range(depth):
        if not frontier:
            break
        level = step(db, frontier)
        edges += level
        nxt = []
        for edge in level:
            other = edge[2] if up else edge[0]
            if other not in seen:
                seen.add(other)
                nxt.append(other)
        frontier = nxt
    cut = {e[0] if up else e[2] for e in step(db, frontier)} if frontier else set()
    return edges, cut


def summaries(db: Database, ids: list[str]) -> dict[str, tuple[str, str, str, int, int]]:
    """id -> (name, kind, state, deleted, seq) for the ids the index knows."""
    out = {}
    for chunk in _chunks(ids):
        for row in db.execute("SELECT id, name, kind, state, deleted, seq FROM bundles WHERE id IN ("
                              + _marks(len(chunk)) + ")", chunk):
            out[row[0]] = row[1:]
    return out


def ready_runs_with(db: Database, command: str, parent: str | None) -> list[str]:
    """Live `ready` runs with exactly this command (and, when `parent` is
    given, a dependency on it), oldest first: the candidates a memoized run
    could reuse.  Narrowed through a dependency edge when there is one, so
    the lookup does not scan every run."""
    if parent is None:
        sql = ("SELECT id FROM bundles WHERE kind = 'run' AND state = 'ready' AND deleted = 0"
               " AND command = ? AND NOT EXISTS (SELECT 1 FROM deps WHERE child = bundles.id)"
               " ORDER BY seq")
        return [r[0] for r in db.execute(sql, (command,))]
    sql = ("SELECT DISTINCT b.id, b.seq FROM deps d JOIN bundles b ON b.id = d.child"
           " WHERE d.parent = ? AND b.kind = 'run' AND b.state = 'ready' AND b.deleted = 0"
           " AND b.command = ? ORDER BY b.seq")
    return [r[0] for r in db.execute(sql, (parent, command))]


# --- the nested list over integer keys -----------------------------------------------
#
# `cl ancestors`/`cl descendants` of every level print one line per edge of
# the closure: 300,000 lines for the deepest bundle of a 100,000-bundle DAG.
# These read the `nodes`/`edges` tables (cl/index/index.py), where a bundle
# is a small integer: an edge row costs a third of a row of 64-digit ids,
# and the walk hashes and compares integers (docs/bench-notes.md).


class Lines(NamedTuple):
    """What the nested list of a whole closure needs: `root`, its number;
    `runs`, for each bundle, its edge rows `(child, key, parent)` leading
    away from the root (ancestors: by key; descendants: by creation, then
    key, deleted ones left out); `far`, the position in a row of the
    bundle it leads to; `heads`, number -> (`name(0x123abc)`, mark) for
    every bundle of the closure, the mark '', ' (deleted)' or ' (missing)'
    (an edge names it, the index lacks it); `paths`, (child, key) -> path
    of the ancestors' edges that have one (rare: printed only for them)."""

    root: int
    runs: dict[int, list]
    far: int
    heads: dict[int, tuple[str, str]]
    paths: dict[tuple[int, str], str]


# number, `name(0x123abc)`, mark, seq: SQLite makes the text
_HEAD = ("n, CASE WHEN seq IS NULL OR name = '' THEN '?' ELSE name END || '(0x' || substr(id, 1, 6) || ')',"
         " CASE WHEN seq IS NULL THEN ' (missing)' WHEN deleted THEN ' (deleted)' ELSE '' END, seq FROM nodes")

_NUM_STEP_UP = "SELECT e.p FROM edges e JOIN closure c ON e.c = c.n"
_NUM_STEP_DOWN = "SELECT e.c FROM edges e JOIN closure c ON e.p = c.n"

_NUM_COUNT = """
WITH RECURSIVE closure(n) AS (VALUES (?) UNION {step} LIMIT ?)
SELECT count(*) FROM closure"""

# the closure's edges (tag 0) and its bundles' heads (tag 1), in one query
_NUM_CLOSURE = """
WITH RECURSIVE closure(n) AS (VALUES (?) UNION {step})
SELECT 0, e.c, e.key, e.p, e.path FROM closure c JOIN edges e ON {near} = c.n
UNION ALL
SELECT 1, {head} WHERE n IN closure"""

_NUM_UP = _NUM_CLOSURE.format(step=_NUM_STEP_UP, near="e.c", head=_HEAD)
_NUM_DOWN = _NUM_CLOSURE.format(step=_NUM_STEP_DOWN, near="e.p", head=_HEAD)


def lines(db: Database, root: str, up: bool) -> Lines | None:
    """The whole closure of `root` (ancestors when `up`, else live
    descendants) as the nested list needs it; None when the index never
    numbered `root`.  Like `closure`, a closure of at least `_scan_from`
    bundles is read by one scan of `edges` and `nodes`, a smaller one by a
    recursive query."""
    for pragma in MEMORY:  # no memory map: as fast over integer keys, 150 MB less resident
        db.execute(pragma)
    with db.snapshot():  # several statements, one state: numbers, edges and heads agree
        return _lines(db, root, up)


def _lines(db: Database, root: str, up: bool) -> Lines | None:
    found = db.execute("SELECT n FROM nodes WHERE id = ?", (root,)).fetchone()
    if found is None:
        return None
    n = found[0]
    limit = _scan_from(db)
    step = _NUM_STEP_UP if up else _NUM_STEP_DOWN
    paths: dict[tuple[int, str], str] = {}
    if db.execute(_NUM_COUNT.format(step=step), (n, limit)).fetchone()[0] >= limit:
        found_heads = db.execute("SELECT " + _HEAD).fetchall()  # in number order
        in_order = True
        if up:  # the primary key's order: each bundle's edges together, by key
            rows = db.execute("SELECT c, key, p FROM edges ORDER BY c, key")
            # the rare path apart, not one per row
            paths = {(c, key): path for c, key, path in
                     db.execute("SELECT c, key, path FROM edges WHERE path != ''")}
        else:  # edges_p's order (p, c, key): each bundle's dependents together
            dead = {h[0] for h in found_heads if h[2] == " (deleted)" and h[0] != n}
            rows = db.execute("SELECT c, key, p FROM edges ORDER BY p, c, key")
            if dead:
                rows = [row for row in rows if row[0] not in dead]
        runs = {bid: list(run) for bid, run in groupby(rows, itemgetter(0 if up else 2))}
    else:
        rows, found_heads = [], []
        for tag, a, b, c, d in db.execute(_NUM_UP if up else _NUM_DOWN, (n,)):
            if tag:
                found_heads.append((a, b, c, d))
            else:
                rows.append((a, b, c))
                if d and up:
                    paths[a, b] = d
        in_order = False
        near = 0 if up else 2
        dead = set() if up else {h[0] for h in found_heads if h[2] == " (deleted)" and h[0] != n}
        runs = {}
        for row in rows:
            if row[0] in dead:
                continue
            run = runs.get(row[near])
            if run is None:
                runs[row[near]] = [row]
            else:
                run.append(row)
    heads = {h[0]: (h[1], h[2]) for h in found_heads}
    if up and not in_order:  # the query's rows come in no promised order
        for run in runs.values():
            if len(run) > 1:
                run.sort(key=itemgetter(1))
    if not up:
        seq = {h[0]: h[3] for h in found_heads}
        # in (child, key) order each run is in creation order when the
        # numbers go as the bundles' seq do (checked, not assumed)
        seqs = [s for s in seq.values() if s is not None]  # None: not indexed
        if not (in_order and all(map(le, seqs, islice(seqs, 1, None)))):
            for run in runs.values():
                if len(run) > 1:
                    run.sort(key=lambda r: (seq[r[0]], r[1]))
    return Lines(n, runs, 2 if up else 0, heads, paths)
