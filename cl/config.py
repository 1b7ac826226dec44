"""config.toml: read with tomllib, written back by a small writer that
handles what the file holds (tables of strings, numbers and booleans)."""

import os
import re
import tomllib

from cl.errors import InputError

DEFAULTS = {
    "user": {"name": ""},
    "run": {"image": "cl-test/busybox:latest", "executor": "auto", "auto_worker": True,
            "network": False},
}


def _quote(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_quote(v) for v in value) + "]"
    text = str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{text}"'


def _key(name: str) -> str:
    return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else _quote(name)


def dumps(config: dict) -> str:
    lines = []
    for table in sorted(config):
        values = config[table]
        if not isinstance(values, dict):
            continue
        scalars = {k: v for k, v in values.items() if not isinstance(v, dict)}
        subtables = {k: v for k, v in values.items() if isinstance(v, dict)}
        if scalars or not subtables:
            lines.append(f"[{_key(table)}]")
            lines += [f"{_key(k)} = {_quote(v)}" for k, v in sorted(scalars.items())]
            lines.append("")
        for sub, subvalues in sorted(subtables.items()):
            lines.append(f"[{_key(table)}.{_key(sub)}]")
            lines += [f"{_key(k)} = {_quote(v)}" for k, v in sorted(subvalues.items())]
            lines.append("")
    return "\n".join(lines)


class Config:
    def __init__(self, path: str):
        self.path = path
        try:
            with open(path, "rb") as f:
                self.data = tomllib.load(f)
        except FileNotFoundError:
            self.data = {}
        except tomllib.TOMLDecodeError as exc:
            raise InputError(f"{path}: {exc}") from None

    def get(self, table: str, key: str, default=None):
        value = self.data.get(table, {}).get(key)
        if value is None:
            value = DEFAULTS.get(table, {}).get(key, default)
        return value

    def set(self, table: str, key: str, value) -> None:
        self.data.setdefault(table, {})[key] = value

    def table(self, name: str) -> dict:
        return self.data.get(name, {})

    def save(self) -> None:
        tmp = self.path + ".tmp"
        with open(tmp, "w") as f:
            f.write(dumps(self.data))
        os.replace(tmp, self.path)
