"""The display blocks a worksheet page is made of (`cl.app.worksheets.page`
returns a Page of them): the records the terminal and HTML renderers of the
front ends dispatch on."""

from cl.worksheets.blocks import (FileView, Graph, Inline, Link, Markup, Page, Problem, Record, Series, Table,
                                  TableRow, WorksheetLink)

__all__ = ["FileView", "Graph", "Inline", "Link", "Markup", "Page", "Problem", "Record", "Series", "Table",
           "TableRow", "WorksheetLink"]
