"""One middleware renders every error: `{"error": …}` for APIs, AS2 JSON for federation,
an HTML page for browsers. Handlers only raise."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from fedcoop.errors import AppError, ServiceUnavailable, TooManyRequests
from fedcoop.web.responses import is_api_path, plain_json, request_wants_as2
from fedcoop.web.templating import render_page

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
        response = render_page(
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
    headers: dict[str, str] = {}
    field: str | None = None
    try:
        return await handler(request)
    except (TooManyRequests, ServiceUnavailable) as exc:
        status, message = exc.status, exc.safe_message
        headers["Retry-After"] = str(exc.retry_after)
    except AppError as exc:
        status, message, field = exc.status, exc.safe_message, exc.field
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        status = exc.status
        message = (
            exc.text
            if exc.text and not exc.text.startswith(str(exc.status))
            else (_REASONS.get(exc.status, exc.reason))
        ) or exc.reason
        headers.update({k: v for k, v in exc.headers.items() if k in ("Allow",)})
    except Exception:
        # The traceback goes to the log only: exception text can hold paths, SQL or data.
        log.exception("unhandled error on %s %s", request.method, request.path)
        status, message = 500, "Something went wrong on our side."
    return error_response(request, status, message, headers or None, field=field)
