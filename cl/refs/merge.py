"""Merge rules for diverged heads (DESIGN §9, docs/protocol.md §7): pure,
deterministic functions of values.  Merging A with B gives the same value as
merging B with A, so two repositories that merge the same pair converge.

States merge field by field against their common base: a field changed on
one side takes that side; changed on both, the last writer wins; a finished
run outcome beats an unfinished one and a result beats none.  Worksheets
merge their fields the same way and their items three-way (diff3).  Where
both sides only inserted items at the same place (two people appending
notes), the merge keeps both insertions, the older side's first, with no
markers; only a stretch of existing items that both sides changed
differently keeps both sides between visible markup lines — nothing either
side added is dropped."""

import difflib
from typing import Sequence

from cl.objects.types import FINAL_STATES, Item, State, Worksheet

_MISSING = object()   # a map key that is absent
_NO_BASE = object()   # the histories share no commit

CONFLICT_START = "<<<<<<< conflict: {a} | {b}"
CONFLICT_MIDDLE = "======="
CONFLICT_END = ">>>>>>> end of conflict"


def _pick(base, a, b, a_wins: bool):
    """One field: unchanged on a side → the other side's value; changed on
    both → the last writer's."""
    if a == b:
        return a
    if base is not _NO_BASE and a == base:
        return b
    if base is not _NO_BASE and b == base:
        return a
    return a if a_wins else b


def _field(base, name):
    return _NO_BASE if base is None else getattr(base, name)


def _merge_maps(base: dict | None, a: dict, b: dict, a_wins: bool) -> dict:
    out = {}
    for key in sorted(set(a) | set(b) | set(base or {})):
        value = _pick(_NO_BASE if base is None else base.get(key, _MISSING),
                      a.get(key, _MISSING), b.get(key, _MISSING), a_wins)
        if value is not _MISSING:
            out[key] = value
    return out


def _outcome_rank(s: State) -> tuple[bool, bool]:
    return (s.state in FINAL_STATES, s.result is not None)


def merge_states(base: State | None, a: tuple[str, State], b: tuple[str, State]) -> State:
    """Merge two diverged states of one bundle given their ids."""
    (ida, sa), (idb, sb) = sorted([a, b])
    if sa.bundle != sb.bundle:
        raise ValueError("states of different bundles do not merge")
    a_wins = (sa.time, ida) > (sb.time, idb)
    ra, rb = _outcome_rank(sa), _outcome_rank(sb)
    if ra != rb:
        state, result = (sa.state, sa.result) if ra > rb else (sb.state, sb.result)
    else:
        state, result = _pick(_NO_BASE if base is None else (base.state, base.result),
                              (sa.state, sa.result), (sb.state, sb.result), a_wins)
    newer = sa if a_wins else sb
    return State(
        bundle=sa.bundle, parents=(ida, idb), time=max(sa.time, sb.time), author=newer.author,
        metadata=_merge_maps(None if base is None else base.metadata, sa.metadata, sb.metadata, a_wins),
        state=state, result=result,
        deleted=_pick(_field(base, "deleted"), sa.deleted, sb.deleted, a_wins),
        data_deleted=_pick(_field(base, "data_deleted"), sa.data_deleted, sb.data_deleted, a_wins),
    )


def _matches(base: Sequence, side: Sequence) -> dict[int, int]:
    sm = difflib.SequenceMatcher(None, base, side, autojunk=False)
    out = {}
    for i, j, n in sm.get_matching_blocks():
        for k in range(n):
            out[i + k] = j + k
    return out


def merge_items(base: Sequence[Item], a: Sequence[Item], b: Sequence[Item],
                label_a: str, label_b: str, a_first: bool = True) -> tuple[Item, ...]:
    """diff3 of item lists.  Insertions by both sides at one place (no base
    item between them) are not a conflict: both are kept, a's first when
    `a_first` (the caller passes which side is older), else b's.
    Conflicting stretches keep both sides, a's first, between markup marker
    items."""
    base, a, b = list(base), list(a), list(b)
    ma, mb = _matches(base, a), _matches(base, b)
    out: list[Item] = []
    io = ia = ib = 0

    def unstable(o_end, a_end, b_end):
        oc, ac, bc = base[io:o_end], a[ia:a_end], b[ib:b_end]
        if ac == oc:
            out.extend(bc)
        elif bc == oc or ac == bc:
            out.extend(ac)
        elif not oc:
            out.extend(ac + bc if a_first else bc + ac)
        else:
            out.append(Item("markup", CONFLICT_START.format(a=label_a, b=label_b)))
            out.extend(ac)
            out.append(Item("markup", CONFLICT_MIDDLE))
            out.extend(bc)
            out.append(Item("markup", CONFLICT_END))

    while True:
        if io < len(base) and ma.get(io) == ia and mb.get(io) == ib:
            out.append(base[io])
            io, ia, ib = io + 1, ia + 1, ib + 1
            continue
        nxt = next((i for i in range(io, len(base))
                    if i in ma and i in mb and ma[i] >= ia and mb[i] >= ib), None)
        if nxt is None:
            unstable(len(base), len(a), len(b))
            break
        unstable(nxt, ma[nxt], mb[nxt])
        io, ia, ib = nxt, ma[nxt], mb[nxt]
    return tuple(out)


def _label(oid: str, ws: Worksheet) -> str:
    return f"0x{oid[:6]} ({ws.author})"


def merge_worksheets(base: Worksheet | None, a: tuple[str, Worksheet],
                     b: tuple[str, Worksheet]) -> Worksheet:
    """Merge two diverged commits of one worksheet given their ids."""
    (ida, wa), (idb, wb) = sorted([a, b])
    if wa.worksheet != wb.worksheet:
        raise ValueError("commits of different worksheets do not merge")
    a_wins = (wa.time, ida) > (wb.time, idb)
    newer = wa if a_wins else wb
    items = merge_items(base.items if base else (), wa.items, wb.items,
                        _label(ida, wa), _label(idb, wb), a_first=not a_wins)
    return Worksheet(
        worksheet=wa.worksheet, parents=(ida, idb), time=max(wa.time, wb.time),
        author=newer.author, message=f"merge 0x{ida[:8]} and 0x{idb[:8]}",
        name=_pick(_field(base, "name"), wa.name, wb.name, a_wins),
        title=_pick(_field(base, "title"), wa.title, wb.title, a_wins),
        tags=_pick(_field(base, "tags"), wa.tags, wb.tags, a_wins),
        items=items,
        deleted=_pick(_field(base, "deleted"), wa.deleted, wb.deleted, a_wins),
    )
