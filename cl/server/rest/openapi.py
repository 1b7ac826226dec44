"""The OpenAPI 3.1 document of the REST API, written by hand (served at
/openapi.json).  tests/server/test_rest_openapi.py checks that it names
exactly the operations of cl/server/rest/operations.py, and schemathesis
checks every answer of a real server against it."""

from __future__ import annotations

from typing import Any

PREFIX = "/rest"


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _obj(required: list[str], **props) -> dict:
    return {"type": "object", "required": required, "properties": props}


STR = {"type": "string"}
NSTR = {"type": ["string", "null"]}
INT = {"type": "integer"}
BOOL = {"type": "boolean"}
ANY_OBJ = {"type": "object"}
LEVEL = {"type": "string", "enum": ["none", "read", "all"]}

SCHEMAS: dict[str, Any] = {
    "Error": _obj(["error"], error=STR),
    "Who": _obj(["user", "root", "groups"], user=NSTR, root=BOOL, groups={"type": "array", "items": STR}),
    "Permissions": {"type": "object", "description": "owner, group levels and the asker's own level "
                    "(empty when the asker may not read it)",
                    "properties": {"owner": STR, "perms": {"type": "object", "additionalProperties": LEVEL},
                                   "mine": LEVEL}},
    "WorksheetRow": _obj(["id", "name", "title", "tags", "bundles", "items", "permissions"],
                         id=STR, name=STR, title=STR, tags={"type": "array", "items": STR}, bundles=INT,
                         items=INT, updated=STR, author=STR, permissions=_ref("Permissions")),
    "Worksheet": _obj(["id", "name", "title", "head", "items", "permissions"],
                      id=STR, name=STR, title=STR, head=STR, tags={"type": "array", "items": STR},
                      frozen=BOOL, author=STR,
                      items={"type": "array", "items": _obj(["kind", "value"], kind=STR, value=STR)},
                      permissions=_ref("Permissions")),
    "Page": _obj(["worksheet", "name", "title", "blocks"], worksheet=STR, name=STR, title=STR, commit=NSTR,
                 version={"type": ["integer", "null"]}, author=STR, time=NSTR,
                 blocks={"type": "array", "items": _obj(["type"], type=STR)}),
    "Markup": _obj(["id", "name", "head", "text"], id=STR, name=STR, head=STR, text=STR),
    "MarkupEdit": _obj(["text", "head"], text=STR, head=STR),
    "Saved": _obj(["id", "head", "changed"], id=STR, head=STR, changed=BOOL),
    "BundleRow": _obj(["id", "name", "kind", "state"], id=STR, name=STR, kind=STR, state=STR,
                      data_size={"type": ["integer", "null"]}, created=NSTR, command=NSTR),
    "Bundle": {"type": "object", "required": ["id", "permissions"],
               "description": "the record of `cl info --json` and the bundle's permissions",
               "properties": {"id": STR, "permissions": _ref("Permissions")}},
    "Graph": {"type": "object", "description": "the graph of `cl ancestors --json`, without private bundles",
              "properties": {"nodes": {"type": "array", "items": ANY_OBJ},
                             "edges": {"type": "array", "items": ANY_OBJ}, "private": INT}},
    "Contents": _obj(["bundle", "path", "type"], bundle=STR, path=STR, type={"enum": ["directory", "file"]},
                     size={"type": ["integer", "null"]},
                     entries={"type": "array", "items": _obj(["name", "type", "size"], name=STR, type=STR,
                                                             size={"type": ["integer", "null"]})}),
    "Created": _obj(["id"], id=STR, reused=BOOL),
    "RunRequest": _obj(["command", "worksheet"], command=STR, worksheet=STR,
                       dependencies={"type": "array", "items": STR,
                                     "description": "KEY:0xID[/PATH], each readable by the caller"},
                       name=STR, description=STR, tags={"type": "array", "items": STR},
                       request={"type": "object", "description": "resources, as `cl run --request-*`"}),
    "WorksheetNew": _obj(["name"], name=STR, title=STR),
    "BundleEdit": {"type": "object", "properties": {"name": STR, "description": STR,
                                                    "tags": {"type": "array", "items": STR}}},
    "Killed": _obj(["id", "state"], id=STR, state=STR),
    "PermissionChange": _obj(["group", "level"], group=STR, level=LEVEL),
    "OwnerChange": _obj(["user"], user=STR),
    "GroupNew": _obj(["group"], group=STR),
    "Membership": {"type": "object", "properties": {"admin": BOOL}},
}


def _params(path: str, extra: list) -> list:
    out = [{"name": name, "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}}
           for name in ("worksheet", "bundle", "user", "group") if "{" + name + "}" in path]
    return out + extra


def _q(name: str, description: str, schema: dict | None = None, required: bool = False) -> dict:
    return {"name": name, "in": "query", "required": required, "description": description,
            "schema": schema or STR}


ERRORS = {"400": "the request is wrong", "401": "a wrong token, or signing in is needed",
          "403": "the caller may read this but not change it", "404": "no such thing, or not readable",
          "409": "the worksheet changed since it was read, or the bundle has dependents", "413": "the JSON body is larger than 16 MiB", "416": "the range lies past the end of the file",
          "503": "the repository is busy; try again"}

# operationId -> (summary, query parameters, request body schema or kind, answer schema, errors)
DOCS: dict[str, tuple] = {
    "whoami": ("who the request acts as", [], None, "Who", ""),
    "search": ("bundles and worksheets the search words find", [_q("q", "search words")], None,
               _obj(["bundles", "worksheets"], bundles={"type": "array", "items": _ref("BundleRow")},
                    worksheets={"type": "array", "items": _ref("WorksheetRow")},
                    problems={"type": "object", "additionalProperties": STR,
                              "description": "why a side found nothing: its language does not take the words"}),
               "400"),
    "listWorksheets": ("readable worksheets (the `cl wls` search language)", [_q("q", "search words")], None,
                       _obj(["worksheets"], worksheets={"type": "array", "items": _ref("WorksheetRow")}), "400"),
    "createWorksheet": ("make an empty worksheet (the caller owns it)", [], "WorksheetNew", "Created",
                        "400 401"),
    "getWorksheet": ("a worksheet's head, items and permissions", [], None, "Worksheet", "404"),
    "getWorksheetPage": ("a worksheet interpreted as display blocks (`cl print --json`)", [], None, "Page",
                         "400 404"),
    "getWorksheetMarkup": ("the markup `cl wedit` edits and its head", [], None, "Markup", "404"),
    "saveWorksheetMarkup": ("save markup unless the worksheet moved past `head`", [], "MarkupEdit", "Saved",
                            "400 401 403 404 409"),
    "getWorksheetPermissions": ("owner and group permissions", [], None, "Permissions", "404"),
    "setWorksheetPermission": ("give a group none, read or all", [], "PermissionChange", ANY_OBJ,
                               "400 401 403 404"),
    "setWorksheetOwner": ("give the worksheet to a user", [], "OwnerChange", ANY_OBJ, "400 401 403 404"),
    "searchBundles": ("readable bundles CodaLab's search language finds", [_q("q", "search words")], None,
                      _obj(["bundles"], bundles={"type": "array", "items": _ref("BundleRow")}), "400"),
    "uploadBundle": ("upload the body as a bundle (an archive is unpacked)",
                     [_q("filename", "the file's name (an archive's decides how it is unpacked)", required=True),
                      _q("worksheet", "the worksheet to put it on (needs all)", required=True),
                      _q("name", "the bundle's name"), _q("description", "its description"),
                      _q("tags", "comma-separated tags")], "file", "Created", "400 401 403 404"),
    "getBundle": ("a bundle's info record and permissions",
                  [_q("verbose", "add the verbose fields", {"enum": ["true", "false", "1", "0"]})], None,
                  "Bundle", "400 404"),
    "editBundle": ("change a bundle's name, description or tags (`cl edit`)", [], "BundleEdit", "Bundle",
                   "400 401 403 404"),
    "removeBundle": ("remove a bundle nothing depends on (`cl rm`)", [], None,
                     _obj(["id", "deleted"], id=STR, deleted=BOOL), "400 401 403 404 409"),
    "getProvenance": ("a bundle's ancestors or descendants",
                      [_q("direction", "ancestors (default) or descendants",
                          {"enum": ["ancestors", "descendants"]}),
                       _q("depth", "how many levels", {"type": "string", "pattern": "^[0-9]{1,6}$"})], None,
                      "Graph", "400 404"),
    "listContents": ("what is at a path of a bundle", [_q("path", "a path inside the bundle")], None,
                     "Contents", "400 404"),
    "readFile": ("a file's bytes; `Range: bytes=A-B` reads part of it", [_q("path", "a path inside the bundle")],
                 None, "file", "400 404 416"),
    "killRun": ("kill a run", [], None, "Killed", "400 401 403 404"),
    "getBundlePermissions": ("owner and group permissions", [], None, "Permissions", "404"),
    "setBundlePermission": ("give a group none, read or all", [], "PermissionChange", ANY_OBJ,
                            "400 401 403 404"),
    "setBundleOwner": ("give the bundle to a user", [], "OwnerChange", ANY_OBJ, "400 401 403 404"),
    "createRun": ("create a run, queued for the server's workers", [], "RunRequest", "Created",
                  "400 401 403 404"),
    "listUsers": ("the server's users", [], None, ANY_OBJ, "401"),
    "getUser": ("a user and their groups", [], None, ANY_OBJ, "400 401"),
    "listGroups": ("the groups the caller is in", [], None, ANY_OBJ, "401"),
    "createGroup": ("make a group (the caller administers it)", [], "GroupNew", ANY_OBJ, "400 401"),
    "getGroup": ("a group's members", [], None, ANY_OBJ, "400 401 403"),
    "removeGroup": ("remove a group", [], None, ANY_OBJ, "400 401 403"),
    "addMember": ("add a user to a group (`admin`: as an admin)", [], "Membership?", ANY_OBJ, "400 401 403"),
    "removeMember": ("remove a user from a group", [], None, ANY_OBJ, "400 401 403"),
}


def _schema(value) -> dict:
    return _ref(value) if isinstance(value, str) else value


def _operation(op) -> dict:
    summary, query, body, answer, errors = DOCS[op.name]
    out: dict[str, Any] = {"operationId": op.name, "summary": summary, "parameters": _params(op.path, query)}
    if body == "file":
        out["requestBody"] = {"required": True, "content": {"application/octet-stream": {
            "schema": {"type": "string", "format": "binary"}}}}
    elif body:
        out["requestBody"] = {"required": not body.endswith("?"), "content": {"application/json": {
            "schema": _ref(body.rstrip("?"))}}}
    if answer == "file":
        ok = {"description": "the file (206: the range asked for)",
              "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}
        responses = {"200": ok, "206": ok}
    else:
        responses = {str(op.status): {"description": "done",
                                      "content": {"application/json": {"schema": _schema(answer)}}}}
    codes = set(errors.split()) | {"401", "503"}  # any request may bear a wrong token, or wait
    if "{" in op.path or query or body:
        codes.add("400")  # a value that is not one
    if body and body != "file":
        codes.add("413")  # a JSON body past 16 MiB
    for code in sorted(codes):
        responses[code] = {"description": ERRORS[code],
                           "content": {"application/json": {"schema": _ref("Error")}}}
    out["responses"] = responses
    return out


def document(version: str) -> dict:
    """The OpenAPI 3.1 document of this server's REST API."""
    from cl.server.rest.operations import OPERATIONS
    paths: dict[str, dict] = {}
    for op in OPERATIONS:
        paths.setdefault(PREFIX + op.path, {})[op.method.lower()] = _operation(op)
    return {
        "openapi": "3.1.0",
        "info": {"title": "cl server REST API", "version": version,
                 "description": "Worksheets, bundles, runs, users, groups and permissions of a served cl "
                                "repository (docs/rest.md).  Send `Authorization: Bearer TOKEN`; without "
                                "it, only what the public group may read is shown."},
        "servers": [{"url": "/"}],
        "components": {"schemas": SCHEMAS,
                       "securitySchemes": {"token": {"type": "http", "scheme": "bearer"}}},
        "security": [{"token": []}, {}],
        "paths": paths,
    }
