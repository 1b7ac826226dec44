"""Builders shared by the object-layer tests: stores, file trees, b3sum,
and a store that checks the write ordering as objects arrive."""

import os
import shutil
import subprocess

import blake3

from cl.objects import encoding
from cl.objects.ids import hash_bytes
from cl.objects.store import DiskStore, MemoryStore, decode_object
from cl.objects.types import Bundle, State, children
from cl.errors import CorruptObject


def make_disk_store(root) -> DiskStore:
    objects, tmp = os.path.join(root, "objects"), os.path.join(root, "tmp")
    os.makedirs(objects, exist_ok=True)
    os.makedirs(tmp, exist_ok=True)
    return DiskStore(objects, tmp)


def corrupt(store, oid: str, data: bytes) -> None:
    """Replace an object's bytes behind the store's back."""
    if isinstance(store, MemoryStore):
        store.corrupt(oid, data)
        return
    path = store.path(oid)
    os.chmod(path, 0o644)
    with open(path, "wb") as f:
        f.write(data)
    os.chmod(path, 0o444)


def object_count(store) -> int:
    return sum(1 for _ in store.ids())


def build_files(root: str, spec: dict) -> str:
    """Create a file tree from a nested dict: name -> bytes (a file),
    ("exec", bytes), ("link", target) or a dict (a directory)."""
    os.makedirs(root, exist_ok=True)
    for name, value in spec.items():
        path = os.path.join(root, name)
        if isinstance(value, dict):
            build_files(path, value)
        elif isinstance(value, tuple) and value[0] == "link":
            os.symlink(value[1], path)
        elif isinstance(value, tuple) and value[0] == "exec":
            with open(path, "wb") as f:
                f.write(value[1])
            os.chmod(path, 0o755)
        else:
            with open(path, "wb") as f:
                f.write(value)
            os.chmod(path, 0o644)
    return root


def b3sum_available() -> bool:
    return shutil.which("b3sum") is not None


def b3sum(path: str) -> str:
    """The id the reference tool gives a file: Debian's `b3sum`, or the
    blake3 module where the tool is absent (tests require the tool in CI)."""
    if b3sum_available():
        out = subprocess.run(["b3sum", "--no-names", path], check=True, capture_output=True,
                             text=True).stdout
        return out.strip()
    with open(path, "rb") as f:
        return blake3.blake3(f.read()).hexdigest()


def typed(store, oid, data):
    """The typed object stored under `oid`, or None for a blob."""
    if not encoding.looks_like_map(data[:1]):
        return None
    try:
        return decode_object(oid, data)
    except CorruptObject:
        return None  # a blob that happens to start like a map


class OrderChecking:
    """Mixin for a store: refuses to write a typed object before every
    object it names (types.children) is present, so any writer that breaks
    the connectivity invariant fails at the write that breaks it."""

    def _check_children(self, data: bytes) -> None:
        obj = typed(self, hash_bytes(data), data)
        if obj is None:
            return
        missing = [c for c in children(obj) if not self.has(c)]
        assert not missing, f"{type(obj).__name__} written before {missing}"

    def write_bytes(self, data):
        self._check_children(bytes(data))
        return super().write_bytes(data)


class OrderCheckingMemoryStore(OrderChecking, MemoryStore):
    pass


class OrderCheckingDiskStore(OrderChecking, DiskStore):
    pass


def dangling(store) -> list[tuple[str, str]]:
    """(object, missing child) for every typed object in the store naming an
    absent object -- except the contents of a bundle that a present state
    marks deleted or data_deleted (format.md: tombstones)."""
    objects = {}
    for oid in store.ids():
        obj = typed(store, oid, store.read_bytes(oid))
        if obj is not None:
            objects[oid] = obj
    states = {oid: s for oid, s in objects.items() if isinstance(s, State)}
    superseded = {p for s in states.values() for p in s.parents}
    tombstoned = {s.bundle for oid, s in states.items()
                  if oid not in superseded and (s.deleted or s.data_deleted)}
    out = []
    for oid, obj in objects.items():
        for child in children(obj):
            if store.has(child):
                continue
            if isinstance(obj, Bundle) and oid in tombstoned and obj.contents \
                    and child == obj.contents.id:
                continue
            out.append((oid, child))
    return out
