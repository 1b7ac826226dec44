"""A repository of the format before packs -- every object a loose file,
no objects/pack/ -- works unchanged: it reads, `cl fsck` accepts it, new
uploads add packs beside the loose files, and `cl gc` gathers the small
loose objects into a pack."""

import os
import shutil

from cl.objects.store import DiskStore
from tests.conftest import stored_ids, tree


def unpack(project) -> set:
    """Rewrite the repository as the earlier format left it: each packed
    object as a loose file, objects/pack/ gone."""
    root = project / ".codalab"
    store = DiskStore(str(root / "objects"), str(root / "tmp"))
    ids = {s.id for s in store.stored()}
    with store.writing():
        for oid in ids:
            if store.packed(oid):
                store.write_verified(oid, store.read_bytes(oid))
    store.close()
    shutil.rmtree(root / "objects" / "pack")
    return ids


def loose_count(project) -> int:
    objects = project / ".codalab" / "objects"
    return sum(len(os.listdir(objects / d)) for d in os.listdir(objects) if len(d) == 2)


def test_a_repository_of_loose_objects_reads_and_takes_packs(project, cl, tmp_path):
    tree(project / "old", {f"d{d}": {f"f{i}": f"old {d} {i}\n" for i in range(30)} for d in range(3)})
    cl(["upload", "old"], project)
    ids = unpack(project)
    assert loose_count(project) == len(ids) and stored_ids(project) == ids
    assert cl(["fsck"], project).stdout == ""
    assert cl(["cat", "old/d1/f7"], project).stdout == "old 1 7\n"

    tree(project / "new", {f"g{i}": f"new {i}\n" for i in range(50)})
    cl(["upload", "new"], project)
    assert len(list((project / ".codalab" / "objects" / "pack").glob("*.idx"))) == 1
    objects = project / ".codalab" / "objects"
    assert all((objects / oid[:2] / oid[2:]).is_file() for oid in ids)  # the old objects stay as they are
    assert cl(["fsck"], project).stdout == ""

    cl(["gc"], project)
    assert loose_count(project) == 0  # gathered into a pack
    assert stored_ids(project) >= ids
    assert cl(["fsck"], project).stdout == ""
    cl(["download", "old", "-o", tmp_path / "back"], project)
    assert (tmp_path / "back" / "d2" / "f29").read_text() == "old 2 29\n"
    assert cl(["cat", "new/g49"], project).stdout == "new 49\n"
