"""The application layer: each workflow of cl, once.

The front ends -- the `cl` command (cl/cli), the HTTP server (cl/server)
and the Python API (cl/api) -- call these functions and nothing below
them.  A function here takes an open repository and plain values, drives
the domain packages (bundles, worksheets, runs, sync), and returns plain
records that the caller formats (or dumps as JSON).  Nothing here prints:
progress and warnings go to callbacks the caller passes (`notice`,
`progress`, `on_output`), as in dulwich's porcelain.

Modules are imported by the commands that use them, and import the
domain modules they need inside their functions where start-up matters
(`cl ls`, `cl info`, `cl run`): this package itself loads nothing."""
