"""Mutable names (refs) that point at objects by id, moved only by
compare-and-swap."""
