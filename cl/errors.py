"""The one exception hierarchy.  Only the CLI's main and the server's handler
turn these into text for people; lower layers raise them with structured
fields and never print."""


class CLError(Exception):
    """A user-facing error: its message says what is wrong and, where it
    helps, what to do.  `exit_code` is what the CLI exits with."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class NotARepository(CLError):
    pass


class UsageError(CLError):
    exit_code = 2


class ObjectMissing(CLError):
    def __init__(self, object_id: str, what: str = "object"):
        super().__init__(f"{what} 0x{object_id} is missing from the store")
        self.object_id = object_id


class CorruptObject(CLError):
    def __init__(self, object_id: str, problem: str):
        super().__init__(f"object 0x{object_id} is corrupt: {problem}")
        self.object_id = object_id
        self.problem = problem


class SpecError(CLError):
    """An unknown, ambiguous or malformed bundle or worksheet spec."""

    def __init__(self, spec: str, problem: str, candidates: list[str] | None = None,
                 hint: str | None = None):
        text = f"{problem}: '{spec}'"
        if candidates:
            text += " (candidates: " + ", ".join(candidates) + ")"
        super().__init__(text, hint)
        self.spec = spec
        self.candidates = candidates or []


class PathEscape(CLError):
    def __init__(self, path: str):
        super().__init__(f"path escapes the bundle: '{path}'")
        self.path = path


class InputError(CLError):
    """Bad input from the user's filesystem or arguments: a missing file, an
    archive with unsafe members, a malformed size."""


class Conflict(CLError):
    """A compare-and-swap lost its race or a ref moved under us."""

    exit_code = 3


class DependencyError(CLError):
    """An operation refused because other bundles depend on the target."""


class IndexDamaged(CLError):
    """`repo.db` cannot be read as this cl's refs and index: truncated,
    overwritten, another schema, tables missing, or gone.  Everything in it
    but a few refs is derived from the objects, so `cl reindex` rebuilds it."""

    def __init__(self, path: str, problem: str):
        super().__init__(
            f"the repository index '{path}' is damaged ({problem})",
            hint="run 'cl reindex' to rebuild it from the objects (it keeps the damaged file aside;"
                 " the current worksheet, remote positions and server tokens may be lost)")
        self.path = path
        self.problem = problem


def did_you_mean(word: str, choices) -> str | None:
    """A hint naming the choices closest to a mistyped `word` ("did you mean
    'upload'?"), or None when none is close.  Only called on an error path:
    difflib is imported here, not at start-up."""
    import difflib
    close = difflib.get_close_matches(word, sorted(set(choices) - {word}), n=3, cutoff=0.6)
    if not close:
        return None
    return "did you mean " + " or ".join(f"'{c}'" for c in close) + "?"
