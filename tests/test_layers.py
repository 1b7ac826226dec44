"""The layers are enforced by this test, not by goodwill (STYLE.md, habit 8).

Every module under cl/ is parsed with `ast`; every import in it -- at the top,
inside functions, under `if TYPE_CHECKING:`, relative ones, and
`importlib.import_module("...")` with a literal name -- is checked:

* an import of another `cl` package must point down the layers:

      errors 0 < objects 1 < refs 2 < index 3 < config, repo 4 < bundles 5
      < worksheets 6, runs 6, auth 6 < sync 7 < app 8 < cli, server, api 9

  A package may import itself.  worksheets, runs and auth share a level and
  may not import each other.  auth (users, groups, the permission policy)
  sits there because it needs refs (its own database, access.db) and
  objects (the readable closure) and nothing of bundles or worksheets,
  while app (the workflows) and, through it, the server must reach it.  `remote` may import only errors, objects, refs and
  itself, and only sync and server may import it.  cl/__init__.py and
  cl/__main__.py are exempt.  A module in no layer fails: give it one here.

* the front ends -- cli, server, api and web -- reach the domain only
  through the application layer (cl/app): each may import app, itself and
  errors, nothing else of cl, except that the server speaks the wire
  protocol of `remote` and mounts the web pages, and the CLI starts the
  server (`cl server`).  errors is allowed
  because it is the one error boundary: the CLI's main and the server's
  handler turn CLError into text, commands raise UsageError for bad
  options, and the Python API hands the hierarchy to its users.

* each third-party library stays in its corner (CORNERS below).

* no import cycle inside a package, among the imports a module makes when
  it is loaded (at its top level, `if TYPE_CHECKING:` included).  An import
  inside a function is deferred on purpose (start-up time, plug-ins chosen
  by name) and is not counted.

* no SQL statement (SELECT … FROM, INSERT INTO, UPDATE … SET, DELETE FROM)
  in a string literal outside cl/index and cl/refs, the layers that own the
  database.

* nothing below the CLI prints: no print(), no sys.stdout / sys.stderr
  outside cl/cli (progress and warnings go through callbacks)."""

import ast
import os
import re

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

LEVELS = {
    "errors": 0, "objects": 1, "refs": 2, "index": 3, "repo": 4, "bundles": 5,
    "worksheets": 6, "runs": 6, "auth": 6, "sync": 7, "app": 8, "cli": 9, "server": 9, "api": 9, "web": 9,
}
REMOTE_MAY_IMPORT = {"errors", "objects", "refs", "remote"}
REMOTE_IMPORTERS = {"sync", "server"}
FRONT_ENDS = {"cli", "server", "api", "web"}
# what a front end may import besides itself
FRONT_MAY_IMPORT = {"cli": {"app", "errors", "server"}, "server": {"app", "errors", "remote", "web"},
                    "api": {"app", "errors"}, "web": {"app", "errors"}}
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
    "starlette": ("cl/server/", "cl/web/"),
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
    if a in FRONT_ENDS:
        if b in FRONT_MAY_IMPORT[a]:
            return None
        return (f"the front end {a} may import only {', '.join(sorted(FRONT_MAY_IMPORT[a]))}: "
                f"reach {b} through cl/app")
    if a == "remote":
        return None if b in REMOTE_MAY_IMPORT else f"remote may import only {sorted(REMOTE_MAY_IMPORT)}"
    if b == "remote":
        return None if a in REMOTE_IMPORTERS else "only sync and server may import remote"
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


# --- cycles inside a package -------------------------------------------------------


def load_time_imports(relpath: str, source: str) -> set[str]:
    """The cl modules a module imports when it is loaded: its top-level
    imports, those under top-level `if`/`try` blocks included."""
    found = set()
    stack = list(ast.parse(source, relpath).body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found |= {t for _, t in imports(relpath, ast.unparse(node)) if t.startswith("cl.")}
        elif isinstance(node, (ast.If, ast.Try)):
            stack += node.body + node.orelse + getattr(node, "finalbody", []) + \
                [n for h in getattr(node, "handlers", []) for n in h.body]
    return found


def package_of(module: str) -> str:
    return ".".join(module.split(".")[:2])


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Each import cycle among modules of one package, as the list of its
    modules (found by depth-first search; one report per cycle)."""
    found: list[list[str]] = []
    seen: set[frozenset[str]] = set()
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> None:
        for nxt in sorted(graph.get(node, ())):
            if package_of(nxt) != package_of(node) or nxt not in graph:
                continue
            if nxt in path:
                cycle = path[path.index(nxt):]
                if frozenset(cycle) not in seen:
                    seen.add(frozenset(cycle))
                    found.append(cycle + [nxt])
            elif nxt not in done:
                visit(nxt, path + [nxt])
        done.add(node)

    for start in sorted(graph):
        if start not in done:
            visit(start, [start])
    return found


# --- SQL outside the database layers ---------------------------------------------------

SQL = re.compile(r"\b(SELECT\b[\s\S]*\bFROM|INSERT\s+(OR\s+\w+\s+)?INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM)\b")
SQL_HOMES = ("cl/index/", "cl/refs/")


def sql_literals(relpath: str, source: str) -> list[tuple[int, str]]:
    """(line, text) of each string literal (f-string parts included) that
    holds an SQL statement."""
    out = []
    for node in ast.walk(ast.parse(source, relpath)):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and SQL.search(node.value):
            out.append((node.lineno, node.value))
    return out


def sql_problems(relpath: str, source: str) -> list[str]:
    if relpath.startswith(SQL_HOMES):
        return []
    return [f"{relpath}:{line}: SQL outside cl/index and cl/refs: {text[:60]!r}"
            for line, text in sql_literals(relpath, source)]


# --- printing below the CLI ------------------------------------------------------------


def print_calls(relpath: str, source: str) -> list[tuple[int, str]]:
    """(line, what) of each print() call and each use of sys.stdout or sys.stderr."""
    out = []
    for node in ast.walk(ast.parse(source, relpath)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "print":
            out.append((node.lineno, "print()"))
        elif (isinstance(node, ast.Attribute) and node.attr in ("stdout", "stderr")
              and isinstance(node.value, ast.Name) and node.value.id == "sys"):
            out.append((node.lineno, f"sys.{node.attr}"))
    return out


def print_problems(relpath: str, source: str) -> list[str]:
    if relpath.startswith("cl/cli/"):
        return []
    return [f"{relpath}:{line}: {what} below the CLI: pass a callback instead"
            for line, what in print_calls(relpath, source)]


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


def _source(relpath: str) -> str:
    with open(os.path.join(ROOT, relpath), encoding="utf-8") as f:
        return f.read()


def test_no_import_cycle_inside_a_package():
    graph = {module_name(m): load_time_imports(m, _source(m)) for m in MODULES}
    found = cycles(graph)
    assert not found, "\n".join(" -> ".join(c) for c in found)


@pytest.mark.parametrize("relpath", MODULES)
def test_no_sql_outside_the_database_layers(relpath):
    problems = sql_problems(relpath, _source(relpath))
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("relpath", MODULES)
def test_nothing_below_the_cli_prints(relpath):
    problems = print_problems(relpath, _source(relpath))
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("source", [
    "print('x')", "def f():\n    print('x', file=None)\n", "import sys\nsys.stdout.write('x')",
    "import sys\nout = sys.stderr", "import sys\nsys.stdout.buffer.write(b'x')"])
def test_print_checker_flags(source):
    assert print_problems("cl/app/bundles.py", source)
    assert print_problems("cl/cli/bundle_cmds.py", source) == []


def test_print_checker_allows_writing_to_given_streams():
    assert print_problems("cl/app/bundles.py", "def f(out):\n    out.write(b'x')\n    out.flush()\n") == []


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
    ("cl/remote/graph.py", "from cl.app import bundles", "remote may import only"),
    ("cl/bundles/upload.py", "from cl.remote import ssh", "only sync and server"),
    ("cl/repo.py", "from cl.remote.frames import pack", "only sync and server"),
    ("cl/app/sharing.py", "from cl.remote.client import Client", "only sync and server"),
    ("cl/cli/remote_cmds.py", "from cl.remote import ssh", "front end cli"),
    ("cl/sync/ops.py", "from cl.app import bundles", "above"),
    ("cl/bundles/upload.py", "from cl.app.records import Status", "above"),
    ("cl/app/bundles.py", "from cl.cli import output", "above"),
    ("cl/app/bundles.py", "from cl.api import Repository", "above"),
    ("cl/cli/bundle_cmds.py", "from cl.bundles.specs import expand", "front end cli"),
    ("cl/cli/bundle_cmds.py", "def f():\n    from cl.repo import Repository\n", "front end cli"),
    ("cl/cli/main.py", "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
     "    from cl.objects.ids import ObjectId\n", "front end cli"),
    ("cl/cli/run_cmds.py", "import importlib\nimportlib.import_module('cl.runs.queue')", "front end cli"),
    ("cl/cli/worksheet_cmds.py", "from cl.api import Worksheet", "front end cli"),
    ("cl/server/app.py", "from cl.repo import Repository", "front end server"),
    ("cl/server/app.py", "from cl.sync.remotes import local_server", "front end server"),
    ("cl/server/app.py", "from cl.cli import output", "front end server"),
    ("cl/api/repository.py", "from cl.worksheets.ops import create", "front end api"),
    ("cl/web/app.py", "from cl.worksheets import html", "front end web"),
    ("cl/web/app.py", "from cl.auth.policy import Policy", "front end web"),
    ("cl/web/pages.py", "from cl.server.app import make_app", "front end web"),
    ("cl/web/app.py", "from cl.remote import frames", "front end web"),
    ("cl/bundles/info.py", "import starlette", "starlette"),
    ("cl/api/repository.py", "from cl.remote.urls import parse_url", "front end api"),
    ("cl/api/repository.py", "from cl.cli.output import size", "front end api"),
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
    ("cl/cli/bundle_cmds.py", "from cl.app import bundles\nfrom cl.errors import UsageError\n"
     "from cl.cli import output\nimport click"),
    ("cl/cli/remote_cmds.py", "def f():\n    from cl.server import run\n"),
    ("cl/sync/push.py", "from cl.remote.graph import walk\nfrom cl.bundles import specs"),
    ("cl/server/app.py", "from cl.remote import frames\nimport starlette\nimport uvicorn\n"
     "from cl.app.sharing import local_server"),
    ("cl/api/repository.py", "from cl.app import bundles, runs\nfrom cl.errors import CLError"),
    ("cl/web/app.py", "from cl.app import web\nfrom cl.errors import CLError\nfrom starlette.routing import Route"),
    ("cl/server/app.py", "from cl.web.app import install"),
    ("cl/app/bundles.py", "from cl.bundles.specs import expand\nfrom cl.sync.remote_read import records\n"
     "from cl.runs import queue\nfrom cl.worksheets import ops\nfrom cl.repo import Repository"),
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


def test_cycle_checker_finds_cycles():
    graph = {"cl.a.x": {"cl.a.y"}, "cl.a.y": {"cl.a.z"}, "cl.a.z": {"cl.a.x", "cl.b.q"},
             "cl.b.q": {"cl.a.x"}, "cl.b.r": set()}
    assert cycles(graph) == [["cl.a.x", "cl.a.y", "cl.a.z", "cl.a.x"]]  # x->y->z->x; a->b->a crosses packages
    assert cycles({"cl.a.x": {"cl.a.x"}}) == [["cl.a.x", "cl.a.x"]]
    assert cycles({"cl.a.x": {"cl.a.y"}, "cl.a.y": set()}) == []


def test_cycle_checker_counts_load_time_imports_only():
    source = ("from . import specs\nfrom typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
              "    from cl.bundles import info\ntry:\n    import cl.bundles.make\nexcept ImportError:\n"
              "    pass\ndef f():\n    from cl.bundles import upload\n")
    assert load_time_imports("cl/bundles/x.py", source) == \
        {"cl.bundles.specs", "cl.bundles.info", "cl.bundles.make"}


@pytest.mark.parametrize("text", [
    "SELECT id FROM bundles WHERE name = ?", "INSERT INTO refs VALUES (?, ?)",
    "INSERT OR REPLACE INTO refs (name) VALUES (?)", "UPDATE bundles SET state = ?",
    "DELETE FROM ws_items WHERE wid = ?", "id IN (SELECT child\nFROM deps)"])
def test_sql_checker_flags(text):
    found = sql_problems("cl/bundles/x.py", f"Q = {text!r}\n")
    assert found and "SQL outside" in found[0], found


def test_sql_checker_flags_fstrings_and_allows_the_homes():
    source = 'def f(t):\n    return f"SELECT x FROM {t} WHERE a = ?"\n'
    assert sql_problems("cl/app/bundles.py", source)
    assert sql_problems("cl/index/index.py", source) == []
    assert sql_problems("cl/refs/db.py", source) == []


@pytest.mark.parametrize("text", [
    "select a bundle from the worksheet", "Please update the settings", "name LIKE ?",
    "delete the old run", "SELECT", "UPDATE: see the notes"])
def test_sql_checker_allows_prose(text):
    assert sql_problems("cl/bundles/x.py", f"Q = {text!r}\n") == []


def test_unknown_module_is_in_no_layer():
    assert group("cl.util") is None and group("cl.objects.store") == "objects"
    assert group("cl.config") == group("cl.repo") == "repo"


def test_relative_imports_resolve():
    assert imports("cl/objects/store.py", "from . import encoding") == [(1, "cl.objects.encoding")]
    assert imports("cl/objects/__init__.py", "from .ids import ObjectId") == [(1, "cl.objects.ids")]
    assert imports("cl/bundles/specs.py", "from ..objects.ids import ObjectId") == \
        [(1, "cl.objects.ids")]
