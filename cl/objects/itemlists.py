"""Chunked worksheet item lists ([F21] in docs/format.md): how a `Worksheet`
value (all its items in memory) is stored as a `WorksheetCommit` whose
items sit in a tree of `ItemChunk` leaves and `ItemIndex` nodes plus an
inline tail, and read back.

The tree is canonical, a function of the items alone: the items before the
tail are cut into leaves of CHUNK_ITEMS; leaves are grouped INDEX_FANOUT at
a time into level-1 nodes, those into level-2 nodes, and so on until one
node (the root) is left; a single leaf is its own root.  So the same items
always give the same ids, and appending a leaf rewrites only the right
spine: an append writes O(log N) bytes, and the commit's tail absorbs the
appends between leaves.  Writing reuses a parent's tree when its items are
a prefix of the new ones (known from the items this process read, else
read again); otherwise it builds the tree afresh.

Functions take `read(oid) -> decoded object` and `write(obj) -> id` so this
module needs no store."""

from typing import Callable, Sequence

from cl.objects.ids import ObjectId
from cl.objects.types import (CHUNK_ITEMS, INDEX_FANOUT, FormatError, Item, ItemChunk, ItemIndex,
                              Worksheet, WorksheetCommit)

Read = Callable[[str], object]
Write = Callable[[object], ObjectId]

# items under a tree root that this process read or wrote: lets a commit
# made from a head just read reuse the head's tree without reading it again
_known: dict[str, tuple[Item, ...]] = {}
_KNOWN_MAX = 64


def _remember(root: str, items: tuple[Item, ...]) -> None:
    if len(_known) >= _KNOWN_MAX:
        _known.pop(next(iter(_known)))
    _known[root] = items


def _height(leaves: int) -> int:
    h, cap = 0, 1
    while cap < leaves:
        h, cap = h + 1, cap * INDEX_FANOUT
    return h


# --- reading ------------------------------------------------------------------


def tree_items(root: str, count: int, read: Read) -> tuple[Item, ...]:
    """The `count` items under `root`, checking the tree's shape."""
    if root in _known and len(_known[root]) == count:
        return _known[root]
    out: list[Item] = []
    stack: list[tuple[str, int]] = [(root, _height(count // CHUNK_ITEMS))]
    while stack:
        oid, level = stack.pop()
        node = read(oid)
        if level == 0:
            if not isinstance(node, ItemChunk):
                raise FormatError(f"item tree node 0x{oid[:12]} is not an item chunk")
            out.extend(node.items)
        else:
            if not isinstance(node, ItemIndex) or node.level != level:
                raise FormatError(f"item tree node 0x{oid[:12]} is not an item index of level {level}")
            stack.extend((c, level - 1) for c in reversed(node.children))
    if len(out) != count:
        raise FormatError(f"item tree 0x{root[:12]} holds {len(out)} items, its commit says {count}")
    items = tuple(out)
    _remember(root, items)
    return items


def tree_nodes(root: str, read: Read) -> list[str]:
    """Every node id of the tree under `root` (for reachability walks)."""
    out, stack = [], [root]
    while stack:
        oid = stack.pop()
        out.append(oid)
        node = read(oid)
        if isinstance(node, ItemIndex):
            stack.extend(node.children)
    return out


def items_of(commit, read: Read) -> tuple[Item, ...]:
    """The items of a worksheet commit of either type."""
    if isinstance(commit, Worksheet):
        return commit.items
    head = tree_items(commit.chunks, commit.count, read) if commit.chunks else ()
    return head + commit.tail


def as_worksheet(commit, read: Read) -> Worksheet:
    """A worksheet commit of either type as a `Worksheet` value."""
    if isinstance(commit, Worksheet):
        return commit
    return Worksheet(worksheet=commit.worksheet, parents=commit.parents, time=commit.time,
                     author=commit.author, message=commit.message, name=commit.name,
                     title=commit.title, tags=commit.tags, items=items_of(commit, read),
                     deleted=commit.deleted, frozen=commit.frozen)


# --- writing ------------------------------------------------------------------


def _chain(leaf: ObjectId, height: int, write: Write) -> ObjectId:
    """`leaf` under `height` single-child index nodes."""
    node = leaf
    for level in range(1, height + 1):
        node = write(ItemIndex(level=level, children=(node,)))
    return node


def _insert(oid: str, height: int, leaves: int, leaf: ObjectId, read: Read, write: Write) -> ObjectId:
    """Add `leaf` after the `leaves` leaves under node `oid` of `height`
    (not full), rewriting the right spine."""
    node = read(oid)
    size = INDEX_FANOUT ** (height - 1)  # leaves under a full child
    children = list(node.children)
    last = leaves - (len(children) - 1) * size
    if last == size:
        children.append(_chain(leaf, height - 1, write))
    else:
        children[-1] = _insert(children[-1], height - 1, last, leaf, read, write)
    return write(ItemIndex(level=height, children=tuple(children)))


def append_leaf(root: str | None, leaves: int, leaf: ObjectId, read: Read, write: Write) -> ObjectId:
    """The root of the canonical tree of `leaves` + 1 leaves, given the root
    of the tree of the first `leaves`."""
    if root is None:
        return leaf
    h, new_h = _height(leaves), _height(leaves + 1)
    if new_h > h:
        return write(ItemIndex(level=new_h, children=(ObjectId(root), _chain(leaf, new_h - 1, write))))
    return _insert(root, h, leaves, leaf, read, write)


def appended(commit: WorksheetCommit, items: Sequence[Item], read: Read, write: Write, *,
             parents: tuple[ObjectId, ...], time: int, author: str, message: str) -> WorksheetCommit:
    """The chunked commit (with this header) of `commit`'s items followed
    by `items`, without reading `commit`'s items: the tail takes them, and
    each CHUNK_ITEMS it fills becomes a leaf appended to the tree.  The
    same value (and, once written, the same id) `write_worksheet` gives
    for those items."""
    root, count, tail = commit.chunks, commit.count, commit.tail + tuple(items)
    while len(tail) >= CHUNK_ITEMS:
        leaf = write(ItemChunk(items=tail[:CHUNK_ITEMS]))
        root = append_leaf(root, count // CHUNK_ITEMS, leaf, read, write)
        count, tail = count + CHUNK_ITEMS, tail[CHUNK_ITEMS:]
    return WorksheetCommit(
        worksheet=commit.worksheet, parents=parents, time=time, author=author, message=message,
        name=commit.name, title=commit.title,
        tags=commit.tags, chunks=root, count=count, tail=tail, deleted=commit.deleted,
        frozen=commit.frozen)


def _leaves(items: Sequence[Item], write: Write) -> list[ObjectId]:
    return [write(ItemChunk(items=tuple(items[i:i + CHUNK_ITEMS])))
            for i in range(0, len(items), CHUNK_ITEMS)]


def build_tree(items: Sequence[Item], write: Write) -> ObjectId | None:
    """The canonical tree of `items` (a multiple of CHUNK_ITEMS) from scratch."""
    nodes, level = _leaves(items, write), 0
    while len(nodes) > 1:
        level += 1
        nodes = [write(ItemIndex(level=level, children=tuple(nodes[i:i + INDEX_FANOUT])))
                 for i in range(0, len(nodes), INDEX_FANOUT)]
    return nodes[0] if nodes else None


def _base(ws: Worksheet, count: int, read: Read, has: Callable[[str], bool]) -> tuple[str | None, int]:
    """A parent's tree (in this store) whose items are a prefix of ws's
    first `count`.  A parent kept elsewhere (a commit made here on a
    remote's head) gives none: the tree is built afresh, to the same ids."""
    for parent in ws.parents:
        if not has(parent):
            continue
        prior = read(parent)
        if not isinstance(prior, WorksheetCommit) or not prior.chunks or prior.count > count:
            continue
        if tree_items(prior.chunks, prior.count, read) == ws.items[:prior.count]:
            return prior.chunks, prior.count
    return None, 0


def write_worksheet(ws: Worksheet, read: Read, write: Write, has: Callable[[str], bool]) -> ObjectId:
    """Store `ws` as a chunked commit (its chunk objects first) and return
    the commit's id."""
    items = ws.items
    count = len(items) - len(items) % CHUNK_ITEMS
    root, done = _base(ws, count, read, has)
    if root is None:
        root = build_tree(items[:count], write)
    else:
        for start in range(done, count, CHUNK_ITEMS):
            leaf = write(ItemChunk(items=tuple(items[start:start + CHUNK_ITEMS])))
            root = append_leaf(root, start // CHUNK_ITEMS, leaf, read, write)
    if root is not None:
        _remember(root, tuple(items[:count]))
    return write(WorksheetCommit(
        worksheet=ws.worksheet, parents=ws.parents, time=ws.time, author=ws.author,
        message=ws.message, name=ws.name, title=ws.title, tags=ws.tags, chunks=root, count=count,
        tail=tuple(items[count:]), deleted=ws.deleted, frozen=ws.frozen))
