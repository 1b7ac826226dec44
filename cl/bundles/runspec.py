"""Run specs: what `cl run` arguments mean, and recording a run bundle.

    cl run KEY:TARGET :TARGET TARGET… COMMAND      (or  … --- COMMAND WORDS)

* `key:target` mounts the target at `key` (a leading `/` is dropped);
  `:target` takes the key from the target's whole subpath
  (`run/out/a.txt` -> `out/a.txt`) or its spec text (`a.txt`); a bare
  `target` gets `b1`, `b2`, …; the same `key:target` twice is one
  dependency.
* inside the command, `%target%`, `%key:target%` and `%:target%` become
  dependencies and are replaced by their keys; `%target%` reuses its
  target's key or gets `b<N>`, N its place among the dependencies, as
  CodaLab numbers them; `%%` is a literal `%`.
* `cl run … --- WORDS`: the words, re-quoted for the shell, are the command.
* key `.` puts the dependency's children at the top of the run directory;
  `a/b` creates the parent `a`; two dependencies under one key, or a key
  inside another key, are errors.
* sizes are `N[k|m|g|t]` (powers of 1024), durations `N[s|m|h|d]`
  (cl.bundles.units).

Dependencies are resolved to bundle ids and paths here, when the run is
created: that is the run's provenance.  `create_run` records the bundle in
state `created`; a worker (cl/runs) executes it."""

import posixpath
import re

from cl.bundles.names import check_name, default_name
from cl.bundles.specs import resolve_target
from cl.bundles.units import format_size, parse_duration, parse_size  # noqa: F401 (re-exported)
from cl.errors import CLError, InputError, SpecError, UsageError
from cl.objects.ids import ObjectId
from cl.objects.trees import lookup
from cl.objects.types import Bundle, Dependency
from cl.objects.value import Value, _set
from cl.repo import Repository, new_nonce, now_ns

# --- sizes and durations (parsed by cl.bundles.units) -------------------------


def _positive(value: int, text, what: str) -> int:
    if value <= 0:
        raise InputError(f"invalid {what}: '{text}' (must be more than zero)")
    return value


def format_duration(seconds: int) -> str:
    """3600 -> `1h`, 90 -> `1m30s`."""
    out, left = "", int(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        n, left = divmod(left, size)
        if n:
            out += f"{n}{unit}"
    return out or "0s"


# --- the run spec ------------------------------------------------------------

REQUEST_KEYS = ("image", "memory", "time", "disk", "cpus", "gpus", "network", "queue", "priority")


class RunSpec(Value):
    """Everything a run bundle is made of, resolved: the command, the
    dependencies (ids and paths), the resource request (`image` str,
    `memory`/`disk` bytes, `time` seconds, `cpus`/`gpus`/`priority` ints,
    `network` bool, `queue` str), metadata (name, description, tags) and
    options (`allow_failed_dependencies`, `exclude_patterns`).  `worksheet`:
    None for the current one, "" for none."""

    __slots__ = ("command", "dependencies", "request", "metadata", "options", "args", "worksheet")

    def __init__(self, command: str, dependencies: tuple[Dependency, ...] = (), request: dict | None = None,
                 metadata: dict | None = None, options: dict | None = None, args: str = "",
                 worksheet: str | None = None):
        _set(self, "command", command)
        _set(self, "dependencies", tuple(dependencies))
        _set(self, "request", {} if request is None else request)
        _set(self, "metadata", {} if metadata is None else metadata)
        _set(self, "options", {} if options is None else options)
        _set(self, "args", args)
        _set(self, "worksheet", worksheet)

    @classmethod
    def from_bundle(cls, bundle: Bundle, *, dependencies=None, request=None, metadata=None,
                    options=None, worksheet=None, args=None) -> "RunSpec":
        """A spec repeating an existing run, with some parts replaced."""
        return cls(command=bundle.command or "",
                   dependencies=tuple(bundle.dependencies if dependencies is None else dependencies),
                   request=dict(bundle.request if request is None else request),
                   metadata=dict(bundle.metadata if metadata is None else metadata),
                   options=dict(bundle.options if options is None else options),
                   args=bundle.args if args is None else args, worksheet=worksheet)


# --- keys --------------------------------------------------------------------


def check_key(key: str) -> str:
    """A key is `.` or a relative path without `.`/`..` parts."""
    if key == ".":
        return key
    parts = key.split("/")
    if not key or key.startswith("/") or any(p in ("", ".", "..") for p in parts) or "\0" in key:
        raise InputError(f"invalid dependency key: '{key}' (a relative path like 'input' or "
                         "'data/train', or '.')")
    return key


def check_keys(dependencies) -> None:
    """Refuse duplicate keys and a key inside another key."""
    keys = [d.key for d in dependencies]
    seen = set()
    for key in keys:
        check_key(key)
        if key in seen:
            raise InputError(f"duplicate dependency key: '{key}'")
        seen.add(key)
    for key in keys:
        parts = key.split("/")
        for i in range(1, len(parts)):
            parent = "/".join(parts[:i])
            if parent in seen:
                raise InputError(f"dependency key '{key}' is inside key '{parent}'")


def key_from_target(spec: str) -> str:
    """The key `:target` gets, as CodaLab gives it: the whole path inside
    the bundle (`run/out/a.txt` -> `out/a.txt`), else the bundle's spec text
    without its remote and worksheet qualifiers (`ws//data` -> `data`)."""
    text = spec.split("::", 1)[1] if "::" in spec else spec
    text = text.split("//", 1)[1] if "//" in text else text
    head, _, path = text.partition("/")
    key = path.strip("/") or head
    if not key or any(part in (".", "..") for part in key.split("/")):
        raise InputError(f"cannot take a key from '{spec}': write KEY:{spec}")
    return key


def _key_colon(arg: str) -> int:
    """Where the `:` ending a key is: the first `:`, unless it starts a
    remote's `::` (then the argument has no key); -1 when there is none."""
    i = arg.find(":")
    return -1 if i < 0 or arg.startswith("::", i) else i


def split_dependency(arg: str) -> tuple[str | None, str]:
    """`key:target` -> (key, target); `:target` -> (derived key, target);
    `target` -> (None, target): the caller numbers it.  A key is a path
    inside the run directory: a leading `/` means its top, so `/foo/bar`
    is the key `foo/bar`."""
    i = _key_colon(arg)
    if i < 0:
        if not arg:
            raise InputError("empty dependency (KEY:TARGET, :TARGET or TARGET)")
        return None, arg
    key, target = arg[:i], arg[i + 1:]
    if not target:
        raise InputError(f"missing target after the key: '{arg}'")
    if not key:
        return key_from_target(target), target
    if key.startswith("/"):
        key = key.lstrip("/")
        if not key:
            raise InputError(f"invalid dependency key: '{arg[:i]}' (a relative path like 'input' "
                             "or 'data/train', or '.')")
    return key, target


# --- sugar -------------------------------------------------------------------

_SUGAR_TOKEN = re.compile(r"[^%\s]+")


def expand_sugar(command: str) -> tuple[str, list[tuple[str | None, str]]]:
    """Find the `%…%` references of a command.  Returns the command with a
    placeholder for each reference (see `_fill`) and the (key or None,
    target) pair of each distinct reference, in order of first appearance;
    a None key is numbered later by `assign_keys`."""
    if "\0" in command:  # the placeholders are NUL-delimited; argv never holds a NUL anyway
        raise InputError("the command holds a NUL character")
    out: list[str] = []
    found: dict[str, int] = {}
    pairs: list[tuple[str | None, str]] = []
    i = 0
    while i < len(command):
        ch = command[i]
        if ch != "%":
            out.append(ch)
            i += 1
            continue
        if command.startswith("%%", i):
            out.append("%")
            i += 2
            continue
        end = command.find("%", i + 1)
        inner = command[i + 1:end] if end > 0 else ""
        if end < 0 or not _SUGAR_TOKEN.fullmatch(inner):
            out.append(ch)
            i += 1
            continue
        if inner not in found:
            found[inner] = len(pairs)
            pairs.append(split_dependency(inner))
        out.append(f"\0{found[inner]}\0")
        i = end + 1
    return "".join(out), pairs


def _fill(command: str, keys: list[str]) -> str:
    return re.sub(r"\0(\d+)\0", lambda m: keys[int(m[1])], command)


def assign_keys(explicit: list[tuple[str | None, str]], sugar: list[tuple[str | None, str]]
                ) -> tuple[list[tuple[str, str]], list[str]]:
    """Name every dependency as CodaLab does.  Explicit targets come first,
    then the command's references; an unnamed one reuses the key its
    target text already has, else gets `b<N>` with N its position in the
    list (1-based), moving on past keys named anywhere.  The same
    (key, target) twice is one dependency; one key for two targets is an
    error.  Returns the (key, target) list and the keys of the sugar
    references, in order."""
    named = {k for k, _ in explicit + sugar if k is not None}
    out: list[tuple[str, str]] = []
    target_of: dict[str, str] = {}
    key_of: dict[str, str] = {}

    def place(key: str | None, target: str) -> str:
        if key is None:
            key = key_of.get(target)
        if key is None:
            n = len(out) + 1
            while f"b{n}" in named or f"b{n}" in target_of:
                n += 1
            key = f"b{n}"
        if key in target_of:
            if target_of[key] != target:
                raise InputError(f"duplicate dependency key: '{key}' ({target_of[key]} and {target})")
        else:
            target_of[key] = target
            out.append((key, target))
        key_of.setdefault(target, key)
        return key

    for key, target in explicit:
        place(key, target)
    sugar_keys = [place(key, target) for key, target in sugar]
    return out, sugar_keys


def command_from_words(words) -> str:
    """The command of `cl run … --- WORDS`: the words joined as CodaLab
    collapses them, each quoted for the shell where it needs it, so
    `echo 'hello world!'` and `echo ''` survive as typed."""
    import shlex
    return shlex.join(words)


# --- requests ----------------------------------------------------------------


def parse_request(config, *, image=None, memory=None, time=None, disk=None, cpus=None,
                  gpus=None, network=None, queue=None, priority=None) -> dict:
    """The resource request from `--request-*` texts; the image and the
    network default come from the repository's config (`run.image`,
    `run.network`) so that the run records what it asked for."""
    request: dict = {"image": image or config.get("run", "image"),
                     "network": bool(config.get("run", "network") if network is None else network)}
    if memory is not None:
        request["memory"] = _positive(parse_size(memory), memory, "memory size")
    if disk is not None:
        request["disk"] = _positive(parse_size(disk), disk, "disk size")
    if time is not None:
        request["time"] = _positive(parse_duration(time), time, "time limit")
    for name, value in (("cpus", cpus), ("gpus", gpus)):
        if value is not None:
            if int(value) < 0 or (name == "cpus" and int(value) == 0):
                raise InputError(f"invalid number of {name}: {value}")
            request[name] = int(value)
    if queue:
        request["queue"] = str(queue)
    if priority is not None:
        request["priority"] = int(priority)
    return request


# --- building and recording --------------------------------------------------


def resolve_dependencies(repo: Repository, pairs, worksheet: str | None = None
                         ) -> tuple[Dependency, ...]:
    """(key, target spec) pairs -> Dependency values with ids and paths.
    A path that does not exist in a finished bundle is refused now."""
    deps = []
    for key, spec in pairs:
        target = resolve_target(repo, spec, worksheet)
        contents = repo.contents(target.bundle)
        if contents is not None and target.path:
            lookup(repo.store, contents, target.path)
        deps.append(Dependency(check_key(key), target.bundle, target.path))
    check_keys(deps)
    return tuple(deps)


def build_run_spec(repo: Repository, targets, command: str, *, name: str | None = None,
                   description: str = "", tags=(), request: dict | None = None,
                   allow_failed_dependencies: bool = False, exclude_patterns=(),
                   args: str = "", worksheet: str | None = None) -> RunSpec:
    """A RunSpec from `cl run`'s positional arguments and command."""
    if not command or not command.strip():
        raise UsageError("missing the command to run")
    explicit = [split_dependency(t) for t in targets]
    command, sugar = expand_sugar(command)
    pairs, sugar_keys = assign_keys(explicit, sugar)
    try:
        dependencies = resolve_dependencies(repo, pairs, worksheet)
    except SpecError as exc:
        if any(exc.spec == t for _, t in sugar):
            exc.hint = "it came from %…% in the command; write %% for a literal %"
        raise
    command = _fill(command, sugar_keys)
    if name is None:
        words = command.split()
        name = default_name("run-" + posixpath.basename(words[0])[:32]) if words else "run"
    metadata = {"name": check_name(name), "description": description, "tags": list(tags)}
    options = {"allow_failed_dependencies": bool(allow_failed_dependencies),
               "exclude_patterns": list(exclude_patterns)}
    return RunSpec(command=command, dependencies=dependencies,
                   request=dict(request if request is not None else parse_request(repo.config)),
                   metadata=metadata, options=options, args=args, worksheet=worksheet)


def create_run(repo: Repository, spec: RunSpec) -> ObjectId:
    """Record a run bundle in state `created` and return its id.  Workers
    (cl/runs) pick it up from the index; the caller may wake them."""
    if not spec.command.strip():
        raise UsageError("missing the command to run")
    check_keys(spec.dependencies)
    for dep in spec.dependencies:
        if repo.refs.get(f"bundles/{dep.bundle}") is None:
            raise CLError(f"dependency '{dep.key}' names a bundle that is not here: 0x{dep.bundle}")
    for key in spec.request:
        if key not in REQUEST_KEYS:
            raise InputError(f"unknown request field: '{key}'")
    bundle = Bundle(kind="run", created=now_ns(), creator=repo.user(), nonce=new_nonce(),
                    metadata=dict(spec.metadata), command=spec.command,
                    dependencies=tuple(spec.dependencies), request=dict(spec.request),
                    options=dict(spec.options), args=spec.args)
    return repo.add_bundle(bundle, state="created", worksheet=spec.worksheet)
