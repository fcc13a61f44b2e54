"""followers, following and outbox of local actors as paged OrderedCollections."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from fedcoop.federation.collections import actor_collection
from fedcoop.web.responses import activity_json
from fedcoop.web.state import DB


def handler(part: str, kind: str) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def serve(request: web.Request) -> web.StreamResponse:
        page = request.query.get("page") in ("true", "1")
        doc = await actor_collection(
            request.app[DB],
            kind,
            request.match_info["name"],
            part,
            page=page,
            max_id=request.query.get("max_id"),
        )
        return activity_json(doc)

    serve.__name__ = f"{kind.lower()}_{part}"
    return serve
