"""Native JSON API of cooperatives: `/api/fedcoop/v1/coops…`, `/proposals…`, `/memberships`.

Described in `openapi_coops.py` (change both together). Tokens need `read:gigs` to read and
`write:gigs` to act (the coop domain is part of the marketplace's); acting as someone needs a
user token. The same domain services as the pages: joining follows the coop's admission mode,
one member one vote (the first counts), only admins answer requests and apply federation
decisions.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from aiohttp import web

from fedcoop import ids
from fedcoop.accounts.actors import Actor, get_actor
from fedcoop.accounts.coops import Coop, get_coop, list_coops
from fedcoop.errors import Forbidden, NotFound
from fedcoop.federation import coop_services
from fedcoop.federation.affiliations import shown_memberships
from fedcoop.gigs import admission, decisions, governance, membership, policy_actions, tally
from fedcoop.gigs.decisions import Decision
from fedcoop.gigs.membership import Membership
from fedcoop.gigs.policy_actions import PolicyAction
from fedcoop.web.api_json import PREFIX, actor_json, reader, viewer, writer
from fedcoop.web.gig_forms import read_fields
from fedcoop.web.governance_forms import proposal_draft
from fedcoop.web.governance_pages import ProposalView, load_proposal
from fedcoop.web.responses import plain_json
from fedcoop.web.state import DB, FEDERATION, URIS

routes = web.RouteTableDef()
COOP = PREFIX + "/coops/{name}"


# shapes ---------------------------------------------------------------------------------------


def coop_json(conn: sqlite3.Connection, coop: Coop, domain: str) -> dict[str, Any]:
    fee, solidarity = governance.coop_rates(conn, coop.actor.id)
    return {
        "id": coop.actor.id,
        "uri": coop.actor.uri,
        "name": coop.name,
        "handle": f"{coop.name}@{domain}",
        "title": coop.title,
        "about": coop.about,
        "rules": coop.rules,
        "admission": coop.admission,
        "fee_rate": str(fee),
        "solidarity_rate": str(solidarity),
        "members_count": membership.count_active_members(conn, coop.actor.id),
    }


def membership_json(
    found: Membership, coop: Actor, *, verified: bool | None = None
) -> dict[str, Any]:
    return {
        "id": found.id,
        "coop": actor_json(coop),
        "role": found.role,
        "state": found.state,
        "verified": found.active if verified is None else verified,
        "since": found.updated_at,
    }


def decision_json(decision: Decision) -> dict[str, Any]:
    return {
        "outcome": decision.outcome,
        "winning_option": decision.winning_option,
        "tally": decision.tally,
        "votes_cast": decision.votes_cast,
        "electorate": decision.electorate,
        "turnout": tally.turnout_percent(decision.votes_cast, decision.electorate),
        "quorum_met": decision.quorum_met,
        "threshold_met": decision.threshold_met,
        "effect": decision.effect,
        "decided_at": decision.decided_at,
    }


def proposal_json(view: ProposalView) -> dict[str, Any]:
    p = view.proposal
    return {
        "id": p.id,
        "uri": p.uri,
        "coop": actor_json(view.coop),
        "local": p.local,
        "kind": p.kind,
        "title": p.title,
        "body": p.body,
        "options": p.options,
        "parameters": p.params,
        "subject": actor_json(view.subject) if view.subject else None,
        "tally": view.tally,
        "votes_cast": view.votes_cast,
        "electorate": p.electorate_size,
        "turnout": view.turnout,
        "quorum": str(p.quorum),
        "threshold": p.threshold,
        "opens_at": p.opens_at,
        "ends_at": p.ends_at,
        "state": p.state,
        "closed_at": p.closed_at,
        "my_vote": view.my_vote,
        "can_vote": p.is_open and view.eligible and view.my_vote is None,
        "decision": decision_json(view.decision) if view.decision else None,
    }


def action_json(action: PolicyAction) -> dict[str, Any]:
    return {
        "id": action.id,
        "domain": action.domain,
        "policy": action.policy,
        "state": action.state,
        "decision_id": action.decision_id,
        "created_at": action.created_at,
    }


# helpers --------------------------------------------------------------------------------------


def _coop(conn: sqlite3.Connection, name: str) -> Coop:
    coop = get_coop(conn, name)
    if coop is None:
        raise NotFound("no such coop")
    return coop


def _id(request: web.Request) -> str:
    found = request.match_info["id"]
    if not ids.is_valid(found):
        raise NotFound("no such item")
    return found


def _require_admin(conn: sqlite3.Connection, coop: Coop, actor_id: str) -> None:
    if not membership.is_admin(conn, coop.actor.id, actor_id):
        raise Forbidden("only an admin of the coop can do this")


# coops ----------------------------------------------------------------------------------------


@routes.get(PREFIX + "/coops")
async def coops_index(request: web.Request) -> web.StreamResponse:
    await viewer(request)
    domain = request.app[URIS].domain
    found = await request.app[DB].read(
        lambda conn: [coop_json(conn, c, domain) for c in list_coops(conn)]
    )
    return plain_json(found)


@routes.get(COOP)
async def coop_show(request: web.Request) -> web.StreamResponse:
    await viewer(request)
    name, domain = request.match_info["name"], request.app[URIS].domain
    return plain_json(
        await request.app[DB].read(lambda conn: coop_json(conn, _coop(conn, name), domain))
    )


@routes.get(COOP + "/members")
async def coop_members(request: web.Request) -> web.StreamResponse:
    await viewer(request)
    name = request.match_info["name"]

    def load(conn: sqlite3.Connection) -> list[dict[str, Any]]:
        coop = _coop(conn, name)
        return [
            {"membership_id": m.id, "actor": actor_json(a), "role": m.role, "since": m.updated_at}
            for m, a in membership.member_rows(conn, coop.actor.id)
        ]

    return plain_json(await request.app[DB].read(load))


@routes.post(COOP + "/join")
async def coop_join(request: web.Request) -> web.StreamResponse:
    account = await writer(request)
    name, uris = request.match_info["name"], request.app[URIS]

    def apply(conn: sqlite3.Connection) -> dict[str, Any]:
        coop = _coop(conn, name)
        outcome = admission.ask_to_join(conn, uris, coop.actor.id, account.actor_id)
        return {
            "membership": membership_json(outcome.membership, coop.actor),
            "decided": outcome.decided,
            "proposal_id": outcome.proposal_id,
        }

    return plain_json(await request.app[DB].write(apply))


@routes.post(COOP + "/leave")
async def coop_leave(request: web.Request) -> web.StreamResponse:
    account = await writer(request)
    name = request.match_info["name"]

    def apply(conn: sqlite3.Connection) -> dict[str, Any]:
        coop = _coop(conn, name)
        left = membership.member_leaves(conn, coop.actor.id, account.actor_id)
        if left is None:
            raise NotFound("not a member")
        return membership_json(left, coop.actor)

    return plain_json(await request.app[DB].write(apply))


@routes.get(COOP + "/requests")
async def coop_requests(request: web.Request) -> web.StreamResponse:
    account = await reader(request)
    name = request.match_info["name"]

    def load(conn: sqlite3.Connection) -> list[dict[str, Any]]:
        coop = _coop(conn, name)
        _require_admin(conn, coop, account.actor_id)
        return [
            {"id": m.id, "actor": actor_json(a), "created_at": m.created_at}
            for m, a in membership.pending_requests(conn, coop.actor.id)
        ]

    return plain_json(await request.app[DB].read(load))


async def _answer(request: web.Request, admit: bool) -> web.StreamResponse:
    account = await writer(request)
    name, request_id = request.match_info["name"], _id(request)

    def apply(conn: sqlite3.Connection) -> dict[str, Any]:
        coop = _coop(conn, name)
        found = membership.get_membership(conn, request_id)
        if found is None or found.coop_actor_id != coop.actor.id:
            raise NotFound("no such request")
        answer = membership.admit if admit else membership.refuse
        return membership_json(answer(conn, found.id, by_actor_id=account.actor_id), coop.actor)

    return plain_json(await request.app[DB].write(apply))


@routes.post(COOP + "/requests/{id}/admit")
async def coop_admit(request: web.Request) -> web.StreamResponse:
    return await _answer(request, True)


@routes.post(COOP + "/requests/{id}/refuse")
async def coop_refuse(request: web.Request) -> web.StreamResponse:
    return await _answer(request, False)


# proposals and decisions ------------------------------------------------------------------------


@routes.get(COOP + "/proposals")
async def coop_proposals(request: web.Request) -> web.StreamResponse:
    actor_id = await viewer(request)
    name, state = request.match_info["name"], request.query.get("state") or None

    def load(conn: sqlite3.Connection) -> list[dict[str, Any]]:
        coop = _coop(conn, name)
        found = governance.list_proposals(conn, coop.actor.id, state=state)
        views = [load_proposal(conn, p.id, actor_id) for p in found]
        return [proposal_json(v) for v in views if v is not None]

    return plain_json(await request.app[DB].read(load))


@routes.post(COOP + "/proposals")
async def coop_open_proposal(request: web.Request) -> web.StreamResponse:
    account = await writer(request)
    name, uris = request.match_info["name"], request.app[URIS]
    draft = await proposal_draft(request.app[FEDERATION], await read_fields(request))

    def apply(conn: sqlite3.Connection) -> dict[str, Any]:
        coop = _coop(conn, name)
        made = governance.open_proposal(
            conn, uris, coop.actor.id, draft, author_id=account.actor_id
        )
        view = load_proposal(conn, made.id, account.actor_id)
        assert view is not None
        return proposal_json(view)

    return plain_json(await request.app[DB].write(apply), status=201)


@routes.get(COOP + "/decisions")
async def coop_decisions(request: web.Request) -> web.StreamResponse:
    await viewer(request)
    name = request.match_info["name"]

    def load(conn: sqlite3.Connection) -> list[dict[str, Any]]:
        coop = _coop(conn, name)
        return [
            {"proposal_id": p.id, "title": p.title, "kind": p.kind, **decision_json(d)}
            for d, p in decisions.decisions_log(conn, coop.actor.id)
        ]

    return plain_json(await request.app[DB].read(load))


@routes.get(COOP + "/policy-actions")
async def coop_policy_actions(request: web.Request) -> web.StreamResponse:
    account = await reader(request)
    name = request.match_info["name"]

    def load(conn: sqlite3.Connection) -> list[dict[str, Any]]:
        coop = _coop(conn, name)
        _require_admin(conn, coop, account.actor_id)
        return [action_json(a) for a in policy_actions.list_actions(conn, coop.actor.id)]

    return plain_json(await request.app[DB].read(load))


async def _decide_action(request: web.Request, apply: bool) -> web.StreamResponse:
    account = await writer(request)
    name, action_id = request.match_info["name"], _id(request)
    ctx = request.app[FEDERATION]

    def check(conn: sqlite3.Connection) -> None:
        coop = _coop(conn, name)
        found = policy_actions.get_action(conn, action_id)
        if found is None or found.coop_actor_id != coop.actor.id:
            raise NotFound("no such action")

    await ctx.db.read(check)
    if apply:
        done = await coop_services.apply_policy_action(ctx, action_id, account.actor_id)
    else:
        done = await ctx.db.write(
            lambda conn: policy_actions.dismiss(conn, action_id, account.actor_id)
        )
    return plain_json(action_json(done))


@routes.post(COOP + "/policy-actions/{id}/apply")
async def coop_apply_action(request: web.Request) -> web.StreamResponse:
    return await _decide_action(request, True)


@routes.post(COOP + "/policy-actions/{id}/dismiss")
async def coop_dismiss_action(request: web.Request) -> web.StreamResponse:
    return await _decide_action(request, False)


@routes.get(PREFIX + "/proposals/{id}")
async def proposal_show(request: web.Request) -> web.StreamResponse:
    actor_id = await viewer(request)
    pid = _id(request)
    view = await request.app[DB].read(lambda conn: load_proposal(conn, pid, actor_id))
    if view is None:
        raise NotFound("no such proposal")
    return plain_json(proposal_json(view))


@routes.post(PREFIX + "/proposals/{id}/votes")
async def proposal_vote(request: web.Request) -> web.StreamResponse:
    account = await writer(request)
    pid, uris = _id(request), request.app[URIS]
    fields = await read_fields(request)
    option = str(fields.get("option", ""))
    result = await request.app[DB].write(
        lambda conn: governance.cast_vote(conn, uris, pid, account.actor_id, option)
    )
    return plain_json({"counted": result.counted, "reason": result.reason})


# the caller's memberships ---------------------------------------------------------------------


@routes.get(PREFIX + "/memberships")
async def my_memberships(request: web.Request) -> web.StreamResponse:
    account = await reader(request)
    ctx = request.app[FEDERATION]
    me = await ctx.db.read(lambda conn: get_actor(conn, account.actor_id))
    if me is None:
        raise NotFound("no such account")
    vouched = {m.coop.uri for m in await shown_memberships(ctx, me)}
    rows = await ctx.db.read(lambda conn: membership.memberships_of(conn, account.actor_id))
    return plain_json(
        [
            membership_json(m, coop, verified=m.active and coop.uri in vouched)
            for m, coop in rows
            if m.state in ("active", "pending")
        ]
    )


@routes.post(PREFIX + "/memberships")
async def join_elsewhere(request: web.Request) -> web.StreamResponse:
    account = await writer(request)
    fields = await read_fields(request)
    ctx = request.app[FEDERATION]
    made = await coop_services.join_elsewhere(ctx, account.actor_id, str(fields.get("coop", "")))
    coop = await ctx.db.read(lambda conn: get_actor(conn, made.coop_actor_id))
    assert coop is not None
    return plain_json(membership_json(made, coop), status=202)
