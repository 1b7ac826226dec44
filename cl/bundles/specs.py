"""Bundle and worksheet specs on the local repository (DESIGN §6): the
entry points the commands call.  The grammar is `cl.bundles.spec_grammar`
(one parse into a value, one printer); what a spec means is
`cl.bundles.catalog` (one resolver, over the index here and over a remote's
refs in `cl.sync.view`).

    0x3739…            an id or a unique prefix of at least 4 hex digits
    sort-run           a name;  foo%  a SQL LIKE pattern on names
    ^  ^3  foo^  foo^2 the last, third-last, last named foo … on the worksheet
    ^1-5  foo%^1-3     a range (several bundles)
    ws//spec           the same, resolved on worksheet `ws`
    spec/sub/path      a target: a path inside the bundle

Among several matches of a name the worksheet's bundles win, then the
newest.  An id prefix matching several bundles is ambiguous."""

from cl.bundles.catalog import LocalCatalog, resolve, resolve_text
from cl.bundles.catalog import resolve_worksheet as _resolve_worksheet
from cl.bundles.spec_grammar import MIN_PREFIX, parse_spec, shown, split_target  # noqa: F401
from cl.errors import SpecError
from cl.objects.ids import ObjectId
from cl.objects.value import Value, _set
from cl.repo import Repository


class Target(Value):
    """A bundle and a path inside it ('' for the whole bundle)."""

    __slots__ = ("bundle", "path")

    def __init__(self, bundle: ObjectId, path: str = ""):
        _set(self, "bundle", bundle)
        _set(self, "path", path)

    @property
    def display(self) -> str:
        return self.bundle.display + (f"/{self.path}" if self.path else "")


def resolve_worksheet(repo: Repository, spec: str) -> str:
    """A worksheet by name, `%` pattern, or id prefix (0x…); `.` is the current one."""
    return _resolve_worksheet(LocalCatalog(repo), spec)


def resolve_bundles(repo: Repository, spec: str, worksheet: str | None = None) -> list[ObjectId]:
    """Every bundle a spec names (several only for ranges like `^1-5`)."""
    return [ObjectId(b) for b in resolve_text(LocalCatalog(repo), spec, worksheet)]


def resolve_bundle(repo: Repository, spec: str, worksheet: str | None = None) -> ObjectId:
    ids = resolve_bundles(repo, spec, worksheet)
    if len(ids) != 1:
        raise SpecError(shown(spec), "names several bundles where one is needed")
    return ids[0]


def resolve_target(repo: Repository, spec: str, worksheet: str | None = None) -> Target:
    """`bundle/sub/path` -> Target.  A path that would leave the bundle is
    refused (PathEscape)."""
    from cl.objects.trees import split_path  # not at the top: `cl ls` needs no trees
    parsed = parse_spec(spec)
    if parsed.remote is not None:
        raise SpecError(shown(spec), "remote specs are read by the sync commands; "
                        "this command works on the local repository")
    ids = resolve(LocalCatalog(repo), parsed, spec, worksheet)
    if len(ids) != 1:
        raise SpecError(shown(spec), "names several bundles where one is needed")
    return Target(ObjectId(ids[0]), "/".join(split_path(parsed.path or "")))


def expand(repo: Repository, specs, worksheet: str | None = None) -> list[ObjectId]:
    """Resolve several specs (ranges included), keeping order, each once."""
    out: dict[ObjectId, None] = {}
    for spec in specs:
        for bid in resolve_bundles(repo, spec, worksheet):
            out[bid] = None
    return list(out)
