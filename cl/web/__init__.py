"""Web worksheets: the pages `cl server` serves at `/` (docs/web.md).

A front end like cl/cli: routes (app.py), sessions and CSRF tokens
(sessions.py), page frames (pages.py), the provenance drawing (graph.py)
and the hand-written static/web.js and web.css.  Everything that touches
the repository goes through cl/app (cl/app/web.py)."""
