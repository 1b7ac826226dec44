"""Reading a value out of a small structured file, for genpaths such as
`/stats.json:train/errorRate`: JSON, the simple YAML form (`key: value`,
nested by indentation, `- item` lists; no anchors, multi-line strings or
flow maps beyond what JSON can read), or a TSV of `key<TAB>value` lines
(whitespace also separates when there is no tab).

PyYAML is not a dependency of cl; this small reader covers the files
experiments write.  Everything here is pure."""

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
        return load_yaml(text)
    except NotStructured:
        return load_tsv(text)


def extract(data: bytes, name: str, keypath: str):
    """The value at `keypath` (`train/errorRate`, list items by index), or
    None when it is not there."""
    try:
        doc = load(data, name)
    except (ValueError, NotStructured):
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


def _strip_comment(line: str) -> str:
    if line.lstrip().startswith("#"):
        return ""
    quote = None
    for i, c in enumerate(line):
        if c in "'\"":
            quote = None if quote == c else (quote or c)
        elif c == "#" and quote is None and i and line[i - 1] in " \t":
            return line[:i].rstrip()
    return line.rstrip()


def load_yaml(text: str):
    """Block mappings and lists by indentation; raises NotStructured for a
    line it does not understand."""
    lines = []
    for raw in text.split("\n"):
        line = _strip_comment(raw.rstrip("\r"))
        if line.strip() in ("", "---", "..."):
            continue
        if "\t" in line[: len(line) - len(line.lstrip())]:
            raise NotStructured("tab indentation")
        lines.append((len(line) - len(line.lstrip(" ")), line.strip()))
    if not lines:
        raise NotStructured("empty")
    value, pos = _yaml_block(lines, 0, lines[0][0])
    if pos != len(lines):
        raise NotStructured("bad indentation")
    return value


def _yaml_block(lines, pos, indent):
    if lines[pos][1].startswith("- ") or lines[pos][1] == "-":
        out_list = []
        while pos < len(lines) and lines[pos][0] == indent and (lines[pos][1].startswith("- ") or lines[pos][1] == "-"):
            rest = lines[pos][1][1:].strip()
            pos += 1
            if rest:
                if _is_key(rest):
                    # `- key: value` starts a map inside the list
                    sub = [(indent + 2, rest)]
                    while pos < len(lines) and lines[pos][0] > indent:
                        sub.append(lines[pos])
                        pos += 1
                    value, _ = _yaml_block(sub, 0, indent + 2)
                    out_list.append(value)
                else:
                    out_list.append(scalar(rest))
            elif pos < len(lines) and lines[pos][0] > indent:
                value, pos = _yaml_block(lines, pos, lines[pos][0])
                out_list.append(value)
            else:
                out_list.append(None)
        return out_list, pos
    out: dict = {}
    while pos < len(lines) and lines[pos][0] == indent:
        content = lines[pos][1]
        if not _is_key(content):
            raise NotStructured(f"not a key: {content!r}")
        key, _, rest = content.partition(":")
        key = scalar(key)
        key = str(key) if key is not None else ""
        pos += 1
        if rest.strip():
            out[key] = scalar(rest)
        elif pos < len(lines) and (lines[pos][0] > indent or
                                   (lines[pos][0] == indent and lines[pos][1].startswith("-"))):
            out[key], pos = _yaml_block(lines, pos, lines[pos][0])
        else:
            out[key] = None
    if pos < len(lines) and lines[pos][0] > indent:
        raise NotStructured("bad indentation")
    return out, pos


def _is_key(content: str) -> bool:
    key, colon, rest = content.partition(":")
    return bool(colon) and key.strip() != "" and (rest == "" or rest[0] == " ") and not key.startswith(("[", "{"))


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
