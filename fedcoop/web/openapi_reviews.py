"""OpenAPI description of the reviews, reputation and moving API (`reviews_api.py`), merged by
`openapi.document`. Exports `PATHS` (relative to `/api/fedcoop/v1`) and `SCHEMAS`."""

from __future__ import annotations

from fedcoop.gigs.reviews import CRITERIA
from fedcoop.web.openapi import (
    BOOL,
    ID,
    NSTR,
    PAGING,
    STR,
    TIME,
    Schema,
    nullable,
    obj,
    op,
    query,
    ref,
)

INT: Schema = {"type": "integer"}
NUM: Schema = {"type": ["number", "null"]}
RATING: Schema = {"type": "integer", "minimum": 1, "maximum": 5}
ALL_CRITERIA = sorted({name for names in CRITERIA.values() for name in names})
CRITERIA_MAP: Schema = {
    "type": "object",
    "propertyNames": {"enum": ALL_CRITERIA},
    "additionalProperties": RATING,
    "description": (
        "a worker rates "
        + ", ".join(CRITERIA["worker"])
        + "; a poster rates "
        + ", ".join(CRITERIA["poster"])
    ),
}
AVERAGE: Schema = obj({"count": INT, "mean": NUM})

SCHEMAS: dict[str, Schema] = {
    "ReviewParty": obj({"id": STR, "uri": STR, "acct": STR, "name": STR}),
    "Review": obj(
        {
            "id": STR,
            "uri": {"type": "string", "format": "uri"},
            "agreement": STR,
            "reviewer": ref("ReviewParty"),
            "subject": ref("ReviewParty"),
            "reviewer_role": {"enum": ["worker", "poster"]},
            "rating": RATING,
            "criteria": CRITERIA_MAP,
            "skills": {"type": "array", "items": STR},
            "content": {"type": "string", "description": "sanitised HTML"},
            "state": {"enum": ["sealed", "published"]},
            "verified": BOOL,
            "unverified_reason": NSTR,
            "written_at": STR,
            "published_at": TIME,
            "reply": nullable(obj({"uri": STR, "content": STR, "published_at": STR})),
            "document": {
                "type": ["object", "null"],
                "description": "the signed review Note (FEP-8b32 proof); null while sealed",
            },
        }
    ),
    "ReviewInput": obj({"rating": RATING, "text": STR, "criteria": CRITERIA_MAP}, ["rating"]),
    "ReviewReply": obj({"id": STR, "uri": STR, "content": STR, "published_at": STR}),
    "ReplyInput": obj({"text": STR}),
    "ReportInput": obj({"reason": STR}, []),
    "ReviewReport": obj({"id": STR, "state": {"enum": ["open", "resolved"]}}),
    "Reputation": obj(
        {
            "count": INT,
            "mean": NUM,
            "bayesianMean": {
                "type": "number",
                "description": "(5 x 3.5 + sum of ratings) / (5 + count)",
            },
            "prior": obj({"mean": {"type": "number"}, "weight": INT}),
            "counterparts": INT,
            "instances": INT,
            "firstReview": TIME,
            "lastReview": TIME,
            "criteria": {"type": "object", "additionalProperties": AVERAGE},
            "skills": {
                "type": "array",
                "items": obj({"skill": STR, "name": STR, "count": INT, "mean": {"type": "number"}}),
            },
        }
    ),
    "ActorReputation": obj(
        {
            "actor": ref("ReviewParty"),
            "reputation": ref("Reputation"),
            "former_identities": {"type": "array", "items": STR},
            "reviews": NSTR,
        }
    ),
    "AliasesInput": obj({"also_known_as": {"type": "array", "items": STR}}),
    "Aliases": obj({"also_known_as": {"type": "array", "items": STR}}),
    "MoveInput": obj({"target": {"type": "string", "format": "uri"}}),
    "Moved": obj({"moved_to": NSTR}),
}

PATHS: dict[str, Schema] = {
    "/actors/{id}/reputation": {
        "get": op(
            "getReputation",
            "An actor's reputation (local or remote), as this instance computes it",
            [],
            ref("ActorReputation"),
            params=[ID],
            errors=("404",),
        )
    },
    "/reviews": {
        "get": op(
            "listReviews",
            "Published reviews, newest first",
            [],
            {"type": "array", "items": ref("Review")},
            params=[
                query("subject", "reviews about this actor id (and its former identities)"),
                query("reviewer", "reviews written by this actor id"),
                query("agreement", "reviews of this agreement (its URI)"),
                *PAGING,
            ],
            errors=("422",),
        )
    },
    "/agreements/{id}/review": {
        "post": op(
            "createReview",
            "Review the other party of a completed agreement (sealed until both are in)",
            ["write:gigs"],
            ref("Review"),
            status="201",
            body="ReviewInput",
            params=[ID],
            errors=("401", "403", "404", "409", "422"),
        )
    },
    "/reviews/{id}/reply": {
        "post": op(
            "answerReview",
            "The subject answers a review in public (once)",
            ["write:gigs"],
            ref("ReviewReply"),
            status="201",
            body="ReplyInput",
            params=[ID],
            errors=("401", "403", "404", "409", "422"),
        )
    },
    "/reviews/{id}/report": {
        "post": op(
            "reportReview",
            "Report a review to the moderators (a Flag reaches the reviewer's instance)",
            ["write:reports"],
            ref("ReviewReport"),
            status="201",
            body="ReportInput",
            params=[ID],
        )
    },
    "/account/also_known_as": {
        "put": op(
            "setAliases",
            "Set the account's alsoKnownAs (to accept a move from another account)",
            ["write:accounts"],
            ref("Aliases"),
            body="AliasesInput",
            errors=("401", "403", "422"),
        )
    },
    "/account/move": {
        "post": op(
            "moveAccount",
            "Move to another account, which must list this one in alsoKnownAs",
            ["write:accounts"],
            ref("Moved"),
            body="MoveInput",
            errors=("401", "403", "409", "422"),
        )
    },
}
