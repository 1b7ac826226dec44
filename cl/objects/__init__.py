"""The content-addressed object store: hashing, the canonical encoding, the
object types, trees, ingest and checkout.  Knows nothing of bundles' meaning."""
