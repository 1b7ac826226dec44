"""The derived query index in repo.db: bundles by name/state/kind/time,
dependency edges both ways, worksheets and their items.  Everything here can
be rebuilt from the objects (`cl reindex`)."""
