"""cl: git for experiments.

Bundles, runs, provenance and worksheets stored as content-addressed objects
in a `.codalab` directory.  See docs/design.md for the layers.
"""

__version__ = "0.1.0"
