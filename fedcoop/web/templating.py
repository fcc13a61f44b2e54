"""jinja2 set-up: templates ship inside the package (docs/decisions/0004-templates.md)."""

from __future__ import annotations

from typing import Any

import aiohttp_jinja2
import jinja2
from aiohttp import web

from fedcoop import __version__
from fedcoop.web import csrf
from fedcoop.web.state import SETTINGS


async def _context(request: web.Request) -> dict[str, Any]:
    return {
        "instance_name": request.app[SETTINGS].instance.name,
        "version": __version__,
        "current_account": request.get("account"),
        "csrf_token": lambda: csrf.token_for(request),
    }


def setup_templates(app: web.Application) -> None:
    aiohttp_jinja2.setup(
        app,
        loader=jinja2.PackageLoader("fedcoop", "templates"),
        autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
        undefined=jinja2.StrictUndefined,
        context_processors=[_context],
    )
