"""config.toml: read with tomllib, written back by a small writer that
handles what the file holds (tables of strings, numbers and booleans)."""

import os
import re

from cl.errors import InputError

DEFAULTS = {
    "user": {"name": ""},
    "run": {"image": "python:3.12-slim", "executor": "auto", "auto_worker": True,
            "network": False, "parallel": 1, "worker_idle": "10m"},
    # how far an uploaded archive may expand (cl/bundles/archives.py); 0: no bound
    "upload": {"max_expansion": 100, "max_unpacked_bytes": 0},
    # the Slurm executor (cl/runs/slurm_executor.py)
    "slurm": {"partition": "", "account": "", "sbatch_options": "", "container": "none",
              "shared_dir": ""},
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


def dumps(config: dict, prefix: str = "") -> str:
    """Tables nest to any depth: `[remote.origin]`."""
    lines = []
    for table in sorted(config):
        values = config[table]
        if not isinstance(values, dict):
            continue
        name = f"{prefix}.{_key(table)}" if prefix else _key(table)
        scalars = {k: v for k, v in values.items() if not isinstance(v, dict)}
        if scalars or not values:
            lines.append(f"[{name}]")
            lines += [f"{_key(k)} = {_quote(v)}" for k, v in sorted(scalars.items())]
            lines.append("")
        sub = {k: v for k, v in values.items() if isinstance(v, dict)}
        if sub:
            lines.append(dumps(sub, name))
    return "\n".join(lines)


def user_path() -> str:
    """The user's own config.toml (XDG: `$XDG_CONFIG_HOME/cl/config.toml`,
    by default `~/.config/cl/config.toml`), read below every repository's."""
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return os.path.join(base, "cl", "config.toml")


class Config:
    def __init__(self, path: str):
        import tomllib  # here, not at the top: most commands never read the config
        self.path = path
        try:
            with open(path, "rb") as f:
                self.data = tomllib.load(f)
        except FileNotFoundError:
            self.data = {}
        except tomllib.TOMLDecodeError as exc:
            raise InputError(f"{path}: {exc}") from None

    def table(self, name: str) -> dict:
        """A table by dotted name (`remote.origin`); empty if absent."""
        node = self.data
        for part in name.split("."):
            node = node.get(part, {}) if isinstance(node, dict) else {}
        return node if isinstance(node, dict) else {}

    def get(self, table: str, key: str, default=None):
        """The repository's value, else the user's (user_path()), else the default."""
        value = self.table(table).get(key)
        if value is None:
            value = self._user_table(table).get(key)
        if value is None:
            value = DEFAULTS.get(table, {}).get(key, default)
        return value

    def _user_table(self, name: str) -> dict:
        if not hasattr(self, "_user"):
            path = user_path()
            self._user = Config(path).data if path != self.path else {}
        node = self._user
        for part in name.split("."):
            node = node.get(part, {}) if isinstance(node, dict) else {}
        return node if isinstance(node, dict) else {}

    def set(self, table: str, key: str, value) -> None:
        node = self.data
        for part in table.split("."):
            node = node.setdefault(part, {})
        if value is None:
            node.pop(key, None)
        else:
            node[key] = value

    def remove_table(self, name: str) -> None:
        parent, _, last = name.rpartition(".")
        node = self.table(parent) if parent else self.data
        node.pop(last, None)

    def save(self) -> None:
        """Written readable by its owner only: it can hold remote tokens."""
        tmp = self.path + ".tmp"
        with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
            os.fchmod(f.fileno(), 0o600)  # a leftover tmp file keeps its old mode otherwise
            f.write(dumps(self.data))
        os.replace(tmp, self.path)
