"""Response helpers shared by the HTTP adapters."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from fedcoop.activitypub.vocab import AP_MEDIA_TYPE, wants_as2


def activity_json(doc: Any, *, status: int = 200) -> web.Response:
    return web.Response(
        body=json.dumps(doc, ensure_ascii=False).encode(),
        status=status,
        content_type=AP_MEDIA_TYPE,
        charset="utf-8",
        headers={"Vary": "Accept"},
    )


def plain_json(
    doc: Any,
    *,
    status: int = 200,
    content_type: str = "application/json",
    headers: dict[str, str] | None = None,
) -> web.Response:
    return web.Response(
        body=json.dumps(doc, ensure_ascii=False).encode(),
        status=status,
        content_type=content_type,
        charset="utf-8",
        headers=headers,
    )


def request_wants_as2(request: web.Request) -> bool:
    return wants_as2(request.headers.get("Accept"))


def is_api_path(path: str) -> bool:
    return path.startswith(
        ("/api/", "/oauth/token", "/oauth/revoke", "/nodeinfo/", "/.well-known/")
    )
