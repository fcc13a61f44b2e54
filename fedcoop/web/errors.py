"""One middleware renders every error: `{"error": …}` for APIs, AS2 JSON for federation,
an HTML page for browsers. Handlers only raise."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import aiohttp_jinja2
from aiohttp import web

from fedcoop.errors import AppError, ServiceUnavailable, TooManyRequests
from fedcoop.web.responses import is_api_path, plain_json, request_wants_as2

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_REASONS = {
    400: "Bad request",
    401: "Not signed in",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    410: "Gone",
    413: "Too large",
    415: "Unsupported media type",
    422: "Invalid input",
    429: "Too many requests",
    500: "Something went wrong",
    503: "Busy",
}


def error_response(
    request: web.Request,
    status: int,
    message: str,
    headers: dict[str, str] | None = None,
    field: str | None = None,
) -> web.StreamResponse:
    if (
        is_api_path(request.path)
        or request_wants_as2(request)
        or (request.content_type == "application/json" and request.method != "GET")
    ):
        body: dict[str, str] = {"error": message}
        if field:
            body["field"] = field
        return plain_json(body, status=status, headers=headers)
    try:
        response = aiohttp_jinja2.render_template(
            "error.html",
            request,
            {"status": status, "title": _REASONS.get(status, "Error"), "message": message},
            status=status,
        )
    except Exception:  # a broken template must not hide the original error
        log.exception("error page failed to render")
        response = web.Response(text=f"{status} {message}", status=status)
    if headers:
        response.headers.update(headers)
    return response


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except TooManyRequests as exc:
        return error_response(request, 429, exc.safe_message, {"Retry-After": str(exc.retry_after)})
    except ServiceUnavailable as exc:
        return error_response(request, 503, exc.safe_message, {"Retry-After": str(exc.retry_after)})
    except AppError as exc:
        return error_response(request, exc.status, exc.safe_message, field=exc.field)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        message = (
            exc.text
            if exc.text and not exc.text.startswith(str(exc.status))
            else (_REASONS.get(exc.status, exc.reason))
        )
        return error_response(
            request,
            exc.status,
            message or exc.reason,
            {k: v for k, v in exc.headers.items() if k in ("Allow",)},
        )
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(request, 500, "Something went wrong on our side.")
