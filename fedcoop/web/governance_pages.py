"""Governance pages: a coop's proposals (open and closed, with results and turnout), one
proposal with its voting form, the public decisions log (with the federation-policy actions
waiting for an admin), and "Your cooperatives": the signed-in person's coops here and
elsewhere, their open votes (a vote on another instance's proposal leaves from here as a Note
reply), and a form to ask a coop elsewhere to admit them.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from fedcoop import ids
from fedcoop.accounts.actors import Actor, get_actor
from fedcoop.errors import Forbidden, NotFound
from fedcoop.federation import coop_services
from fedcoop.federation.affiliations import shown_memberships
from fedcoop.gigs import decisions, governance, membership, policy_actions, tally
from fedcoop.gigs.decisions import Decision
from fedcoop.gigs.governance import Proposal
from fedcoop.gigs.policy_actions import PolicyAction
from fedcoop.web.coop_pages import PREFIX, back, coop_view, render
from fedcoop.web.gig_forms import form_fields
from fedcoop.web.governance_forms import proposal_draft
from fedcoop.web.sessions import require_account
from fedcoop.web.state import DB, FEDERATION, URIS

routes = web.RouteTableDef()


@dataclass(frozen=True)
class ProposalView:
    proposal: Proposal
    coop: Actor
    tally: dict[str, int]
    decision: Decision | None
    author: Actor | None
    subject: Actor | None
    my_vote: str | None
    eligible: bool
    action: PolicyAction | None

    @property
    def turnout(self) -> int:
        cast = sum(self.tally.values())
        return tally.turnout_percent(cast, self.proposal.electorate_size)

    @property
    def votes_cast(self) -> int:
        return sum(self.tally.values())


def load_proposal(
    conn: sqlite3.Connection, proposal_id: str, viewer_actor_id: str | None
) -> ProposalView | None:
    proposal = governance.get_proposal(conn, proposal_id)
    coop = get_actor(conn, proposal.coop_actor_id) if proposal else None
    if proposal is None or coop is None:
        return None
    decision = decisions.get_decision(conn, proposal.id)
    if proposal.local:
        eligible = bool(viewer_actor_id) and governance.is_eligible(
            conn, proposal.id, viewer_actor_id or ""
        )
    else:  # the coop elsewhere decides; a local member may send a vote
        eligible = bool(viewer_actor_id) and membership.is_member(
            conn, coop.id, viewer_actor_id or ""
        )
    return ProposalView(
        proposal=proposal,
        coop=coop,
        tally=governance.current_tally(conn, proposal),
        decision=decision,
        author=get_actor(conn, proposal.author_id) if proposal.author_id else None,
        subject=get_actor(conn, proposal.subject_actor_id) if proposal.subject_actor_id else None,
        my_vote=governance.vote_of(conn, proposal.id, viewer_actor_id) if viewer_actor_id else None,
        eligible=eligible,
        action=policy_actions.for_decision(conn, decision.id) if decision else None,
    )


def proposal_id_of(request: web.Request) -> str:
    found = request.match_info["id"]
    if not ids.is_valid(found):
        raise NotFound("There is no such proposal.")
    return found


# a coop's proposals -----------------------------------------------------------------------------


@routes.get(PREFIX + "/proposals")
async def proposals(request: web.Request) -> web.StreamResponse:
    view = await coop_view(request)
    viewer_id = view.viewer.actor_id if view.viewer else None

    def load(conn: sqlite3.Connection) -> list[ProposalView]:
        found = governance.list_proposals(conn, view.coop.actor.id)
        views = [load_proposal(conn, p.id, viewer_id) for p in found]
        return [v for v in views if v is not None]

    return render(
        request,
        "coops/proposals.html",
        view,
        proposals=await request.app[DB].read(load),
        kinds=governance.KIND_LABELS,
        errors=None,
        form={},
    )


@routes.post(PREFIX + "/proposals")
async def create_proposal(request: web.Request) -> web.StreamResponse:
    account = require_account(request)
    view = await coop_view(request)
    fields = form_fields(await request.post())
    draft = await proposal_draft(request.app[FEDERATION], fields)
    uris = request.app[URIS]
    made = await request.app[DB].write(
        lambda conn: governance.open_proposal(
            conn, uris, view.coop.actor.id, draft, author_id=account.actor_id
        )
    )
    raise web.HTTPSeeOther(f"/coops/{view.coop.name}/proposals/{made.id}")


@routes.get(PREFIX + "/proposals/{id}")
async def proposal_page(request: web.Request) -> web.StreamResponse:
    view = await coop_view(request)
    pid = proposal_id_of(request)
    viewer_id = view.viewer.actor_id if view.viewer else None
    shown = await request.app[DB].read(lambda conn: load_proposal(conn, pid, viewer_id))
    if shown is None or shown.coop.id != view.coop.actor.id:
        raise NotFound("There is no such proposal.")
    return render(
        request,
        "coops/proposal.html",
        view,
        p=shown,
        vote_action=f"/coops/{view.coop.name}/proposals/{pid}/vote",
        done=request.query.get("done"),
    )


async def _vote(request: web.Request, proposal_id: str) -> str:
    account = require_account(request)
    form = await request.post()
    option = str(form.get("option", ""))
    uris = request.app[URIS]
    result = await request.app[DB].write(
        lambda conn: governance.cast_vote(conn, uris, proposal_id, account.actor_id, option)
    )
    return "voted" if result.counted else result.reason.split(":")[0].replace(" ", "-")


@routes.post(PREFIX + "/proposals/{id}/vote")
async def vote(request: web.Request) -> web.StreamResponse:
    view = await coop_view(request)
    pid = proposal_id_of(request)
    note = await _vote(request, pid)
    raise back(f"/coops/{view.coop.name}/proposals/{pid}", note)


# decisions ------------------------------------------------------------------------------------


@routes.get(PREFIX + "/decisions")
async def decisions_page(request: web.Request) -> web.StreamResponse:
    view = await coop_view(request)

    def load(conn: sqlite3.Connection) -> dict[str, Any]:
        coop_id = view.coop.actor.id
        return {
            "log": decisions.decisions_log(conn, coop_id),
            "actions": policy_actions.list_actions(conn, coop_id, state="pending")
            if view.is_admin
            else [],
        }

    return render(
        request,
        "coops/decisions.html",
        view,
        done=request.query.get("done"),
        **await request.app[DB].read(load),
    )


async def _policy_action(request: web.Request, apply: bool) -> web.StreamResponse:
    account = require_account(request)
    view = await coop_view(request)
    action_id = request.match_info["id"]
    if not ids.is_valid(action_id):
        raise NotFound("There is no such action.")
    found = await request.app[DB].read(lambda conn: policy_actions.get_action(conn, action_id))
    if found is None or found.coop_actor_id != view.coop.actor.id:
        raise NotFound("There is no such action.")
    if apply:
        await coop_services.apply_policy_action(
            request.app[FEDERATION], action_id, account.actor_id
        )
    else:
        await request.app[DB].write(
            lambda conn: policy_actions.dismiss(conn, action_id, account.actor_id)
        )
    raise back(f"/coops/{view.coop.name}/decisions", "applied" if apply else "dismissed")


@routes.post(PREFIX + "/policy-actions/{id}/apply")
async def apply_action(request: web.Request) -> web.StreamResponse:
    return await _policy_action(request, True)


@routes.post(PREFIX + "/policy-actions/{id}/dismiss")
async def dismiss_action(request: web.Request) -> web.StreamResponse:
    return await _policy_action(request, False)


# your cooperatives ----------------------------------------------------------------------------


@routes.get("/me/coops")
async def my_coops(request: web.Request) -> web.StreamResponse:
    account = require_account(request)
    ctx = request.app[FEDERATION]
    me = await ctx.db.read(lambda conn: get_actor(conn, account.actor_id))
    if me is None:
        raise NotFound("There is no such account.")
    shown = await shown_memberships(ctx, me)

    def load(conn: sqlite3.Connection) -> dict[str, Any]:
        rows = membership.memberships_of(conn, account.actor_id)
        open_votes = [
            load_proposal(conn, p.id, account.actor_id)
            for p in governance.proposals_for_member(conn, account.actor_id)
        ]
        return {
            "pending": [(m, c) for m, c in rows if m.state == "pending"],
            "others": [(m, c) for m, c in rows if m.state == "active" and not c.local],
            "open_votes": [v for v in open_votes if v is not None],
        }

    return render(
        request,
        "coops/mine.html",
        None,
        memberships=shown,
        join_ref=request.query.get("join", ""),
        done=request.query.get("done"),
        **await ctx.db.read(load),
    )


@routes.post("/me/coops/join")
async def join_elsewhere(request: web.Request) -> web.StreamResponse:
    account = require_account(request)
    form = await request.post()
    await coop_services.join_elsewhere(
        request.app[FEDERATION], account.actor_id, str(form.get("coop", ""))
    )
    raise back("/me/coops", "asked")


@routes.post("/me/memberships/{id}/leave")
async def leave_elsewhere(request: web.Request) -> web.StreamResponse:
    account = require_account(request)
    mid = request.match_info["id"]
    if not ids.is_valid(mid):
        raise NotFound("There is no such membership.")

    def apply(conn: sqlite3.Connection) -> None:
        found = membership.get_membership(conn, mid)
        if found is None or found.actor_id != account.actor_id:
            raise NotFound("There is no such membership.")
        coop = get_actor(conn, found.coop_actor_id)
        if coop is not None and coop.local:
            membership.member_leaves(conn, coop.id, account.actor_id)
        else:
            membership.send_leave(conn, account.actor_id, found.coop_actor_id)

    await request.app[DB].write(apply)
    raise back("/me/coops", "left")


@routes.post("/me/proposals/{id}/vote")
async def vote_anywhere(request: web.Request) -> web.StreamResponse:
    """A vote on any proposal the signed-in member sees (a remote coop's one leaves as a Note)."""
    pid = proposal_id_of(request)
    note = await _vote(request, pid)
    raise back("/me/coops", note)


@routes.get("/authorize_interaction")
async def authorize_interaction(request: web.Request) -> web.StreamResponse:
    """Where other servers send our people to act on something of theirs (OStatus subscribe
    template): a coop is offered for joining on "Your cooperatives"."""
    require_account(request)
    uri = request.query.get("uri", "").strip()
    if not uri:
        raise NotFound("Nothing to act on.")
    actor = await coop_services.resolve_actor(request.app[FEDERATION], uri)
    if actor is None or actor.type != "Group":
        raise Forbidden("Only joining a cooperative can be done from here.")
    raise web.HTTPSeeOther("/me/coops?" + urlencode({"join": actor.uri}))
