"""Review pages and documents: the `reviews` collection of every local actor, one review (AS2
for ActivityPub clients, a page for browsers), the review form of a completed agreement, and
the forms to answer and to report a review. Every page works without JavaScript."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from fedcoop import ids
from fedcoop.errors import NotFound
from fedcoop.federation import review_views
from fedcoop.federation.review_collections import (
    agreement_facts_document,
    review_document,
    reviews_collection,
)
from fedcoop.federation.review_publishing import answer_review, report_review, submit_review
from fedcoop.uris import GROUP_PREFIX, PERSON_PREFIX
from fedcoop.web.gig_forms import read_fields
from fedcoop.web.responses import activity_json, request_wants_as2
from fedcoop.web.review_forms import reply_text, report_reason, review_draft
from fedcoop.web.sessions import current_account, require_account
from fedcoop.web.state import DB, URIS
from fedcoop.web.templating import render_page

routes = web.RouteTableDef()


def _id(request: web.Request, what: str) -> str:
    value = request.match_info["id"]
    if not ids.is_valid(value):
        raise NotFound(f"There is no such {what} here.")
    return value


def _collection(kind: str) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def serve(request: web.Request) -> web.StreamResponse:
        doc = await reviews_collection(
            request.app[DB],
            kind,
            request.match_info["name"],
            page=request.query.get("page") in ("true", "1"),
            max_id=request.query.get("max_id"),
        )
        return activity_json(doc)

    serve.__name__ = f"{kind.lower()}_reviews"
    return serve


for _prefix, _kind in ((PERSON_PREFIX, "Person"), (GROUP_PREFIX, "Group")):
    routes.get(f"{_prefix}{{name}}/reviews")(_collection(_kind))


@routes.get("/reviews/{id}")
async def review(request: web.Request) -> web.StreamResponse:
    review_id = _id(request, "review")
    if request_wants_as2(request):
        doc = await review_document(request.app[DB], request.app[URIS], review_id)
        return activity_json(doc)
    view = await request.app[DB].read(lambda c: review_views.published_review(c, review_id))
    account = current_account(request)
    viewer = account.actor_id if account else None
    response = render_page(
        "reviews/review.html",
        request,
        {
            "view": view,
            "can_answer": viewer == view.review.subject_id and view.reply is None,
            "can_report": viewer is not None and viewer != view.review.reviewer_id,
        },
    )
    response.headers["Vary"] = "Accept"
    return response


@routes.get("/agreements/{id}/facts")
async def agreement_facts(request: web.Request) -> web.StreamResponse:
    """Who the parties of a reviewed agreement are and its status, for review verifiers."""
    agreement_id = _id(request, "agreement")
    doc = await agreement_facts_document(request.app[DB], request.app[URIS], agreement_id)
    return activity_json(doc)


@routes.get("/agreements/{id}/review")
async def review_form(request: web.Request) -> web.StreamResponse:
    agreement_id = _id(request, "agreement")
    account = require_account(request)
    form = await request.app[DB].read(
        lambda c: review_views.review_form(c, agreement_id, account.actor_id)
    )
    return render_page("reviews/form.html", request, {"form": form})


@routes.post("/agreements/{id}/review")
async def post_review(request: web.Request) -> web.StreamResponse:
    agreement_id = _id(request, "agreement")
    account = require_account(request)
    draft = review_draft(await read_fields(request))
    await submit_review(
        request.app[DB],
        request.app[URIS],
        agreement_id=agreement_id,
        reviewer_id=account.actor_id,
        draft=draft,
    )
    raise web.HTTPSeeOther(f"/agreements/{agreement_id}/review")


@routes.post("/reviews/{id}/reply")
async def post_reply(request: web.Request) -> web.StreamResponse:
    review_id = _id(request, "review")
    account = require_account(request)
    text = reply_text(await read_fields(request))
    await answer_review(
        request.app[DB],
        request.app[URIS],
        review_id=review_id,
        author_id=account.actor_id,
        text=text,
    )
    raise web.HTTPSeeOther(f"/reviews/{review_id}")


@routes.post("/reviews/{id}/report")
async def post_report(request: web.Request) -> web.StreamResponse:
    review_id = _id(request, "review")
    account = require_account(request)
    reason = report_reason(await read_fields(request))
    await report_review(
        request.app[DB], review_id=review_id, reporter_id=account.actor_id, reason=reason
    )
    raise web.HTTPSeeOther(f"/reviews/{review_id}")
