"""jinja2 set-up: templates ship inside the package (docs/decisions/0004-templates.md)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aiohttp_jinja2
import jinja2
from aiohttp import web

from fedcoop import __version__
from fedcoop.web import csrf
from fedcoop.web.state import SETTINGS


def _base_context(request: web.Request) -> dict[str, Any]:
    return {
        "instance_name": request.app[SETTINGS].instance.name,
        "version": __version__,
        "current_account": request.get("account"),
        "csrf_token": lambda: csrf.token_for(request),
    }


def render_page(
    template: str, request: web.Request, context: Mapping[str, Any], *, status: int = 200
) -> web.Response:
    """Render a page with what every page shows (instance name, who is signed in, CSRF token).

    This context is built here, when a page is rendered, rather than by aiohttp_jinja2's
    context-processor middleware, which would build it for every request, inbox POSTs and
    API calls included.
    """
    return aiohttp_jinja2.render_template(
        template, request, {**_base_context(request), **context}, status=status
    )


def setup_templates(app: web.Application) -> None:
    aiohttp_jinja2.setup(
        app,
        loader=jinja2.PackageLoader("fedcoop", "templates"),
        autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
        undefined=jinja2.StrictUndefined,
    )
