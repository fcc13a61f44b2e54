"""The OpenAPI document and the router agree: every `/api/fedcoop/v1/` route is documented,
every documented operation has a route, and every `$ref` resolves."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from fedcoop.app import make_app
from fedcoop.config import Settings
from fedcoop.web.api_json import PREFIX

METHODS = {"get", "post", "put", "patch", "delete"}


def routed_operations(app: web.Application) -> set[tuple[str, str]]:
    """(method, path relative to the API prefix) of every route the app serves there."""
    found = set()
    for route in app.router.routes():
        path = route.resource.canonical if route.resource else ""
        if path.startswith(PREFIX + "/") and route.method.lower() in METHODS:
            found.add((route.method.lower(), path.removeprefix(PREFIX)))
    return found


def documented_operations(doc: dict[str, Any]) -> set[tuple[str, str]]:
    return {
        (method, path)
        for path, item in doc["paths"].items()
        for method in item
        if method in METHODS
    }


def refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [v for k, v in node.items() if k == "$ref"] + [
            r for v in node.values() for r in refs(v)
        ]
    if isinstance(node, list):
        return [r for v in node for r in refs(v)]
    return []


async def test_the_document_matches_the_routes(aiohttp_client: Any, settings: Settings) -> None:
    # Given the app as it is composed
    app = make_app(settings)
    routed = routed_operations(app)
    assert ("post", "/applications/{id}/accept") in routed  # the walk sees the API at all
    client = await aiohttp_client(app)

    # When the document is fetched, without a token
    resp = await client.get(PREFIX + "/openapi.json")
    assert resp.status == 200 and resp.content_type == "application/json"
    doc = await resp.json()

    # Then it is OpenAPI 3.1 for this instance, and it documents exactly what is routed
    assert doc["openapi"] == "3.1.0"
    assert doc["servers"] == [{"url": f"http://{settings.instance.domain}{PREFIX}"}]
    documented = documented_operations(doc)
    assert sorted(routed - documented) == [], "routes missing from the OpenAPI document"
    assert sorted(documented - routed) == [], "documented operations without a route"


async def test_every_reference_resolves_and_operations_are_named_once(
    aiohttp_client: Any, settings: Settings
) -> None:
    client = await aiohttp_client(make_app(settings))
    doc = await (await client.get(PREFIX + "/openapi.json")).json()
    schemas = doc["components"]["schemas"]
    for ref in refs(doc):
        assert ref.startswith("#/components/schemas/") and ref.rsplit("/", 1)[1] in schemas, ref
    for name in ("Gig", "Application", "Agreement", "Notification", "Skill", "Error"):
        assert schemas[name]["type"] == "object"
    operation_ids = [op["operationId"] for item in doc["paths"].values() for op in item.values()]
    assert len(operation_ids) == len(set(operation_ids))
    # amounts are strings in every response shape
    assert schemas["Gig"]["properties"]["price"]["type"] == "string"
    assert schemas["Agreement"]["properties"]["amount"]["type"] == "string"
