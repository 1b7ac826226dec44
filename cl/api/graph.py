"""`cl.Graph`: the provenance of a bundle (Repository.ancestors/descendants)."""

from __future__ import annotations

from typing import Any

from cl.app import provenance as app_prov


class Graph:
    """Bundles and keyed dependency edges.  `nodes` and `edges` are the
    lists of `to_json()`; str() is the indented tree `cl ancestors` prints."""

    def __init__(self, graph: Any) -> None:
        self._graph = graph

    def to_json(self) -> dict[str, Any]:
        """{"root", "direction", "nodes": [...], "edges": [...]}: the shape of `cl ancestors --json`."""
        return app_prov.graph_json(self._graph)

    @property
    def nodes(self) -> list[dict[str, Any]]:
        """One record per bundle: id, name, kind, state, level, …"""
        return list(self.to_json()["nodes"])

    @property
    def edges(self) -> list[dict[str, Any]]:
        """One record per dependency: parent, child, key, path."""
        return list(self.to_json()["edges"])

    def to_dot(self) -> str:
        """Graphviz DOT text."""
        return app_prov.graph_text(self._graph, "dot")

    def to_mermaid(self) -> str:
        """Mermaid flowchart text."""
        return app_prov.graph_text(self._graph, "mermaid")

    def __str__(self) -> str:
        return app_prov.graph_text(self._graph, "tree")

    def __repr__(self) -> str:
        return f"<cl.Graph of {len(self.nodes)} bundles>"
