"""Runs: the queue, workers, executors (docker, local) and the run
directory layout (DESIGN §7).  May import cl/bundles, never cl/worksheets."""
