"""The OpenAPI 3.1 description of `/api/fedcoop/v1/`, written by hand as Python dicts.

Hand-written so that it says what the API promises rather than what the code happens to do;
`tests/component/test_openapi.py` walks the router and fails when a route and the document
disagree (an undocumented route, or a documented operation with no route). This module holds
the helpers, the shared schemas (`Error`, `Actor`) and the assembly; each API describes its
own operations in an `openapi_<name>.py` part next to it (`openapi_gigs.py` for the
marketplace), found and merged by `parts()`.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

from fedcoop import __version__
from fedcoop.web.api_json import DEFAULT_LIMIT, MAX_LIMIT, PREFIX

Schema = dict[str, Any]

READ = ["read:gigs"]
WRITE = ["write:gigs"]
SCOPE_TEXT = {
    "read:gigs": "read the board, applications, agreements, coops",
    "write:gigs": "post gigs, apply, accept, record work, take part in coops",
}


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: Schema) -> Schema:
    return {"oneOf": [schema, {"type": "null"}]}


def obj(properties: dict[str, Schema], required: list[str] | None = None) -> Schema:
    schema: Schema = {"type": "object", "properties": properties}
    schema["required"] = list(properties) if required is None else required
    return schema


STR: Schema = {"type": "string"}
NSTR: Schema = {"type": ["string", "null"]}
BOOL: Schema = {"type": "boolean"}
TIME: Schema = {"type": ["string", "null"], "format": "date-time"}
DECIMAL: Schema = {"type": "string", "pattern": r"^\d+(\.\d+)?$", "description": "exact decimal"}
NDECIMAL: Schema = {"type": ["string", "null"], "pattern": r"^\d+(\.\d+)?$"}
DECIMAL_IN: Schema = {"oneOf": [DECIMAL, {"type": "number"}]}

SCHEMAS: dict[str, Schema] = {
    "Error": obj(
        {"error": STR, "field": {"type": "string", "description": "the refused input field"}},
        ["error"],
    ),
    "Actor": obj(
        {
            "id": STR,
            "uri": {"type": "string", "format": "uri"},
            "type": STR,
            "username": STR,
            "host": STR,
            "handle": STR,
            "display_name": STR,
            "local": BOOL,
        }
    ),
}

_ERRORS = {
    "401": "no token, or an invalid one",
    "403": "the token lacks the scope, or the caller may not do this",
    "404": "no such object, or not visible to the caller",
    "409": "the state forbids it (terms frozen, no capacity left, already decided)",
    "422": "refused input; `field` names it",
}


def json_body(schema: Schema) -> Schema:
    return {"content": {"application/json": {"schema": schema}}}


def op(
    op_id: str,
    summary: str,
    scopes: list[str],
    response: Schema | None,
    *,
    status: str = "200",
    body: str | None = None,
    params: list[Schema] | None = None,
    errors: tuple[str, ...] = ("401", "403", "404", "422"),
) -> Schema:
    responses: dict[str, Schema] = {
        status: {"description": "success", **(json_body(response) if response else {})}
    }
    for code in errors:
        responses[code] = {"description": _ERRORS[code], **json_body(ref("Error"))}
    operation: Schema = {
        "operationId": op_id,
        "summary": summary,
        "responses": responses,
        "security": [{"oauth": scopes}] if scopes else [],
    }
    if params:
        operation["parameters"] = params
    if body:
        schema = ref(body)
        operation["requestBody"] = {
            "content": {
                "application/json": {"schema": schema},
                "application/x-www-form-urlencoded": {"schema": schema},
            }
        }
    return operation


def query(name: str, description: str, schema: Schema | None = None) -> Schema:
    return {"name": name, "in": "query", "description": description, "schema": schema or STR}


ID = {"name": "id", "in": "path", "required": True, "schema": STR}
PAGING = [
    query("limit", f"1 to {MAX_LIMIT}, default {DEFAULT_LIMIT}", {"type": "integer"}),
    query("max_id", "only items older than this id (see the Link header)"),
]


def list_of(name: str) -> Schema:
    return {"type": "array", "items": ref(name)}


PATHS: dict[str, Schema] = {
    "/openapi.json": {
        "get": op("openapi", "This document", [], {"type": "object"}, errors=()),
    },
}


def parts() -> list[tuple[dict[str, Schema], dict[str, Schema]]]:
    """(paths, schemas) of this module and of every `fedcoop/web/openapi_*.py` next to it:
    another API under the same prefix describes itself in such a module (exporting `PATHS`
    and `SCHEMAS`, built with the helpers here) and is merged without editing this one."""
    found = [(PATHS, SCHEMAS)]
    package = importlib.import_module("fedcoop.web")
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
        if info.name.startswith("openapi_"):
            module = importlib.import_module(f"fedcoop.web.{info.name}")
            found.append((module.PATHS, module.SCHEMAS))
    return found


def _scopes(paths: dict[str, Schema]) -> list[str]:
    """Every scope some operation asks for, so the security scheme lists them all."""
    found: set[str] = set()
    for item in paths.values():
        for operation in item.values():
            for requirement in operation["security"]:
                found.update(requirement.get("oauth", []))
    return sorted(found)


def document(base_url: str) -> Schema:
    """The OpenAPI document for the instance at `base_url`."""
    paths: dict[str, Schema] = {}
    schemas: dict[str, Schema] = {}
    for part_paths, part_schemas in parts():
        for path, operations in part_paths.items():
            taken = paths.setdefault(path, {})
            if taken.keys() & operations.keys():
                raise ValueError(f"two OpenAPI parts describe the same operation on {path}")
            taken.update(operations)
        for name, schema in part_schemas.items():
            if schemas.setdefault(name, schema) != schema:
                raise ValueError(f"two OpenAPI parts define the schema {name} differently")
    scopes = _scopes(paths)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "fedcoop API",
            "version": __version__,
            "description": (
                "The marketplace (gigs, applications, agreements, notifications, skills), "
                "coops and reviews of a fedcoop instance. Ids and amounts are strings; lists "
                'page with limit and max_id and a Link header (rel="next").'
            ),
        },
        "servers": [{"url": base_url + PREFIX}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "oauth": {
                    "type": "oauth2",
                    "flows": {
                        "authorizationCode": {
                            "authorizationUrl": base_url + "/oauth/authorize",
                            "tokenUrl": base_url + "/oauth/token",
                            "scopes": {s: SCOPE_TEXT.get(s, s) for s in scopes},
                        },
                        "clientCredentials": {
                            "tokenUrl": base_url + "/oauth/token",
                            "scopes": {s: SCOPE_TEXT.get(s, s) for s in scopes},
                        },
                    },
                }
            },
        },
    }
