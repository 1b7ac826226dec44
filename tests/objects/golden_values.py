"""The concrete values behind the golden test vectors of docs/format.md.

They form one small, connected repository: blobs, the trees naming them, a
dataset bundle, a run over it, the run's result, two states of the run and a
worksheet listing both bundles; and a tree whose names are not all UTF-8.  Every id below is computed from the values
before it, exactly as a writer would (children first).

The expected bytes and ids live in golden_vectors.json and in the spec; this
module only builds the values with the public constructors, so a renamed or
reordered field in `to_map` changes the bytes and fails test_golden.py."""

import os

from cl.objects import encoding
from cl.objects.ids import hash_bytes
from cl.objects.types import (MODE_DIR, MODE_EXEC, MODE_FILE, MODE_LINK, Bundle, Contents,
                              Dependency, Item, Result, State, Tree, TreeEntry, Worksheet)

T0 = 1_700_000_000_000_000_000  # 2023-11-14T22:13:20Z in nanoseconds


def _id(obj):
    return hash_bytes(encoding.encode(obj.to_map()))


def build():
    """[(name, value)] in write order; a value is `bytes` for a blob, else a
    typed object."""
    out = []

    hello = b"hello\n"
    script = b"#!/bin/sh\necho hi\n"
    target = b"hello.txt"
    empty = b""
    for name, data in (("blob-hello", hello), ("blob-script", script), ("blob-link", target),
                       ("blob-empty", empty)):
        out.append((name, data))

    sub = Tree((TreeEntry("empty", MODE_FILE, 0, hash_bytes(empty)),))
    out.append(("tree-sub", sub))
    root = Tree((
        TreeEntry("hello.txt", MODE_FILE, len(hello), hash_bytes(hello)),
        TreeEntry("link", MODE_LINK, len(target), hash_bytes(target)),
        TreeEntry("run.sh", MODE_EXEC, len(script), hash_bytes(script)),
        TreeEntry("sub", MODE_DIR, sub.size, _id(sub)),
    ))
    out.append(("tree-root", root))

    dataset = Bundle(
        kind="dataset", created=T0, creator="alice", nonce="00112233445566778899aabbccddeeff",
        metadata={"name": "hello", "description": "a greeting", "tags": ["demo"]},
        contents=Contents(MODE_DIR, root.size, _id(root)),
        source={"path": "/home/alice/hello"}, args="cl upload hello",
    )
    out.append(("bundle-dataset", dataset))
    dataset_id = _id(dataset)

    run = Bundle(
        kind="run", created=T0 + 1_000_000_000, creator="alice",
        nonce="ffeeddccbbaa99887766554433221100",
        metadata={"name": "greet", "description": "", "tags": []},
        command="cat in/hello.txt > out",
        dependencies=(Dependency("in", dataset_id, ""),),
        request={"image": "cl-test/busybox:latest", "cpus": 1, "memory": 1 << 30, "time": 0,
                 "disk": 0, "gpus": 0, "network": False},
        args="cl run in:hello 'cat in/hello.txt > out'",
    )
    out.append(("bundle-run", run))
    run_id = _id(run)

    created = State(bundle=run_id, parents=(), time=T0 + 1_000_000_000, author="alice",
                    metadata=dict(run.metadata), state="created")
    out.append(("state-created", created))

    outputs = Tree((
        TreeEntry("out", MODE_FILE, len(hello), hash_bytes(hello)),
        TreeEntry("stderr", MODE_FILE, 0, hash_bytes(empty)),
        TreeEntry("stdout", MODE_FILE, 0, hash_bytes(empty)),
    ))
    out.append(("tree-run", outputs))

    result = Result(
        bundle=run_id, contents=Contents(MODE_DIR, outputs.size, _id(outputs)), exit_code=0,
        started=T0 + 2_000_000_000, finished=T0 + 2_500_000_000, cpu_user=1_000_000,
        cpu_system=2_000_000, peak_memory=1 << 20,
        image={"name": "cl-test/busybox:latest", "id": "sha256:" + "ab" * 32},
        executor="docker", host="lab1", failure=None,
    )
    out.append(("result", result))

    ready = State(bundle=run_id, parents=(_id(created),), time=T0 + 3_000_000_000,
                  author="alice", metadata=dict(run.metadata), state="ready",
                  result=_id(result))
    out.append(("state-ready", ready))

    worksheet = Worksheet(
        worksheet="0123456789abcdef0123456789abcdef", parents=(), time=T0 + 4_000_000_000,
        author="alice", message="create", name="demo", title="A demo", tags=("demo",),
        items=(Item("markup", "Greetings."), Item("bundle", dataset_id),
               Item("directive", "display table"), Item("bundle", run_id),
               Item("worksheet", "fedcba9876543210fedcba9876543210")),
    )
    out.append(("worksheet", worksheet))

    # [F20]: names that are not UTF-8 are bin, sorted with the others by
    # their bytes -- b"\xff" after "\uff21" (ef bc a1), which code point
    # order would reverse (the escape of 0xff is U+DCFF).
    names = Tree((
        TreeEntry("caf\u00e9.txt", MODE_FILE, len(hello), hash_bytes(hello)),
        TreeEntry(os.fsdecode(b"caf\xe9.txt"), MODE_FILE, len(hello), hash_bytes(hello)),
        TreeEntry("\uff21", MODE_FILE, 0, hash_bytes(empty)),
        TreeEntry(os.fsdecode(b"\xff"), MODE_FILE, 0, hash_bytes(empty)),
    ))
    out.append(("tree-names", names))
    return out


# Canonical encodings of plain values, each showing one rule of the encoding.
ENCODING_EXAMPLES = [
    ("keys sorted", {"b": 1, "a": 2}),
    ("nested keys sorted", {"z": {"y": None, "x": True}, "a": [False]}),
    ("minimal integers", {"a": 0, "b": 127, "c": 128, "d": -1, "e": -33, "f": 1 << 32}),
    ("text is str, bytes are bin", {"s": "é", "b": b"\x00\xff"}),
    ("keys by UTF-8 bytes", {"é": 1, "z": 2, "Z": 3}),
]

# Bytes that a decoder MUST reject, with the rule each breaks.
NON_CANONICAL = [
    ("keys not sorted", "82a16201a16102"),
    ("duplicate key", "82a16101a16101"),
    ("non-minimal integer (uint8 for 1)", "81a161cc01"),
    ("non-minimal integer (int16 for -1)", "81a161d1ffff"),
    ("non-minimal string (str8 for 1 byte)", "81a161d90178"),
    ("non-minimal map header (map16)", "de0001a16101"),
    ("non-minimal array header (array16)", "81a161dc000101"),
    ("float64", "81a161cb3ff0000000000000"),
    ("float32", "81a161ca3f800000"),
    ("binary map key", "81c4016101"),
    ("integer map key", "810101"),
    ("extension type", "81a161d40100"),
    ("trailing bytes", "81a1610100"),
    ("invalid UTF-8 in str", "81a161a1ff"),
    ("truncated", "82a16101"),
]
