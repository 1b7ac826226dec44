"""Reading a value out of a small structured file, for genpaths such as
`/stats.json:train/errorRate`: JSON, YAML (read by PyYAML's safe loader:
flow maps, folded and literal text, anchors), or a TSV of
`key<TAB>value` lines (whitespace also separates when there is no tab).
Everything here is pure; PyYAML is imported only when YAML is read."""

import json
import re

_INT = re.compile(r"[-+]?\d+\Z")
_FLOAT = re.compile(r"[-+]?(\d+\.\d*|\.\d+|\d+)([eE][-+]?\d+)?\Z|[-+]?(inf|nan)\Z", re.I)


class NotStructured(ValueError):
    pass


def load(data: bytes, name: str = ""):
    """The document as Python values.  The file's extension picks the reader
    when it says (.json, .yaml/.yml, .tsv); otherwise JSON, then YAML, then
    TSV are tried in turn."""
    text = data.decode("utf-8", errors="replace")
    lower = name.lower()
    if lower.endswith(".json"):
        return json.loads(text)
    if lower.endswith((".yaml", ".yml")):
        return load_yaml(text)
    if lower.endswith(".tsv"):
        return load_tsv(text)
    try:
        return json.loads(text)
    except ValueError:
        pass
    try:
        doc = load_yaml(text)
    except NotStructured:
        return load_tsv(text)
    # `key<TAB>value` lines read as YAML are one long string: a TSV then
    return doc if isinstance(doc, (dict, list)) else load_tsv(text)


def extract(data: bytes, name: str, keypath: str):
    """The value at `keypath` (`train/errorRate`, list items by index), or
    None when it is not there."""
    try:
        doc = load(data, name)
    except (ValueError, NotStructured, RecursionError):  # unreadable, or nested past Python's stack
        return None
    for key in [k for k in keypath.split("/") if k != ""]:
        if isinstance(doc, dict):
            if key in doc:
                doc = doc[key]
            else:
                return None
        elif isinstance(doc, list) and _INT.match(key) and -len(doc) <= int(key) < len(doc):
            doc = doc[int(key)]
        else:
            return None
    return doc


def scalar(text: str):
    """A YAML/TSV scalar: numbers, booleans, null, quoted strings."""
    t = text.strip()
    if t == "":
        return None
    if len(t) >= 2 and t[0] == t[-1] and t[0] in "'\"":
        return t[1:-1]
    if t in ("null", "~", "Null", "NULL"):
        return None
    if t in ("true", "True", "TRUE"):
        return True
    if t in ("false", "False", "FALSE"):
        return False
    if _INT.match(t):
        return int(t)
    if _FLOAT.match(t):
        return float(t)
    if t[0] in "[{":
        try:
            return json.loads(t)
        except ValueError:
            pass
    return t


def load_yaml(text: str):
    """A YAML document read by PyYAML's safe loader (no Python objects, no
    tags that run code); raises NotStructured when it is not YAML.  Keys
    that YAML reads as numbers, booleans or dates are kept as text, since
    a key path is text."""
    import yaml  # only a page that reads a YAML value pays for it
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        return _text_keys(yaml.load(text, Loader=loader))
    except yaml.YAMLError as exc:
        raise NotStructured(f"not YAML: {exc}") from None


def _text_keys(doc):
    if isinstance(doc, dict):
        return {_key_text(k): _text_keys(v) for k, v in doc.items()}
    if isinstance(doc, list):
        return [_text_keys(v) for v in doc]
    return doc


def _key_text(key) -> str:
    if key is None:
        return ""
    if isinstance(key, bool):
        return "true" if key else "false"
    return str(key)


def load_tsv(text: str) -> dict:
    """`key<TAB>value` lines (or `key value`): a map."""
    out = {}
    for raw in text.split("\n"):
        line = raw.rstrip("\r")
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if "\t" in line:
            key, _, value = line.partition("\t")
        else:
            parts = line.strip().split(None, 1)
            key, value = parts[0], parts[1] if len(parts) > 1 else ""
        out[key.strip()] = scalar(value)
    return out


def read_table(data: bytes) -> tuple[list[str], list[list]]:
    """A TSV with a header row, for graphs: (header, rows of scalars).
    Without a header of names (the first row is numbers) columns are named
    by position."""
    rows = []
    for raw in data.decode("utf-8", errors="replace").split("\n"):
        line = raw.rstrip("\r")
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        cells = line.split("\t") if "\t" in line else line.split()
        rows.append([c.strip() for c in cells])
    if not rows:
        return [], []
    if all(isinstance(scalar(c), (int, float)) for c in rows[0]):
        header = [str(i) for i in range(len(rows[0]))]
    else:
        header, rows = rows[0], rows[1:]
    return header, [[scalar(c) for c in r] for r in rows]
