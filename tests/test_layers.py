"""The layers are enforced by this test, not by goodwill (STYLE.md, habit 8).

Every module under cl/ is parsed with `ast`; every import in it -- at the top,
inside functions, under `if TYPE_CHECKING:`, relative ones, and
`importlib.import_module("...")` with a literal name -- is checked:

* an import of another `cl` package must point down the layers:

      errors 0 < objects 1 < refs 2 < index 3 < config, repo 4 < bundles 5
      < worksheets 6, runs 6 < sync 7 < server 8 < cli 9

  A package may import itself.  worksheets and runs share a level and may
  not import each other.  `remote` may import only errors, objects, refs and
  itself, and only sync, server and cli may import it.  cl/__init__.py and
  cl/__main__.py are exempt.  A module in no layer fails: give it one here.

* each third-party library stays in its corner (CORNERS below)."""

import ast
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

LEVELS = {
    "errors": 0, "objects": 1, "refs": 2, "index": 3, "repo": 4, "bundles": 5,
    "worksheets": 6, "runs": 6, "sync": 7, "server": 8, "cli": 9,
}
REMOTE_MAY_IMPORT = {"errors", "objects", "refs", "remote"}
REMOTE_IMPORTED_BY_LEVEL = LEVELS["sync"]  # sync, server, cli
EXEMPT = {"cl", "cl.__main__"}

# library -> the files (or directories, ending in "/") that may import it
CORNERS = {
    "msgpack": ("cl/objects/encoding.py", "cl/remote/frames.py"),
    "sqlite3": ("cl/refs/", "cl/index/"),
    "click": ("cl/cli/",),
    "rich": ("cl/cli/output.py",),
    "docker": ("cl/runs/docker_executor.py",),
    "paramiko": ("cl/remote/ssh.py",),
    "httpx": ("cl/remote/http.py",),
    "dulwich": ("cl/bundles/gitsource.py",),
    "uvicorn": ("cl/server/",),
    "starlette": ("cl/server/",),
    "fastapi": ("cl/server/",),
    "markdown_it": ("cl/worksheets/markdown.py",),
    "yaml": ("cl/worksheets/structured.py",),
}


def group(module: str) -> str | None:
    """The layer group of a `cl` module, or None if it has none."""
    parts = module.split(".")
    if parts[0] != "cl" or len(parts) < 2:
        return None
    if parts[1] in ("config", "repo"):
        return "repo"
    if parts[1] == "remote" or parts[1] in LEVELS:
        return parts[1]
    return None


def module_name(relpath: str) -> str:
    parts = relpath[:-3].split("/")
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(relpath: str, source: str) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in a module's source."""
    name = module_name(relpath)
    package = name if relpath.endswith("__init__.py") else name.rpartition(".")[0]
    out = []
    for node in ast.walk(ast.parse(source, relpath)):
        if isinstance(node, ast.Import):
            out += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module
            # `from cl import objects` imports cl.objects: count each name
            # that is a submodule, and the module itself otherwise
            subs = [f"{target}.{a.name}" for a in node.names
                    if target.startswith("cl") and _is_module(f"{target}.{a.name}")]
            out += [(node.lineno, t) for t in subs or [target]]
        elif isinstance(node, ast.Call) and _is_dynamic_import(node):
            out.append((node.lineno, node.args[0].value))
    return out


def _is_dynamic_import(node: ast.Call) -> bool:
    f = node.func
    named = (isinstance(f, ast.Attribute) and f.attr == "import_module"
             or isinstance(f, ast.Name) and f.id in ("import_module", "__import__"))
    return (named and node.args and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str))


def _is_module(module: str) -> bool:
    path = os.path.join(ROOT, *module.split("."))
    return os.path.isfile(path + ".py") or os.path.isfile(os.path.join(path, "__init__.py"))


def layer_problem(src: str, dst: str) -> str | None:
    """Why module `src` may not import `cl` module `dst`, or None."""
    if src in EXEMPT or dst == "cl":
        return None
    a, b = group(src), group(dst)
    if a is None:
        return f"{src} is in no layer (add it to LEVELS in tests/test_layers.py)"
    if b is None:
        return f"{dst} is in no layer (add it to LEVELS in tests/test_layers.py)"
    if a == b:
        return None
    if a == "remote":
        return None if b in REMOTE_MAY_IMPORT else f"remote may import only {sorted(REMOTE_MAY_IMPORT)}"
    if b == "remote":
        return None if LEVELS[a] >= REMOTE_IMPORTED_BY_LEVEL else "only sync, server and cli may import remote"
    if LEVELS[b] < LEVELS[a]:
        return None
    if LEVELS[b] == LEVELS[a]:
        return f"{a} and {b} are side by side and may not import each other"
    return f"{b} (layer {LEVELS[b]}) is above {a} (layer {LEVELS[a]})"


def corner_problem(relpath: str, library: str) -> str | None:
    allowed = CORNERS.get(library)
    if allowed is None or any(relpath == p or p.endswith("/") and relpath.startswith(p)
                              for p in allowed):
        return None
    return f"{library} may be imported only in {', '.join(allowed)}"


def violations(relpath: str, source: str) -> list[str]:
    src = module_name(relpath)
    out = []
    for line, dst in imports(relpath, source):
        if dst == "cl" or dst.startswith("cl."):
            problem = layer_problem(src, dst)
        else:
            problem = corner_problem(relpath, dst.split(".")[0])
        if problem:
            out.append(f"{relpath}:{line}: imports {dst}: {problem}")
    return out


def _modules() -> list[str]:
    found = []
    for dirpath, dirnames, filenames in os.walk(os.path.join(ROOT, "cl")):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        found += [os.path.relpath(os.path.join(dirpath, f), ROOT).replace(os.sep, "/")
                  for f in sorted(filenames) if f.endswith(".py")]
    return found


MODULES = _modules()


@pytest.mark.parametrize("relpath", MODULES)
def test_module_respects_layers(relpath):
    with open(os.path.join(ROOT, relpath), encoding="utf-8") as f:
        problems = violations(relpath, f.read())
    assert not problems, "\n".join(problems)


def test_every_module_is_in_a_layer():
    assert MODULES, "no modules found under cl/"
    lost = [m for m in MODULES if module_name(m) not in EXEMPT and group(module_name(m)) is None]
    assert not lost, f"modules in no layer: {lost}"


# --- the checker itself can fail ------------------------------------------------

FLAGGED = [
    ("cl/objects/store.py", "from cl.repo import Repository", "above"),
    ("cl/objects/store.py", "from ..index import index", "above"),
    ("cl/objects/store.py", "from ..index.index import Index", "above"),
    ("cl/refs/store.py", "def f():\n    from cl.cli import main\n", "above"),
    ("cl/index/index.py", "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
     "    from cl.repo import Repository\n", "above"),
    ("cl/index/index.py", "import importlib\nimportlib.import_module('cl.bundles.specs')", "above"),
    ("cl/errors.py", "import cl.objects", "above"),
    ("cl/config.py", "from cl import bundles", "above"),
    ("cl/runs/worker.py", "from cl.worksheets import items", "side by side"),
    ("cl/worksheets/x.py", "import cl.runs.queue", "side by side"),
    ("cl/remote/graph.py", "from cl.repo import Repository", "remote may import only"),
    ("cl/remote/graph.py", "from cl.index.index import Index", "remote may import only"),
    ("cl/bundles/upload.py", "from cl.remote import ssh", "only sync, server and cli"),
    ("cl/repo.py", "from cl.remote.frames import pack", "only sync, server and cli"),
    ("cl/objects/store.py", "from cl.util import x", "in no layer"),
    ("cl/remote/graph.py", "import msgpack", "msgpack may be imported only"),
    ("cl/repo.py", "import sqlite3", "sqlite3"),
    ("cl/bundles/upload.py", "from click import echo", "click"),
    ("cl/cli/main.py", "import rich.table", "rich"),
    ("cl/runs/worker.py", "import importlib\nimportlib.import_module('docker')", "docker"),
    ("cl/remote/http.py", "import paramiko", "paramiko"),
    ("cl/remote/ssh.py", "import httpx", "httpx"),
    ("cl/bundles/upload.py", "from dulwich.repo import Repo", "dulwich"),
    ("cl/cli/server_cmds.py", "import uvicorn", "uvicorn"),
    ("cl/cli/server_cmds.py", "from starlette.applications import Starlette", "starlette"),
]


@pytest.mark.parametrize("relpath,source,problem", FLAGGED)
def test_checker_flags(relpath, source, problem):
    found = violations(relpath, source)
    assert found and problem in found[0], found


ALLOWED = [
    ("cl/cli/bundle_cmds.py", "from cl.repo import Repository\nimport cl.sync.push\n"
     "from cl.remote import ssh\nimport click"),
    ("cl/sync/push.py", "from cl.remote.graph import walk\nfrom cl.bundles import specs"),
    ("cl/server/app.py", "from cl.remote import frames\nimport starlette\nimport uvicorn"),
    ("cl/worksheets/items.py", "from cl.bundles.specs import resolve\nfrom . import markup"),
    ("cl/runs/worker.py", "from cl.bundles import runspec\nfrom cl.runs import docker_executor"),
    ("cl/objects/store.py", "from . import encoding\nfrom .ids import ObjectId\nfrom cl.errors import CLError"),
    ("cl/objects/__init__.py", "from . import ids\nfrom .store import DiskStore"),
    ("cl/remote/graph.py", "from cl.refs.store import RefStore\nfrom .frames import pack"),
    ("cl/repo.py", "from cl.config import Config\ndef f():\n    from cl.objects.types import Result"),
    ("cl/config.py", "import tomllib\nfrom cl import errors"),
    ("cl/index/index.py", "import sqlite3\nimport json"),
    ("cl/runs/docker_executor.py", "import docker"),
    ("cl/__main__.py", "from cl.cli.main import run"),
    ("cl/__init__.py", "from cl.cli.main import main"),
]


@pytest.mark.parametrize("relpath,source", ALLOWED)
def test_checker_allows(relpath, source):
    assert violations(relpath, source) == []


def test_unknown_module_is_in_no_layer():
    assert group("cl.util") is None and group("cl.objects.store") == "objects"
    assert group("cl.config") == group("cl.repo") == "repo"


def test_relative_imports_resolve():
    assert imports("cl/objects/store.py", "from . import encoding") == [(1, "cl.objects.encoding")]
    assert imports("cl/objects/__init__.py", "from .ids import ObjectId") == [(1, "cl.objects.ids")]
    assert imports("cl/bundles/specs.py", "from ..objects.ids import ObjectId") == \
        [(1, "cl.objects.ids")]
