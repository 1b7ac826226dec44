"""The Python API: `import cl`, then `cl.open()` or `cl.init(path)`.

A front end like the `cl` command: every method is one call into the
application layer (cl/app), so a script, a notebook and the command line
do exactly the same things.  See docs/api.md.

The objects here are handles, not records: a Bundle, Run or Worksheet
names one thing in one open Repository and reads it when asked (its
state is always the current one).  What they return -- info dicts,
tables, graphs, sync reports -- are plain values."""

from cl.api.bundle import Bundle, Run
from cl.api.graph import Graph
from cl.api.repository import Repository, clone, init, open
from cl.api.worksheet import Item, Table, Worksheet

__all__ = ["Bundle", "Graph", "Item", "Repository", "Run", "Table", "Worksheet", "clone", "init", "open"]
