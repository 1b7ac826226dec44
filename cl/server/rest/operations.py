"""The REST API's operations: method, path, body and the function that
answers, one line of OPERATIONS each.  The OpenAPI document
(cl/server/rest/openapi.py) describes exactly these; a test keeps the two
equal."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any, Callable

from cl.app import served, served_bundles
from cl.errors import CLError, UsageError

KIND_NAMES = {str: "a string", bool: "true or false", int: "an integer", list: "a list", dict: "an object"}
_FILENAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-+ ]{0,254}\Z")
CHUNK = 1 << 16


@dataclass(frozen=True)
class Operation:
    name: str                 # the OpenAPI operationId
    method: str
    path: str                 # starlette's form: /bundles/{bundle}
    fn: Callable[[Any], Any]
    body: str | None = None   # None, "json" or "file"
    status: int = 200


def check_filename(name: str | None) -> str:
    if not name or not _FILENAME.match(name) or name.endswith((".", " ")):
        raise UsageError("'filename' must be a plain file name (letters, digits, _ . - + and spaces; "
                         "not starting with . or -)")
    return name


def upload_path(directory: str, query) -> str:
    return os.path.join(directory, check_filename(query.get("filename")))


def _words(call) -> list[str]:
    return str(call.arg("q", "")).split()


def _flag(call, name: str) -> bool:
    value = call.arg(name, "false").lower()
    if value not in ("true", "false", "1", "0"):
        raise UsageError(f"'{name}' is true or false, not '{value}'")
    return value in ("true", "1")


def _int(call, name: str, low: int = 0) -> int | None:
    value = call.arg(name)
    if value is None:
        return None
    if not re.fullmatch(r"\d{1,6}", value) or int(value) < low:
        raise UsageError(f"'{name}' must be a whole number of at least {low}, not '{value}'")
    return int(value)


def _strings(value, name: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise UsageError(f"'{name}' must be a list of strings")
    return value


# --- who ------------------------------------------------------------------------------

def whoami(call):
    return served.whoami(call.policy)


def users(call):
    return served.act(call.policy, "uls", {})


def user(call):
    return served.act(call.policy, "uinfo", {"user": call.path["user"]})


def groups(call):
    return served.act(call.policy, "gls", {})


def new_group(call):
    return served.act(call.policy, "gnew", {"group": call.field("group")})


def group(call):
    return served.act(call.policy, "ginfo", {"group": call.path["group"]})


def remove_group(call):
    return served.act(call.policy, "grm", {"group": call.path["group"]})


def add_member(call):
    admin = call.field("admin", bool, required=False, default=False) if call.body else False
    return served.act(call.policy, "uadd", {"group": call.path["group"], "user": call.path["user"],
                                            "admin": admin})


def remove_member(call):
    return served.act(call.policy, "urm", {"group": call.path["group"], "user": call.path["user"]})


# --- worksheets ---------------------------------------------------------------------

def worksheets(call):
    return {"worksheets": served.worksheets(call.repo, call.policy, _words(call))}


def new_worksheet(call):
    return served.new_worksheet(call.repo, call.policy, call.field("name"),
                                call.field("title", str, required=False, default=""))


def worksheet(call):
    return served.worksheet(call.repo, call.policy, call.path["worksheet"])


def worksheet_page(call):
    return served.page(call.repo, call.policy, call.path["worksheet"])


def worksheet_markup(call):
    return served.markup(call.repo, call.policy, call.path["worksheet"])


def save_markup(call):
    return served.save_markup(call.repo, call.policy, call.path["worksheet"], call.field("text"),
                              call.field("head"))


def _permissions(kind: str, param: str):
    def get(call):
        return served.permissions(call.repo, call.policy, kind, call.path[param])

    def put(call):
        return served.set_permission(call.repo, call.policy, kind, call.path[param], call.field("group"),
                                     call.field("level"))

    def owner(call):
        return served.set_owner(call.repo, call.policy, kind, call.path[param], call.field("user"))
    return get, put, owner


worksheet_permissions, set_worksheet_permission, set_worksheet_owner = _permissions("worksheet", "worksheet")
bundle_permissions, set_bundle_permission, set_bundle_owner = _permissions("bundle", "bundle")


# --- bundles --------------------------------------------------------------------------

def search_bundles(call):
    return {"bundles": served_bundles.search(call.repo, call.policy, _words(call))}


def search(call):
    """Both searches over the same words; a side whose language does not
    take them finds nothing and says why in `problems` (both refusing is a 400)."""
    words = _words(call)
    out: dict = {"bundles": [], "worksheets": []}
    problems = {}
    for side, find in (("bundles", served_bundles.search), ("worksheets", served.worksheets)):
        try:
            out[side] = find(call.repo, call.policy, words)
        except CLError as exc:
            if served.outcome(exc) != "bad":
                raise
            problems[side] = exc.message
    if len(problems) == 2:
        raise UsageError(f"{problems['bundles']}; {problems['worksheets']}")
    if problems:
        out["problems"] = problems
    return out


def bundle(call):
    return served_bundles.info(call.repo, call.policy, call.path["bundle"], _flag(call, "verbose"))


def edit_bundle(call):
    tags = call.field("tags", list, required=False, default=None)
    return served_bundles.edit(call.repo, call.policy, call.path["bundle"],
                       name=call.field("name", str, required=False, default=None),
                       description=call.field("description", str, required=False, default=None),
                       tags=None if tags is None else _strings(tags, "tags"))


def remove_bundle(call):
    return served_bundles.remove(call.repo, call.policy, call.path["bundle"])


def provenance(call):
    return served_bundles.provenance(call.repo, call.policy, call.path["bundle"], call.arg("direction", "ancestors"),
                             _int(call, "depth", 1))


def contents(call):
    return served_bundles.contents(call.repo, call.policy, call.path["bundle"], call.arg("path", ""))


def file(call):
    from cl.server.rest.files import file_response
    f, size = served_bundles.open_file(call.repo, call.policy, call.path["bundle"], call.arg("path", ""))
    return file_response(f, size, call.arg("path", "") or call.path["bundle"], call.range)


def upload(call):
    bid = served_bundles.upload(call.repo, call.policy, call.upload, call.arg("worksheet", ""),
                        name=call.arg("name"), description=call.arg("description", ""),
                        tags=[t for t in call.arg("tags", "").split(",") if t])
    return {"id": "0x" + bid}


def create_run(call):
    request = call.field("request", dict, required=False, default=None)
    return served_bundles.run(call.repo, call.policy, _strings(call.field("dependencies", list, False, []), "dependencies"),
                      call.field("command"), call.field("worksheet"),
                      name=call.field("name", str, False, None),
                      description=call.field("description", str, False, ""),
                      tags=_strings(call.field("tags", list, False, []), "tags"), request=request)


def kill(call):
    return served_bundles.kill(call.repo, call.policy, call.path["bundle"])


OPERATIONS = (
    Operation("whoami", "GET", "/whoami", whoami),
    Operation("search", "GET", "/search", search),
    Operation("listWorksheets", "GET", "/worksheets", worksheets),
    Operation("createWorksheet", "POST", "/worksheets", new_worksheet, "json", 201),
    Operation("getWorksheet", "GET", "/worksheets/{worksheet}", worksheet),
    Operation("getWorksheetPage", "GET", "/worksheets/{worksheet}/page", worksheet_page),
    Operation("getWorksheetMarkup", "GET", "/worksheets/{worksheet}/markup", worksheet_markup),
    Operation("saveWorksheetMarkup", "PUT", "/worksheets/{worksheet}/markup", save_markup, "json"),
    Operation("getWorksheetPermissions", "GET", "/worksheets/{worksheet}/permissions", worksheet_permissions),
    Operation("setWorksheetPermission", "PUT", "/worksheets/{worksheet}/permissions",
              set_worksheet_permission, "json"),
    Operation("setWorksheetOwner", "PUT", "/worksheets/{worksheet}/owner", set_worksheet_owner, "json"),
    Operation("searchBundles", "GET", "/bundles", search_bundles),
    Operation("uploadBundle", "POST", "/bundles", upload, "file", 201),
    Operation("getBundle", "GET", "/bundles/{bundle}", bundle),
    Operation("editBundle", "PATCH", "/bundles/{bundle}", edit_bundle, "json"),
    Operation("removeBundle", "DELETE", "/bundles/{bundle}", remove_bundle),
    Operation("getProvenance", "GET", "/bundles/{bundle}/provenance", provenance),
    Operation("listContents", "GET", "/bundles/{bundle}/contents", contents),
    Operation("readFile", "GET", "/bundles/{bundle}/file", file),
    Operation("killRun", "POST", "/bundles/{bundle}/kill", kill),
    Operation("getBundlePermissions", "GET", "/bundles/{bundle}/permissions", bundle_permissions),
    Operation("setBundlePermission", "PUT", "/bundles/{bundle}/permissions", set_bundle_permission, "json"),
    Operation("setBundleOwner", "PUT", "/bundles/{bundle}/owner", set_bundle_owner, "json"),
    Operation("createRun", "POST", "/runs", create_run, "json", 201),
    Operation("listUsers", "GET", "/users", users),
    Operation("getUser", "GET", "/users/{user}", user),
    Operation("listGroups", "GET", "/groups", groups),
    Operation("createGroup", "POST", "/groups", new_group, "json", 201),
    Operation("getGroup", "GET", "/groups/{group}", group),
    Operation("removeGroup", "DELETE", "/groups/{group}", remove_group),
    Operation("addMember", "PUT", "/groups/{group}/members/{user}", add_member, "optional-json"),
    Operation("removeMember", "DELETE", "/groups/{group}/members/{user}", remove_member),
)
