"""HTML pages: home and profiles. Every page works without JavaScript."""

from __future__ import annotations

import sqlite3
from typing import Any

from aiohttp import web

from fedcoop.accounts import coops
from fedcoop.accounts.actors import Actor, get_local_actor
from fedcoop.errors import NotFound
from fedcoop.federation import review_views
from fedcoop.federation.affiliations import shown_memberships
from fedcoop.web import coop_pages
from fedcoop.web.state import DB, FEDERATION, SETTINGS, URIS
from fedcoop.web.templating import render_page

routes = web.RouteTableDef()


def web_link(actor: Actor) -> str | None:
    """A link to an actor that is safe in `href`: http(s) only, since a remote actor's `url`
    is whatever its server sent (`javascript:` included)."""
    for candidate in (actor.url, actor.uri):
        if candidate and candidate.lower().startswith(("https://", "http://")):
            return candidate
    return None


@routes.get("/")
async def home(request: web.Request) -> web.StreamResponse:
    all_coops = await request.app[DB].read(coops.list_coops)
    return render_page(
        "home.html", request, {"coops": all_coops, "settings": request.app[SETTINGS]}
    )


async def render_profile(
    request: web.Request, name: str, *, kind: str | None
) -> web.StreamResponse:
    if "@" in name:  # `/@name@host`: someone on another instance
        return await coop_pages.render_remote_profile(request, name)

    def load(conn: sqlite3.Connection) -> dict[str, Any] | None:
        actor = get_local_actor(conn, name)
        if actor is None or actor.type == "Application" or kind not in (None, actor.type):
            return None
        context: dict[str, Any] = {"actor": actor, "coop": None, "staff": [], "memberships": []}
        if actor.type == "Group":
            context["coop"] = coops.get_coop_by_actor(conn, actor.id)
            context["staff"] = coops.coop_staff(conn, actor.id, ("admin", "moderator"))
        context["review_section"] = review_views.profile_section(conn, actor.id)
        return context

    context = await request.app[DB].read(load)
    if context is None:
        raise NotFound("There is nobody by that name here.")
    actor: Actor = context["actor"]
    if actor.type == "Person":
        # Coops here and elsewhere, each of the latter vouched for by the coop itself.
        context["memberships"] = await shown_memberships(request.app[FEDERATION], actor)
    context["handle"] = f"@{actor.username}@{request.app[URIS].domain}"
    context["web_link"] = web_link
    response = render_page("profile.html", request, context)
    response.headers["Vary"] = "Accept"
    return response
