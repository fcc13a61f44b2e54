"""Security headers on every response, added as the response is prepared.

An `on_response_prepare` hook rather than a middleware: it also sees what no handler
returned (static files, whose content type is only known while they are prepared, and
redirects aiohttp turns into responses itself), so no page can leave without them.
"""

from __future__ import annotations

from aiohttp import web

_RELAXED_FORM_ACTION = web.RequestKey("form_action_unrestricted", bool)

_POLICY = (
    "default-src 'self'; img-src 'self' https: data:; style-src 'self'; script-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
# Pages whose forms end in a redirect to an OAuth client's redirect_uri (another origin, an
# app's custom scheme): browsers check `form-action` against every redirect of a submission.
_UNRESTRICTED_FORM_PATHS = ("/oauth/authorize",)


def allow_any_form_target(request: web.Request) -> None:
    """Lift `form-action 'self'` for this page: its form's redirects may leave the site
    (the sign-in page on the way to an OAuth authorization does this)."""
    request[_RELAXED_FORM_ACTION] = True


def content_security_policy(request: web.Request) -> str:
    if request.get(_RELAXED_FORM_ACTION) or request.path.startswith(_UNRESTRICTED_FORM_PATHS):
        return _POLICY
    return _POLICY + "; form-action 'self'"


async def add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    if response.content_type != "text/html":
        return
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Content-Security-Policy", content_security_policy(request))
    if request.get("account") is not None:
        # A signed-in page carries a CSRF token and the member's name: no shared cache may
        # keep it, and the browser should not show it again after sign-out.
        headers.setdefault("Cache-Control", "private, no-store")
