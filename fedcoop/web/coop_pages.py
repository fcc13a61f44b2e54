"""A coop's pages: about (rules, rates, open gigs), members, joining and leaving, and the
admins' answers to requests. Every page works without JavaScript; every form posts with a CSRF
token. Proposals and decisions are in `governance_pages.py`.

Joining: a person signed in here joins with a button. A visitor from another instance gives
their handle; the Join must leave from their own server, so they are sent to the remote-
interaction page their server advertises in WebFinger, or told how to ask from home (any
fedcoop: "Your cooperatives" → join by handle).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from aiohttp import web

from fedcoop import ids
from fedcoop.accounts.accounts import Account
from fedcoop.accounts.coops import Coop, get_coop
from fedcoop.errors import NotFound
from fedcoop.federation import coop_services
from fedcoop.federation.affiliations import shown_memberships
from fedcoop.gigs import admission, board, membership
from fedcoop.gigs.governance import coop_rates
from fedcoop.gigs.membership import Membership
from fedcoop.web.sessions import current_account, require_account
from fedcoop.web.state import DB, FEDERATION, URIS
from fedcoop.web.templating import render_page

routes = web.RouteTableDef()
PREFIX = "/coops/{name}"


@dataclass(frozen=True)
class CoopView:
    coop: Coop
    viewer: Account | None
    viewer_membership: Membership | None

    @property
    def viewer_role(self) -> str | None:
        found = self.viewer_membership
        return found.role if found is not None and found.state == "active" else None

    @property
    def is_member(self) -> bool:
        return self.viewer_role not in (None, "outcast")

    @property
    def is_admin(self) -> bool:
        return self.viewer_role == "admin"


def load_coop(conn: sqlite3.Connection, name: str, viewer: Account | None) -> CoopView:
    """The local coop called `name` and how the signed-in viewer stands with it."""
    coop = get_coop(conn, name)
    if coop is None:
        raise NotFound("There is no such cooperative here.")
    found = membership.find_membership(conn, coop.actor.id, viewer.actor_id) if viewer else None
    return CoopView(coop, viewer, found)


async def coop_view(request: web.Request) -> CoopView:
    viewer = current_account(request)
    name = request.match_info["name"]
    return await request.app[DB].read(lambda conn: load_coop(conn, name, viewer))


def render(
    request: web.Request, template: str, view: CoopView | None, **context: Any
) -> web.StreamResponse:
    base: dict[str, Any] = {"view": view, "domain": request.app[URIS].domain}
    if view is not None:
        base["coop"] = view.coop
    return render_page(template, request, {**base, **context})


def percent(share: Decimal) -> str:
    value = (share * 100).normalize()
    return f"{value:f}%"


def back(path: str, note: str | None = None) -> web.HTTPSeeOther:
    return web.HTTPSeeOther(path + (f"?done={note}" if note else ""))


def membership_id(request: web.Request) -> str:
    found = request.match_info["id"]
    if not ids.is_valid(found):
        raise NotFound("There is no such request.")
    return found


# about ----------------------------------------------------------------------------------------


@routes.get(PREFIX + "/about")
async def about(request: web.Request) -> web.StreamResponse:
    view = await coop_view(request)

    def load(conn: sqlite3.Connection) -> dict[str, Any]:
        fee, solidarity = coop_rates(conn, view.coop.actor.id)
        gigs = board.search(
            conn,
            board.BoardQuery(
                coop_id=view.coop.actor.id,
                viewer_id=view.viewer.actor_id if view.viewer else None,
                limit=20,
            ),
        )
        return {
            "fee": percent(fee),
            "solidarity": percent(solidarity),
            "gigs": gigs,
            "member_count": membership.count_active_members(conn, view.coop.actor.id),
        }

    return render(request, "coops/about.html", view, **await request.app[DB].read(load))


# members ------------------------------------------------------------------------------------


@routes.get(PREFIX + "/members")
async def members(request: web.Request) -> web.StreamResponse:
    view = await coop_view(request)

    def load(conn: sqlite3.Connection) -> dict[str, Any]:
        coop_id = view.coop.actor.id
        return {
            "members": membership.member_rows(conn, coop_id),
            "requests": membership.pending_requests(conn, coop_id) if view.is_admin else [],
        }

    return render(
        request,
        "coops/members.html",
        view,
        roles=membership.ROLES,
        done=request.query.get("done"),
        **await request.app[DB].read(load),
    )


async def _admin_action(request: web.Request, action: str) -> web.StreamResponse:
    account = require_account(request)
    view = await coop_view(request)
    target = membership_id(request)
    coop_id = view.coop.actor.id
    form = await request.post()

    def apply(conn: sqlite3.Connection) -> None:
        found = membership.get_membership(conn, target)
        if found is None or found.coop_actor_id != coop_id:
            raise NotFound("There is no such request.")
        if action == "admit":
            membership.admit(conn, found.id, by_actor_id=account.actor_id)
        elif action == "refuse":
            membership.refuse(conn, found.id, by_actor_id=account.actor_id)
        elif action == "remove":
            membership.remove(conn, coop_id, found.actor_id, by_actor_id=account.actor_id)
        else:
            role = str(form.get("role", ""))
            membership.set_role(conn, coop_id, found.actor_id, role, by_actor_id=account.actor_id)

    await request.app[DB].write(apply)
    raise back(f"/coops/{view.coop.name}/members", action)


@routes.post(PREFIX + "/memberships/{id}/admit")
async def admit_request(request: web.Request) -> web.StreamResponse:
    return await _admin_action(request, "admit")


@routes.post(PREFIX + "/memberships/{id}/refuse")
async def refuse_request(request: web.Request) -> web.StreamResponse:
    return await _admin_action(request, "refuse")


@routes.post(PREFIX + "/memberships/{id}/remove")
async def remove_member(request: web.Request) -> web.StreamResponse:
    return await _admin_action(request, "remove")


@routes.post(PREFIX + "/memberships/{id}/role")
async def change_role(request: web.Request) -> web.StreamResponse:
    return await _admin_action(request, "role")


# joining and leaving ------------------------------------------------------------------------


@routes.get(PREFIX + "/join")
async def join_page(request: web.Request) -> web.StreamResponse:
    view = await coop_view(request)
    return render(request, "coops/join.html", view, outcome=request.query.get("done"))


@routes.post(PREFIX + "/join")
async def join(request: web.Request) -> web.StreamResponse:
    view = await coop_view(request)
    form = await request.post()
    handle = str(form.get("handle", "")).strip()
    if view.viewer is not None and not handle:
        viewer = view.viewer
        uris = request.app[URIS]
        outcome = await request.app[DB].write(
            lambda conn: admission.ask_to_join(conn, uris, view.coop.actor.id, viewer.actor_id)
        )
        raise back(f"/coops/{view.coop.name}/join", outcome.decided.replace(" ", "-"))
    # A visitor from elsewhere: the Join must leave from their own server.
    url = await coop_services.interaction_url(request.app[FEDERATION], handle, view.coop.actor.uri)
    if url is not None:
        raise web.HTTPSeeOther(url)
    return render(request, "coops/join.html", view, outcome=None, from_elsewhere=handle)


@routes.post(PREFIX + "/leave")
async def leave(request: web.Request) -> web.StreamResponse:
    account = require_account(request)
    view = await coop_view(request)
    await request.app[DB].write(
        lambda conn: membership.member_leaves(conn, view.coop.actor.id, account.actor_id)
    )
    raise back(f"/coops/{view.coop.name}/join", "left")


# profiles of people elsewhere -------------------------------------------------------------------


async def render_remote_profile(request: web.Request, handle_text: str) -> web.StreamResponse:
    """`/@name@host`: a person on another instance, with the coops they belong to (each
    checked with the coop itself)."""
    handle = coop_services.parse_handle(handle_text)
    ctx = request.app[FEDERATION]
    actor = await coop_services.resolve_actor(ctx, handle_text) if handle else None
    if actor is None or actor.type == "Application":
        raise NotFound("There is nobody by that name.")
    shown = await shown_memberships(ctx, actor)
    response = render(
        request,
        "coops/remote_profile.html",
        None,
        actor=actor,
        handle=f"@{actor.username}@{actor.host}",
        memberships=shown,
    )
    response.headers["Vary"] = "Accept"
    return response
