"""Bundles: creation (upload, make, run records), spec resolution, editing,
removal and inspection.  Functions of (repo, values)."""
