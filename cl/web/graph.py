"""A bundle's provenance drawn as inline SVG (pure): its ancestors in
columns to the left, by distance, its descendants to the right, an arrow
from each dependency to what was made from it.  Each box links to the
bundle's page, except bundles the viewer may not read ("(private)")."""

from __future__ import annotations

import html

BOX_W, BOX_H, GAP_X, GAP_Y, PAD = 170, 38, 60, 14, 10
STATE_COLORS = {"ready": "#2e7d32", "failed": "#b00020", "killed": "#b00020", "running": "#1565c0"}


def _e(text) -> str:
    return html.escape("" if text is None else str(text), quote=True)


def _columns(prov: dict) -> tuple[dict[str, int], dict[str, dict]]:
    """Each bundle's column (0 the bundle itself, -n ancestors, +n
    descendants) and its node record."""
    col: dict[str, int] = {}
    nodes: dict[str, dict] = {}
    for direction, sign in (("ancestors", -1), ("descendants", 1)):
        g = prov.get(direction) or {"nodes": []}
        for node in g["nodes"]:
            nid = node["id"]
            nodes.setdefault(nid, node)
            level = node.get("level") or 0
            if nid not in col or abs(sign * level) > abs(col[nid]) and col[nid] != 0:
                col[nid] = 0 if level == 0 else sign * level
    return col, nodes


def provenance_svg(prov: dict, href) -> str:
    """`prov` is cl.app.web.provenance's value; `href(id)` is a bundle
    page's address."""
    col, nodes = _columns(prov)
    if not col:
        return ""
    lo, hi = min(col.values()), max(col.values())
    rows: dict[int, list[str]] = {}
    for nid in nodes:
        rows.setdefault(col[nid], []).append(nid)
    height = max(len(v) for v in rows.values())
    pos = {}
    for c, ids in rows.items():
        for i, nid in enumerate(ids):
            pos[nid] = (PAD + (c - lo) * (BOX_W + GAP_X), PAD + i * (BOX_H + GAP_Y))
    width = PAD * 2 + (hi - lo + 1) * BOX_W + (hi - lo) * GAP_X
    total_h = PAD * 2 + height * BOX_H + (height - 1) * GAP_Y
    out = [f'<svg class="provenance" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{total_h}" '
           f'viewBox="0 0 {width} {total_h}" role="img" aria-label="provenance graph">',
           '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
           'orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#888"/></marker></defs>']
    seen = set()
    for direction in ("ancestors", "descendants"):
        for e in (prov.get(direction) or {}).get("edges", []):
            a, b = e["parent"], e["child"]
            if (a, b, e["key"]) in seen or a not in pos or b not in pos:
                continue
            seen.add((a, b, e["key"]))
            (x1, y1), (x2, y2) = pos[a], pos[b]
            out.append(f'<line x1="{x1 + BOX_W}" y1="{y1 + BOX_H / 2}" x2="{x2}" y2="{y2 + BOX_H / 2}" '
                       f'stroke="#888" marker-end="url(#arrow)"><title>{_e(e["key"] or "(whole)")}</title></line>')
    root = (prov.get("ancestors") or prov.get("descendants") or {}).get("root")
    for nid, node in nodes.items():
        x, y = pos[nid]
        color = STATE_COLORS.get(node.get("state") or "", "#999")
        readable = node.get("readable", True)
        detail = f'{nid[:10]} {node.get("state") or ""}' if readable else "not shared with you"
        label = node.get("name") or nid[:10]
        if len(label) > 22:
            label = label[:21] + "…"
        box = (f'<rect x="{x}" y="{y}" width="{BOX_W}" height="{BOX_H}" rx="5" fill="{"#e8f0fe" if nid == root else "#fff"}" '
               f'stroke="{color}" stroke-width="{2 if nid == root else 1}"/>'
               f'<text x="{x + 8}" y="{y + 16}" font-size="13" fill="#222">{_e(label)}</text>'
               f'<text x="{x + 8}" y="{y + 31}" font-size="11" fill="{color}">{_e(detail)}</text>')
        if readable and not node.get("missing"):
            box = f'<a href="{_e(href(nid))}" class="graph-node" data-bundle="{_e(nid)}">{box}</a>'
        out.append(box)
    out.append("</svg>")
    return "".join(out)
