"""Write golden_vectors.json from golden_values.py (run by hand, not a test).

    python -m tests.objects.make_golden          # refuses if the file exists
    python -m tests.objects.make_golden --doc    # print the vectors as markdown

Only ever run it to ADD vectors for a NEW object type.  If an existing vector
would change, the format changed: every stored id would change with it.
Add a new type instead (docs/format.md, "Changing the format")."""

import json
import os
import sys
import textwrap

from cl.objects import encoding
from cl.objects.ids import hash_bytes
from tests.objects.golden_values import ENCODING_EXAMPLES, NON_CANONICAL, build

HERE = os.path.dirname(os.path.abspath(__file__))
PATH = os.path.join(HERE, "golden_vectors.json")


def _plain(value):
    """A msgpack value as JSON: bytes become {"$bin": hex}."""
    if isinstance(value, bytes):
        return {"$bin": value.hex()}
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def vectors() -> dict:
    objects = []
    for name, value in build():
        if isinstance(value, bytes):
            objects.append({"name": name, "type": "blob", "hex": value.hex(),
                            "id": hash_bytes(value)})
        else:
            m = value.to_map()
            data = encoding.encode(m)
            objects.append({"name": name, "type": m["type"], "map": _plain(m), "hex": data.hex(),
                            "id": hash_bytes(data)})
    examples = [{"rule": rule, "value": _plain(v), "hex": encoding.encode(v).hex()}
                for rule, v in ENCODING_EXAMPLES]
    rejected = [{"rule": rule, "hex": h} for rule, h in NON_CANONICAL]
    return {"objects": objects, "encoding": examples, "non_canonical": rejected}


def _hexdump(hex_text: str) -> str:
    return "\n".join(textwrap.wrap(hex_text, 64))


def markdown(v: dict) -> str:
    out = []
    for o in v["objects"]:
        out.append(f"#### {o['name']} ({o['type']})\n")
        if "map" in o:
            lines = [f' "{k}": {json.dumps(o["map"][k], ensure_ascii=False, sort_keys=True)}'
                     for k in sorted(o["map"])]
            out.append("```json\n{\n" + ",\n".join(lines) + "\n}\n```\n")
        else:
            out.append(f"bytes: `{bytes.fromhex(o['hex'])!r}`\n")
        out.append(f"{len(o['hex']) // 2} bytes:\n\n```\n{_hexdump(o['hex']) or '(empty)'}\n```\n")
        out.append(f"id: `{o['id']}`\n")
    return "\n".join(out)


def main(argv):
    v = vectors()
    if "--doc" in argv:
        print(markdown(v))
        return
    if os.path.exists(PATH) and "--force" not in argv:
        sys.exit(f"{PATH} exists; changing a golden vector changes the format (see the docstring)")
    with open(PATH, "w") as f:
        json.dump(v, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main(sys.argv[1:])
