"""The object DAG as the sync protocol sees it: each typed object's children
with their kind (typed or blob, known from the parent, so a blob is never
opened to learn what it is), the contents a bundle or result names (the
only children allowed to be absent), and history walks over parents."""

from typing import Callable

from cl.objects.ids import ObjectId
from cl.objects.types import (MODE_DIR, Bundle, ItemChunk, ItemIndex, Result, State, Tree, Worksheet,
                              WorksheetCommit)

Reader = Callable[[str], object]


def edges(obj) -> list[tuple[ObjectId, bool, int]]:
    """(child id, child is a typed object, the size the parent records for
    it) for every child of `obj`, in the order of cl.objects.types.children.
    The size is a blob's length as its parent claims it (a hint, not a
    fact); for a typed child it means nothing."""
    if isinstance(obj, Tree):
        return list(zip(obj.ids, [m == MODE_DIR for m in obj.modes], obj.sizes))
    if isinstance(obj, Bundle):
        out = [(d.bundle, True, 0) for d in obj.dependencies]
        if obj.contents:
            out.append((obj.contents.id, obj.contents.mode == MODE_DIR, obj.contents.size))
        return out
    if isinstance(obj, Result):
        out = [(obj.bundle, True, 0)]
        if obj.contents:
            out.append((obj.contents.id, obj.contents.mode == MODE_DIR, obj.contents.size))
        return out
    if isinstance(obj, State):
        out = [(obj.bundle, True, 0)] + [(p, True, 0) for p in obj.parents]
        if obj.result:
            out.append((obj.result, True, 0))
        return out
    if isinstance(obj, Worksheet):
        return [(p, True, 0) for p in obj.parents] + [
            (ObjectId(i.value), True, 0) for i in obj.items if i.kind == "bundle"]
    if isinstance(obj, WorksheetCommit):
        return [(p, True, 0) for p in obj.parents] + ([(obj.chunks, True, 0)] if obj.chunks else []) + [
            (ObjectId(i.value), True, 0) for i in obj.tail if i.kind == "bundle"]
    if isinstance(obj, ItemIndex):
        return [(c, True, 0) for c in obj.children]
    if isinstance(obj, ItemChunk):
        return [(ObjectId(i.value), True, 0) for i in obj.items if i.kind == "bundle"]
    raise TypeError(obj)


def recorded_sizes(obj) -> dict[ObjectId, int]:
    """The sizes `obj` records for its data children: a tree's entries (a
    blob's length, a subtree's Tree.size) and a bundle's or result's
    contents.  Other children carry no size."""
    if isinstance(obj, Tree):
        return dict(zip(obj.ids, obj.sizes))
    if isinstance(obj, (Bundle, Result)) and obj.contents:
        return {obj.contents.id: obj.contents.size}
    return {}


def contents_id(obj) -> ObjectId | None:
    """The data a bundle or result names: the only child that may be absent
    (when the bundle's head state is deleted or data_deleted)."""
    if isinstance(obj, (Bundle, Result)) and obj.contents:
        return obj.contents.id
    return None


def data_optional(state: State) -> bool:
    return state.deleted or state.data_deleted


def history(read: Reader, head: str) -> dict[str, object]:
    """Every commit reachable from `head` through parents (head included)."""
    seen: dict[str, object] = {}
    stack = [head]
    while stack:
        oid = stack.pop()
        if oid in seen:
            continue
        obj = read(oid)
        seen[oid] = obj
        stack.extend(obj.parents)
    return seen


def is_ancestor(read: Reader, ancestor: str, head: str, has=None) -> bool:
    """Whether `ancestor` is in the history of `head`.  With `has`, commits
    this side does not hold are not walked through (their history is not
    here), so the question can be asked about a remote's head."""
    seen: set = set()
    stack = [head]
    while stack:
        oid = stack.pop()
        if oid == ancestor:
            return True
        if oid in seen or (has is not None and not has(oid)):
            continue
        seen.add(oid)
        stack.extend(read(oid).parents)
    return False


def merge_base(read: Reader, a: str, b: str) -> str | None:
    """The latest (by time, then id) commit both histories share: symmetric,
    so merging A with B and B with A picks the same base."""
    ha, hb = history(read, a), history(read, b)
    common = [oid for oid in ha if oid in hb]
    if not common:
        return None
    return max(common, key=lambda oid: (ha[oid].time, oid))
