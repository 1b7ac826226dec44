"""cl/bundles/roots.py: what a walk of the repository starts from."""

from cl.bundles import roots
from cl.refs.store import MemoryRefStore

BID, OTHER = "a" * 64, "b" * 64
STATE, COMMIT = "c" * 64, "d" * 64


def test_local_and_tracked_heads_are_roots_and_a_remote_head_is_not():
    refs = MemoryRefStore()
    for name, value in ((f"bundles/{BID}", STATE), ("worksheets/w1", COMMIT),
                        (f"remotes/origin/bundles/{OTHER}", STATE), ("remotes/origin/worksheets/w2", COMMIT),
                        ("remotes/origin/HEAD", "w2"), ("HEAD", "w1")):
        refs.set_if_equals(name, None, value)
    assert roots.bundle_roots(refs) == [(f"bundles/{BID}", BID, STATE),
                                        (f"remotes/origin/bundles/{OTHER}", OTHER, STATE)]
    assert roots.worksheet_roots(refs) == [("worksheets/w1", "w1", COMMIT),
                                           ("remotes/origin/worksheets/w2", "w2", COMMIT)]


def test_the_tracking_prefix_is_the_one_fetch_records_under():
    from cl.sync import tracking
    assert tracking.tracking_name("origin", f"bundles/{BID}").startswith(roots.TRACKING)
