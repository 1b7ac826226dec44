"""Schemas and genpaths, as syntax: what a `% add KEY GENPATH POST` line
means, and the built-in schemas.  Evaluating a genpath on a bundle is
cl/worksheets/genpaths.py's job.

A genpath is either a metadata field (`name`, `state`, `time`,
`dependencies/KEY`, any custom metadata key …) or, starting with `/`, a
path inside the bundle, optionally followed by `:KEY/SUBKEY` to read one
value out of a JSON, YAML or TSV file (`/stats.json:train/errorRate`)."""

from dataclasses import dataclass

from cl.errors import InputError
from cl.bundles import postproc


@dataclass(frozen=True)
class Genpath:
    text: str
    field: str | None = None     # a metadata field, or
    path: str | None = None      # a path inside the bundle ("" for the bundle itself)
    key: str | None = None       # a key path inside that file

    @property
    def is_file(self) -> bool:
        return self.path is not None


def parse_genpath(text: str) -> Genpath:
    if not text or text.strip() != text:
        raise InputError(f"bad genpath: '{text}'")
    if text.startswith("/"):
        path, colon, key = text.partition(":")
        path = path.strip("/")
        if colon and not key.strip("/"):
            raise InputError(f"genpath has an empty key after ':': '{text}'")
        return Genpath(text, path=path, key=key.strip("/") if colon else None)
    return Genpath(text, field=text)


@dataclass(frozen=True)
class Field:
    """One column of a table or row of a record."""

    key: str
    genpath: Genpath
    post: tuple = ()
    post_text: str = ""


def make_field(key: str, genpath: str | None = None, post: str = "") -> Field:
    """The meaning of `% add KEY [GENPATH [POST]]` (InputError if bad)."""
    return Field(key, parse_genpath(genpath if genpath else key), postproc.parse(post), post or "")


def _f(key, genpath=None, post=""):
    return make_field(key, genpath, post)


_UUID = _f("uuid", "uuid", "[0:8]")
_NAME = _f("name")
_SUMMARY = _f("summary")
_SIZE = _f("data_size", "data_size", "size")
_TIME = _f("time", "time", "duration")
_STATE = _f("state")
_DESCRIPTION = _f("description")
_CREATED = _f("created", "created", "date")

BUILTIN: dict[str, tuple[Field, ...]] = {
    "program": (_UUID, _NAME, _SUMMARY, _SIZE, _STATE, _DESCRIPTION, _CREATED),
    "dataset": (_UUID, _NAME, _SUMMARY, _SIZE, _STATE, _DESCRIPTION, _CREATED),
    "make": (_UUID, _NAME, _SUMMARY, _SIZE, _STATE, _DESCRIPTION, _CREATED),
    "run": (_UUID, _NAME, _SUMMARY, _SIZE, _TIME, _STATE, _DESCRIPTION, _CREATED),
}
BUILTIN["default"] = BUILTIN["run"]


class SchemaSet:
    """Schemas by name: the built-in ones plus those a worksheet defines
    with `% schema NAME`, `% addschema NAME` and `% add …` lines."""

    def __init__(self):
        self._schemas: dict[str, list[Field]] = {k: list(v) for k, v in BUILTIN.items()}
        self.current: str | None = None

    def __contains__(self, name: str) -> bool:
        return name in self._schemas

    def start(self, name: str) -> None:
        self._schemas[name] = []
        self.current = name

    def extend(self, name: str) -> None:
        if self.current is None:
            raise InputError("'addschema' outside a schema (start one with '% schema NAME')")
        if name not in self._schemas:
            raise InputError(f"unknown schema '{name}'")
        self._schemas[self.current].extend(self._schemas[name])

    def add(self, field: Field) -> None:
        if self.current is None:
            raise InputError("'add' outside a schema (start one with '% schema NAME')")
        self._schemas[self.current].append(field)

    def apply(self, directive: str, args) -> None:
        """`% schema`, `% addschema` or `% add` (other directives: nothing)."""
        if directive == "schema":
            self.start(args[0])
        elif directive == "addschema":
            self.extend(args[0])
        elif directive == "add":
            self.add(make_field(*args))

    def fields(self, names) -> tuple[Field, ...]:
        out: list[Field] = []
        for name in names or ("default",):
            if name not in self._schemas:
                raise InputError(f"unknown schema '{name}'")
            out.extend(self._schemas[name])
        return tuple(out)
