"""Worksheets: the lab notebook.  Items and their text form (the markup),
schemas, genpaths and post-processors, interpretation into display blocks,
and the HTML page.  The terminal rendering lives in cl/cli/ws_render.py."""
