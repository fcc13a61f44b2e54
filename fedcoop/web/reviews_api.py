"""The native JSON API of reviews, reputation and moving (`/api/fedcoop/v1/`), described in
`fedcoop.web.openapi_reviews`. Reading is public (reviews are public once published); writing
needs a user token: `write:gigs` to review and answer, `write:reports` to report,
`write:accounts` to set aliases and move."""

from __future__ import annotations

import sqlite3
from typing import Any

from aiohttp import web

from fedcoop import ids
from fedcoop.accounts.actors import get_actor
from fedcoop.errors import NotFound, ValidationError
from fedcoop.federation import moving, review_views
from fedcoop.federation.review_collections import reviews_url
from fedcoop.federation.review_publishing import answer_review, report_review, submit_review
from fedcoop.gigs import reputation, reviews
from fedcoop.web.bearer import require_account
from fedcoop.web.gig_forms import read_fields
from fedcoop.web.responses import plain_json
from fedcoop.web.review_forms import one_uri, reply_text, report_reason, review_draft, uri_list
from fedcoop.web.state import DB, FEDERATION, URIS

routes = web.RouteTableDef()
API = "/api/fedcoop/v1"
DEFAULT_LIMIT, MAX_LIMIT = 20, 40


def _id(request: web.Request, what: str) -> str:
    value = request.match_info["id"]
    if not ids.is_valid(value):
        raise NotFound(f"no such {what}")
    return value


def _limit(request: web.Request) -> int:
    raw = request.query.get("limit", str(DEFAULT_LIMIT))
    if not raw.isdigit():
        raise ValidationError("must be a whole number", field="limit")
    return max(1, min(int(raw), MAX_LIMIT))


@routes.get(API + "/actors/{id}/reputation")
async def actor_reputation(request: web.Request) -> web.Response:
    actor_id = _id(request, "actor")

    def load(conn: sqlite3.Connection) -> dict[str, Any]:
        actor = get_actor(conn, actor_id)
        if actor is None:
            raise NotFound("no such actor")
        former = [a.uri for a in review_views.profile_section(conn, actor_id).former]
        return {
            "actor": review_views.actor_json(actor),
            "reputation": reputation.reputation(conn, actor_id).as_dict(),
            "former_identities": former,
            "reviews": reviews_url(actor) if actor.local else None,
        }

    return plain_json(await request.app[DB].read(load))


@routes.get(API + "/reviews")
async def list_reviews(request: web.Request) -> web.Response:
    query = request.query
    subject, reviewer = query.get("subject"), query.get("reviewer")
    for name, value in (("subject", subject), ("reviewer", reviewer)):
        if value is not None and not ids.is_valid(value):
            raise ValidationError("must be an actor id", field=name)
    limit = _limit(request)

    def load(conn: sqlite3.Connection) -> list[dict[str, Any]]:
        subjects = reputation.identity_ids(conn, subject) if subject else []
        found = reviews.list_reviews(
            conn,
            subject_ids=subjects,
            reviewer_id=reviewer,
            agreement_uri=query.get("agreement"),
            before=query.get("max_id"),
            limit=limit,
        )
        return [review_views.review_json(v) for v in review_views.review_views(conn, found)]

    found = await request.app[DB].read(load)
    headers = {}
    if len(found) == limit:
        url = request.url.update_query(max_id=found[-1]["id"])
        headers["Link"] = f'<{url}>; rel="next"'
    return plain_json(found, headers=headers)


@routes.post(API + "/agreements/{id}/review")
async def create_review(request: web.Request) -> web.Response:
    agreement_id = _id(request, "agreement")
    account = await require_account(request, "write:gigs")
    draft = review_draft(await read_fields(request))
    made = await submit_review(
        request.app[DB],
        request.app[URIS],
        agreement_id=agreement_id,
        reviewer_id=account.actor_id,
        draft=draft,
    )
    view = await request.app[DB].read(lambda c: review_views.review_view(c, made))
    return plain_json(review_views.review_json(view), status=201)


@routes.post(API + "/reviews/{id}/reply")
async def create_reply(request: web.Request) -> web.Response:
    review_id = _id(request, "review")
    account = await require_account(request, "write:gigs")
    text = reply_text(await read_fields(request))
    reply = await answer_review(
        request.app[DB],
        request.app[URIS],
        review_id=review_id,
        author_id=account.actor_id,
        text=text,
    )
    body = {
        "id": reply.id,
        "uri": reply.uri,
        "content": reply.content,
        "published_at": reply.published_at,
    }
    return plain_json(body, status=201)


@routes.post(API + "/reviews/{id}/report")
async def create_report(request: web.Request) -> web.Response:
    review_id = _id(request, "review")
    account = await require_account(request, "write:reports")
    reason = report_reason(await read_fields(request))
    report = await report_review(
        request.app[DB], review_id=review_id, reporter_id=account.actor_id, reason=reason
    )
    return plain_json({"id": report.id, "state": report.state}, status=201)


@routes.put(API + "/account/also_known_as")
async def set_aliases(request: web.Request) -> web.Response:
    account = await require_account(request, "write:accounts")
    aliases = uri_list(await read_fields(request), "also_known_as")
    actor = await moving.set_aliases(request.app[FEDERATION], account.actor_id, aliases)
    return plain_json({"also_known_as": actor.also_known_as})


@routes.post(API + "/account/move")
async def move(request: web.Request) -> web.Response:
    account = await require_account(request, "write:accounts")
    target = one_uri(await read_fields(request), "target")
    actor = await moving.move_out(request.app[FEDERATION], account.actor_id, target)
    return plain_json({"moved_to": actor.moved_to})
