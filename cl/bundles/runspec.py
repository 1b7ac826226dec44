"""Run specs: what `cl run` arguments mean, and recording a run bundle.

    cl run KEY:TARGET :TARGET TARGET… COMMAND      (or  … --- COMMAND WORDS)

* `key:target` mounts the target at `key`; `:target` takes the key from the
  target's subpath (`run/output` -> `output`) or its spec text (`a.txt`);
  a bare `target` gets `b1`, `b2`, …
* inside the command, `%target%`, `%key:target%` and `%:target%` become
  dependencies and are replaced by their keys (`%target%` gets `1`, `2`, …
  as in the CodaLab README); `%%` is a literal `%`.
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
    """The key `:target` gets: the last part of its subpath, or the spec
    text of the bundle (without a worksheet qualifier)."""
    text = spec.split("//", 1)[1] if "//" in spec else spec
    head, _, path = text.partition("/")
    path = path.strip("/")
    key = posixpath.basename(path) if path else head
    if not key or key in (".", ".."):
        raise InputError(f"cannot take a key from '{spec}': write KEY:{spec}")
    return key


def split_dependency(arg: str) -> tuple[str | None, str]:
    """`key:target` -> (key, target); `:target` -> (derived key, target);
    `target` -> (None, target): the caller numbers it."""
    if ":" in arg:
        key, target = arg.split(":", 1)
        if not target:
            raise InputError(f"missing target after the key: '{arg}'")
        return (key or key_from_target(target)), target
    return None, arg


# --- sugar -------------------------------------------------------------------

_SUGAR_TOKEN = re.compile(r"[^%\s]+")


def expand_sugar(command: str) -> tuple[str, list[tuple[str | None, str]]]:
    """Replace `%…%` references by keys.  Returns the new command and the
    (key or None, target) pairs in order of first appearance; a None key is
    numbered later by `assign_keys`, and the command holds a placeholder
    for it (see `_fill`)."""
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
            if ":" in inner:
                pairs.append(split_dependency(inner))
            else:
                pairs.append((None, inner))
        out.append(f"\0{found[inner]}\0")
        i = end + 1
    return "".join(out), pairs


def _fill(command: str, keys: list[str]) -> str:
    return re.sub(r"\0(\d+)\0", lambda m: keys[int(m[1])], command)


def assign_keys(explicit: list[tuple[str | None, str]], sugar: list[tuple[str | None, str]]
                ) -> tuple[list[tuple[str, str]], list[str]]:
    """Name every dependency.  Bare targets get b1, b2, …; `%target%`
    references get 1, 2, …; numbers already taken as keys are skipped.
    Returns the (key, target) list and the keys of the sugar references."""
    taken = {k for k, _ in explicit + sugar if k is not None}

    def numbered(prefix: str):
        n = 0
        while True:
            n += 1
            if f"{prefix}{n}" not in taken:
                taken.add(f"{prefix}{n}")
                yield f"{prefix}{n}"

    bare, anon = numbered("b"), numbered("")
    named = [(k if k is not None else next(bare), t) for k, t in explicit]
    sugar_keys = [k if k is not None else next(anon) for k, _ in sugar]
    out = list(named)
    for key, (_, target) in zip(sugar_keys, sugar):
        if (key, target) not in out:
            out.append((key, target))
    return out, sugar_keys


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
