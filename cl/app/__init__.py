"""The application layer: each workflow of cl, once.

The front ends -- the `cl` command (cl/cli), the HTTP server (cl/server)
and the Python API (cl/api) -- call these functions and nothing below
them.  A function here takes an open repository and plain values, drives
the domain packages (bundles, worksheets, runs, sync), and returns plain
records that the caller formats (or dumps as JSON).  Nothing here prints:
progress and warnings go to callbacks the caller passes (`notice`,
`progress`, `on_output`), as in dulwich's porcelain.

    repository   open, init, status, config
    bundles      upload, make, info, cat, open_file, download, edit, rm, search
    listing      ls (the quickest command: no object store, no dataclasses)
    runs         run (memoize, wake or start a worker), follow, wait, kill, workers, work
    provenance   ancestors/descendants graphs, mimic, macro, rerun
    worksheets   new, switch, search, remove, add, detach, edit and save text,
                 page / HTML / JSON, history, typed tables
    page         the display blocks a page is made of (for renderers)
    sharing      remotes, clone, push, pull, cp, wadd, serving a peer
    maintenance  fsck, gc, reindex
    users        the HTTP server's users and tokens, its policy, CodaLab's access commands
    served       what a served repository gives one principal (the REST API's workflows)
    records      the frozen records returned, with their JSON shapes

Modules are imported by the commands that use them, and import the
domain modules they need inside their functions where start-up matters
(`cl ls`, `cl info`, `cl run`): this package itself loads nothing."""
