"""config.toml: the table of known settings (SETTINGS: key, type, default,
one-line help), reading with tomllib and checking every value against that
table, and writing back with tomli-w.

A setting is added by one line in SETTINGS.  A key may have `*` for one
name (`remote.*.url`).  Values are checked when set (`cl config`, `cl clone
-c`) and when a file is read: an unknown key or a value of the wrong type
is one InputError naming the file and the key.

Where a value comes from, first found wins: the environment (`CL_RUN_IMAGE`
for `run.image`), the repository's `config.toml`, the user's
(`$XDG_CONFIG_HOME/cl/config.toml`, by default `~/.config/cl/config.toml`),
then the default in SETTINGS."""

from __future__ import annotations

import os
import re
from typing import NamedTuple

from cl.errors import InputError


class Bad(Exception):
    """A value a Kind refuses; the caller names the key."""


class Kind:
    """How a setting's value is checked.  `check` takes a value as the file
    holds it (TOML types) and returns it, or raises Bad; `parse` takes
    text typed on the command line and returns the value to store."""

    name = "text"
    secret = False

    def check(self, value):
        if not isinstance(value, str):
            raise Bad(f"expected {self.name}")
        return _utf8(value)

    def parse(self, text: str):
        return self.check(text)


class Secret(Kind):
    """Text never shown by `cl config --list`."""
    name = "text (secret)"
    secret = True


class Bool(Kind):
    name = "true or false"
    WORDS = {"true": True, "yes": True, "on": True, "1": True,
             "false": False, "no": False, "off": False, "0": False}

    def check(self, value):
        if not isinstance(value, bool):
            raise Bad(f"expected {self.name}")
        return value

    def parse(self, text):
        return self.check(self.WORDS.get(text.strip().lower()))


class Integer(Kind):
    def __init__(self, low: int, high: int):
        self.low, self.high = low, high
        self.name = f"an integer from {low} to {high}"

    def check(self, value):
        if type(value) is not int or not self.low <= value <= self.high:
            raise Bad(f"expected {self.name}")
        return value

    def parse(self, text):
        # bounded digits: int() of 5,000 digits is refused by Python itself
        return self.check(int(text) if re.fullmatch(r"\s*[+-]?\d{1,30}\s*", text) else None)


class Duration(Kind):
    """`N[s|m|h|d]` as cl.bundles.units.parse_duration reads it (stored as
    written), or a number of seconds; at most 366 days."""
    name = "a duration such as 30s, 10m, 2h or 1d"
    TEXT = r"(?i)(\d{1,12}(?:\.\d{1,9})?)\s*([smhd]?)\Z"  # compiled by re on first use
    UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
    MAX_S = 366 * 86400

    def check(self, value):
        if type(value) is int and 0 <= value <= self.MAX_S:
            return value
        m = re.match(self.TEXT, value.strip()) if isinstance(value, str) else None
        if not m or float(m[1]) * self.UNITS[m[2].lower()] > self.MAX_S:
            raise Bad(f"expected {self.name} (at most 366d)")
        return value.strip()


class Size(Kind):
    """`N[k|m|g|t]` as cl.bundles.units.parse_size reads it (stored as
    written), or a number of bytes; at most 1 EiB."""
    name = "a size such as 512m, 64g or 2t"
    TEXT = r"(?i)(\d{1,19}(?:\.\d{1,9})?)\s*([kmgt]?)b?\Z"  # compiled by re on first use
    UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
    MAX = 1 << 60

    def check(self, value):
        if type(value) is int and 0 <= value <= self.MAX:
            return value
        m = re.match(self.TEXT, value.strip()) if isinstance(value, str) else None
        if not m or float(m[1]) * self.UNITS[m[2].lower()] > self.MAX:
            raise Bad(f"expected {self.name}")
        return value.strip()


class Choice(Kind):
    def __init__(self, *options: str):
        self.options = options
        self.name = "one of " + ", ".join(options)

    def check(self, value):
        if value not in self.options:
            raise Bad(f"expected {self.name}")
        return value


class Setting(NamedTuple):  # not a dataclass: `cl ls` must not import dataclasses
    key: str
    kind: Kind
    default: object
    help: str


TEXT, SECRET, BOOL = Kind(), Secret(), Bool()

SETTINGS = (
    Setting("user.name", TEXT, "", "your name on the bundles and worksheet versions you make (default: your login)"),
    Setting("core.bare", BOOL, False, "the repository is the directory itself, without a project (cl init --bare)"),
    Setting("worksheet.home", TEXT, "", "the home worksheet, `/` in a worksheet spec (cl init and cl clone set it)"),
    Setting("run.image", TEXT, "python:3.12-slim", "Docker image of runs that do not ask for one"),
    # the names of cl/runs/registry.py CHOICES (tests/cli/test_config.py checks they agree)
    Setting("run.executor", Choice("auto", "docker", "local", "local-unsafe", "slurm"), "auto",
            "how runs execute; auto: Docker if an engine answers, else local"),
    Setting("run.auto_worker", BOOL, True, "start a worker in the background when a run is queued"),
    Setting("run.network", BOOL, False, "give runs network access (--request-network)"),
    Setting("run.parallel", Integer(1, 1024), 1, "runs a worker executes at once"),
    Setting("run.worker_idle", Duration(), "10m", "a background worker exits after idling this long"),
    Setting("gc.auto", Integer(0, 1 << 40), 1000,
            "after a command writes, pack small loose objects once about this many have gathered (0: never)"),
    Setting("gc.auto_pack_limit", Integer(0, 1 << 20), 50,
            "after a command writes, merge the packs once there are this many (0: never)"),
    Setting("upload.max_expansion", Integer(0, 1 << 40), 100,
            "an uploaded archive may unpack to this many times its size (0: no bound)"),
    Setting("upload.max_unpacked_bytes", Integer(0, 1 << 62), 0,
            "an uploaded archive may unpack to at most this many bytes (0: no bound)"),
    Setting("upload.max_url_size", Size(), None, "refuse a URL upload (or --git clone) larger than this (default 64g)"),
    Setting("sync.timeout", Duration(), None, "give up on a remote that is silent this long (default 10m)"),
    Setting("sync.max_object_size", Size(), None, "refuse a received object larger than this (default 64g)"),
    Setting("server.timeout", Duration(), None, "cl server cuts off a request body silent this long (default 60s)"),
    Setting("server.per_token", Integer(1, 1 << 20), None, "cl server's requests in progress per token (default 4)"),
    Setting("server.behind_proxy", BOOL, False,
            "cl server sits behind a TLS proxy: trust its X-Forwarded-For/-Proto and mark cookies Secure"),
    Setting("server.proxy_ips", TEXT, "127.0.0.1",
            "with server.behind_proxy: the proxy addresses whose forwarded headers are trusted (comma-separated)"),
    Setting("server.public_url", TEXT, "", "the address people reach cl server at, e.g. https://cl.lab.example"),
    Setting("slurm.partition", TEXT, "", "the Slurm partition runs are submitted to (default: the cluster's)"),
    Setting("slurm.account", TEXT, "", "the Slurm account runs are charged to"),
    Setting("slurm.sbatch_options", TEXT, "", "more sbatch options, shell-quoted"),
    Setting("slurm.container", Choice("none", "docker", "podman"), "none", "how a Slurm job runs the command"),
    Setting("slurm.shared_dir", TEXT, "", "a directory the cluster's nodes share, for run directories"),
    Setting("ssh.command", TEXT, None, "reach ssh:// remotes with this command (e.g. ssh) instead of paramiko"),
    Setting("ssh.cl", TEXT, "cl", "the cl command on the far side of ssh:// remotes"),
    Setting("remote.*.url", TEXT, None, "where remote NAME is (cl remote add NAME URL)"),
    Setting("remote.*.token", SECRET, None, "the bearer token for remote NAME's cl server"),
)

PER_REPOSITORY = "remote"  # a table the user's file may not hold

_EXACT = {s.key: s for s in SETTINGS if "*" not in s.key}
_PATTERNS = [s for s in SETTINGS if "*" in s.key]
DEFAULTS: dict[str, dict] = {}
for _s in _EXACT.values():
    _table, _, _name = _s.key.rpartition(".")
    DEFAULTS.setdefault(_table, {})[_name] = _s.default


def _utf8(text: str) -> str:
    """Text that can be written to the file: not bytes smuggled in as
    surrogates (a command-line argument that is not UTF-8)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise Bad("expected UTF-8 text") from None
    return text


def setting(parts: tuple[str, ...]) -> Setting | None:
    """The setting a key (as its names: `("remote", "origin", "url")`) is."""
    found = _EXACT.get(".".join(parts))
    if found is not None:
        return found
    for s in _PATTERNS:
        pattern = s.key.split(".")
        if len(pattern) == len(parts) and all(p in ("*", n) for p, n in zip(pattern, parts)):
            return s
    return None


def known(key: str) -> Setting:
    """The setting named `key` (`run.image`, `remote.origin.url`), or an
    InputError with a did-you-mean."""
    found = setting(tuple(key.split(".")))
    if found is None:
        raise _unknown(key)
    return found


def _is_table(parts: tuple[str, ...]) -> bool:
    """Some setting lies below these names."""
    return any(len(k) > len(parts) and all(p in ("*", n) for p, n in zip(k, parts))
               for k in (s.key.split(".") for s in SETTINGS))


def _unknown(key: str, where: str = "") -> InputError:
    import difflib  # only on this error path
    keys = [s.key for s in SETTINGS]
    parts = key.split(".")
    if len(parts) >= 3:  # remote.origin.tokn -> remote.*.tokn
        keys += [s.key.replace("*", parts[1]) for s in _PATTERNS]
    guesses = [g for g in difflib.get_close_matches(key, keys, n=1, cutoff=0.6) if "*" not in g]
    if not guesses and "." not in key:  # `image` for `run.image`
        guesses = [k for k in keys if k.endswith("." + key) and "*" not in k][:1]
    hint = f"did you mean '{guesses[0]}'?" if guesses else "'cl config --list' shows the settings"
    return InputError(f"{where}unknown setting '{key}'", hint=hint)


def check(parts: tuple[str, ...], value, where: str = "", text: bool = False):
    """`value` checked as the setting at `parts` (a table key by key);
    with `text`, strings are parsed as typed on a command line.  Returns
    what to store."""
    key = ".".join(parts)
    if isinstance(value, dict):
        if parts and setting(parts) is not None:
            raise InputError(f"{where}'{key}' must be a value, not a table")
        if parts and not _is_table(parts):
            raise _unknown(key, where)
        out = {}
        for name, sub in value.items():
            out[name] = check((*parts, name), sub, where, text)
        return out
    found = setting(parts)
    if found is None:
        if _is_table(parts):
            raise InputError(f"{where}'{key}' must be a table, not a value")
        raise _unknown(key, where)
    try:
        return found.kind.parse(value) if text and isinstance(value, str) else found.kind.check(value)
    except Bad as exc:
        shown = repr(value)
        if len(shown) > 60:
            shown = shown[:57] + "..."
        raise InputError(f"{where}{key}: {exc}, not {shown}") from None


def display(value) -> str:
    """A value as `cl config KEY` prints it: booleans as TOML writes them."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# --- the file -----------------------------------------------------------------

def dumps(config: dict) -> str:
    """The file's text, written by tomli-w (tables nest: `[remote.origin]`)."""
    import tomli_w  # here, not at the top: only writing the config needs it
    return tomli_w.dumps(config)


def user_path() -> str:
    """The user's own config.toml (XDG), below every repository's."""
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return os.path.join(base, "cl", "config.toml")


def env_name(key: str) -> str:
    """The environment variable that overrides a setting: CL_RUN_IMAGE."""
    return "CL_" + re.sub(r"[^A-Za-z0-9]", "_", key).upper()


def _read(path: str) -> dict:
    """A config file's tables, checked; empty if there is no file."""
    import tomllib  # here, not at the top: most commands never read the config
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise InputError(f"cannot read '{path}': {exc.strerror}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: {exc}") from None
    return check((), data, where=f"{path}: ")


def _environment() -> dict[str, tuple[str, object]]:
    """key -> (variable, value) of the settings the environment sets."""
    out = {}
    for key in _EXACT:
        name = env_name(key)
        if name in os.environ:
            out[key] = (name, check(tuple(key.split(".")), os.environ[name],
                                    where=f"environment variable {name}: ", text=True))
    return out


def _node(data: dict, name: str) -> dict:
    node = data
    for part in name.split("."):
        node = node.get(part, {}) if isinstance(node, dict) else {}
    return node if isinstance(node, dict) else {}


class Config:
    """One config file (`path`: what set() and save() change) with the
    user's file below it and the environment above (`layered`)."""

    def __init__(self, path: str, layered: bool = False):
        self.path = path
        self.data = _read(path)
        self.is_user = os.path.abspath(path) == os.path.abspath(user_path())
        self.user_path = user_path() if layered and not self.is_user else None
        self.user = _read(self.user_path) if self.user_path else {}
        self.env = _environment() if layered else {}
        for where, data in ((self.path, self.data if self.is_user else {}), (self.user_path, self.user)):
            if PER_REPOSITORY in data:
                raise InputError(f"{where}: '{PER_REPOSITORY}' settings are per repository,"
                                 " not in the user's file")

    @classmethod
    def user_wide(cls) -> Config:
        """The user's own file, for `cl config --global`."""
        return cls(user_path())

    def table(self, name: str) -> dict:
        """A table of this file by dotted name (`remote.origin`); empty if
        absent.  Remotes are per repository: the user's file has none."""
        return _node(self.data, name)

    def get(self, table: str, key: str, default=None):
        return self.lookup(table, key, default)[0]

    def lookup(self, table: str, key: str, default=None) -> tuple[object, str]:
        """(value, where it comes from: an environment variable, a file or
        "default")."""
        full = f"{table}.{key}"
        if full in self.env:
            name, value = self.env[full]
            return value, f"environment {name}"
        for where, data in ((self.path, self.data), (self.user_path, self.user)):
            value = _node(data, table).get(key)
            if value is not None:
                return value, where
        registered = DEFAULTS.get(table, {}).get(key)
        return (default if registered is None else registered), "default"

    def set(self, table: str, key: str, value) -> None:
        """Set `table.key` to `value` (text as typed, or a value; a dict for
        a whole table), checked against SETTINGS; None removes it."""
        parts = (*table.split("."), key) if table else (key,)
        if self.is_user and parts[0] == PER_REPOSITORY:
            raise InputError(f"'{PER_REPOSITORY}' settings are per repository, not user-wide")
        if value is not None:
            value = check(parts, value, text=True)
        elif setting(parts) is None and not _is_table(parts):
            raise _unknown(".".join(parts))
        node = self.data
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        if value is None:
            node.pop(key, None)
        else:
            node[key] = value

    def remove_table(self, name: str) -> None:
        parent, _, last = name.rpartition(".")
        node = _node(self.data, parent) if parent else self.data
        node.pop(last, None)

    def listing(self) -> list[tuple[str, str, str, str, str]]:
        """(key, value, origin, type, help) of every setting, `*` shown as
        NAME, then each pattern setting that is set (`remote.origin.url`);
        a secret's value is shown only as set or not."""
        rows = []

        def shown(s: Setting, value) -> str:
            if value is None or value == "":
                return "-"
            return "(set)" if s.kind.secret else display(value)

        for s in SETTINGS:
            if "*" in s.key:
                rows.append((s.key.replace("*", "NAME"), "-", "-", s.kind.name, s.help))
                continue
            table, _, name = s.key.rpartition(".")
            value, origin = self.lookup(table, name)
            rows.append((s.key, shown(s, value), origin, s.kind.name, s.help))
        for where, data in ((self.user_path, self.user), (self.path, self.data)):
            for parts, value in _leaves(data):
                s = setting(parts)
                if s is not None and "*" in s.key:
                    rows.append((".".join(parts), shown(s, value), where, s.kind.name, s.help))
        return rows

    def save(self) -> None:
        """Written readable by its owner only: it can hold remote tokens."""
        os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
        tmp = self.path + ".tmp"
        with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="utf-8") as f:
            os.fchmod(f.fileno(), 0o600)  # a leftover tmp file keeps its old mode otherwise
            f.write(dumps(self.data))
        os.replace(tmp, self.path)


def _leaves(node: dict, parts: tuple[str, ...] = ()):
    for name, value in sorted(node.items()):
        if isinstance(value, dict):
            yield from _leaves(value, (*parts, name))
        else:
            yield (*parts, name), value
