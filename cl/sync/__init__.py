"""Sharing repositories: which refs a push or pull moves (a worksheet's
history, its bundles, their ancestors), opening remotes from config or URLs,
keeping the index in step as refs arrive, clone, cp, wadd, and reading
remote-qualified specs.  Built on cl/remote."""
