"""The provenance drawing (cl/web/graph.py, pure): ancestors left of the
bundle, descendants right, an arrow per edge, links only to readable
bundles."""

import re

from cl.web.graph import provenance_svg

A, B, C, D = ("0x" + c * 64 for c in "abcd")


def node(bid, name, level, readable=True, state="ready"):
    return {"id": bid, "name": name, "kind": "run", "state": state, "deleted": False, "missing": False,
            "level": level, "cut": False, "readable": readable}


PROV = {
    "ancestors": {"root": B, "nodes": [node(B, "train", 0), node(A, "data", 1), node(D, "(private)", 1, False)],
                  "edges": [{"parent": A, "child": B, "key": "d", "path": ""},
                            {"parent": D, "child": B, "key": "secret", "path": ""}]},
    "descendants": {"root": B, "nodes": [node(B, "train", 0), node(C, "eval", 1, state="failed")],
                    "edges": [{"parent": B, "child": C, "key": "model", "path": ""}]},
}


def x_of(svg, name):
    m = re.search(r'<rect x="(\d+)"[^>]*/><text[^>]*>' + re.escape(name) + "<", svg)
    assert m, name
    return int(m.group(1))


def test_ancestors_left_descendants_right_and_one_arrow_per_edge():
    svg = provenance_svg(PROV, lambda bid: f"/bundles/{bid}")
    assert x_of(svg, "data") < x_of(svg, "train") < x_of(svg, "eval")
    assert x_of(svg, "data") == x_of(svg, "(private)")
    assert svg.count("<line ") == 3
    assert svg.count("<rect ") == 4  # train appears once although both graphs hold it


def test_only_readable_bundles_link():
    svg = provenance_svg(PROV, lambda bid: f"/bundles/{bid}")
    assert f'href="/bundles/{A}"' in svg and f'href="/bundles/{C}"' in svg
    assert f'href="/bundles/{D}"' not in svg and D[:10] not in svg  # not even its id


def test_names_are_escaped():
    prov = {"ancestors": {"root": A, "nodes": [node(A, "<script>x</script>", 0)], "edges": []}}
    svg = provenance_svg(prov, lambda bid: "/b")
    assert "<script>" not in svg and "&lt;script&gt;" in svg


def test_nothing_to_draw():
    assert provenance_svg({}, lambda bid: "/b") == ""
