"""`cl fsck` checks the sizes trees record (issue 13 item 9): a tree entry
or a bundle's contents whose size is not what it names is a problem, named
with both sizes."""

import os

import pytest

from cl.objects.store import write_object
from cl.objects.types import MODE_DIR, MODE_FILE, Bundle, Contents, Tree, TreeEntry
from cl.repo import Repository


def lying_bundle(project, entry_size: int, dir_size: int) -> tuple[str, str]:
    """A dataset whose tree records `entry_size` for a 100-byte file and
    whose contents record `dir_size` for the tree."""
    repo = Repository.find(str(project))
    try:
        blob = repo.store.write_bytes(b"x" * 100)
        tree = write_object(repo.store, Tree((TreeEntry("f", MODE_FILE, entry_size, blob),)))
        bundle = Bundle(kind="dataset", created=1, creator="t", nonce=os.urandom(8).hex(),
                        metadata={"name": "liar"}, contents=Contents(MODE_DIR, dir_size, tree))
        repo.add_bundle(bundle)
        return blob, tree
    finally:
        repo.close()


@pytest.mark.parametrize("entry_size, dir_size, problem", [
    (10, 10, "tree 0x{tree12} records 10 bytes for 0x{blob}, which has 100"),
    (100, 7, "records 7 bytes for 0x{tree}, which has 100"),
])
def test_fsck_names_a_recorded_size_that_is_wrong(project, cl, entry_size, dir_size, problem):
    blob, tree = lying_bundle(project, entry_size, dir_size)
    done = cl(["fsck"], project, check=False)
    assert done.returncode == 1
    assert problem.format(tree12=tree[:12], tree=tree, blob=blob) in done.stdout


def test_fsck_passes_sizes_that_are_right(project, cl):
    lying_bundle(project, 100, 100)
    assert cl(["fsck"], project).stdout == ""
