"""The marketplace's part of the OpenAPI document: gigs, applications, agreements,
notifications and skills (`api_gigs.py`, `api_deals.py`, shapes from `api_json.py`).
Merged into the document by `openapi.parts()`."""

from __future__ import annotations

from fedcoop.web.openapi import (
    BOOL,
    DECIMAL,
    DECIMAL_IN,
    ID,
    NDECIMAL,
    NSTR,
    PAGING,
    READ,
    STR,
    TIME,
    WRITE,
    Schema,
    list_of,
    nullable,
    obj,
    op,
    query,
    ref,
)

SCHEMAS: dict[str, Schema] = {
    "Place": obj(
        {
            "name": STR,
            "latitude": {"type": ["number", "null"]},
            "longitude": {"type": ["number", "null"]},
        }
    ),
    "Skill": obj({"uri": STR, "slug": NSTR, "label": STR, "local": BOOL}),
    "SkillInput": obj(
        {"slug": {"type": "string", "pattern": "^[a-z0-9]+(-[a-z0-9]+)*$"}, "label": STR}
    ),
    "Gig": obj(
        {
            "id": STR,
            "uri": STR,
            "url": STR,
            "local": BOOL,
            "purpose": {"enum": ["request", "offer"]},
            "title": STR,
            "description": {"type": "string", "description": "sanitised HTML"},
            "poster": ref("Actor"),
            "coop": nullable(ref("Actor")),
            "remote": BOOL,
            "place": nullable(ref("Place")),
            "starts_at": TIME,
            "ends_at": TIME,
            "unit": {"enum": ["hour", "day", "task"]},
            "unit_quantity": DECIMAL,
            "price": DECIMAL,
            "currency": STR,
            "available": DECIMAL,
            "remaining": DECIMAL,
            "minimum": DECIMAL,
            "unit_based": BOOL,
            "visibility": {"enum": ["public", "followers", "members"]},
            "state": {"enum": ["open", "filled", "closed", "withdrawn", "expired"]},
            "skills": {"type": "array", "items": obj({"uri": STR, "label": STR})},
            "published_at": STR,
            "updated_at": STR,
        }
    ),
    "GigInput": obj(
        {
            "purpose": {"enum": ["request", "offer"], "default": "request"},
            "coop_id": {"type": "string", "description": "a coop the caller belongs to"},
            "title": {"type": "string", "maxLength": 200},
            "description": STR,
            "description_format": {"enum": ["text", "html"], "default": "text"},
            "unit": {"enum": ["hour", "day", "task"], "default": "hour"},
            "unit_quantity": DECIMAL_IN,
            "price": DECIMAL_IN,
            "currency": {"type": "string", "default": "EUR"},
            "available": DECIMAL_IN,
            "minimum": DECIMAL_IN,
            "unit_based": {"type": "boolean", "default": True},
            "visibility": {"enum": ["public", "followers", "members"], "default": "public"},
            "remote": {"type": "boolean", "default": False},
            "place_name": {"type": "string", "description": "required unless remote"},
            "latitude": {"type": "number"},
            "longitude": {"type": "number"},
            "starts_at": {"type": "string", "format": "date-time"},
            "ends_at": {"type": "string", "format": "date-time"},
            "skills": {"type": "array", "items": STR, "description": "skill URIs or slugs"},
            "state": {"enum": ["open", "closed"], "description": "PATCH only"},
        },
        ["title", "price", "available"],
    ),
    "ApplicationInput": obj(
        {"quantity": DECIMAL_IN, "cover_note": {"type": "string", "maxLength": 5000}},
        ["quantity"],
    ),
    "Application": obj(
        {
            "id": STR,
            "uri": STR,
            "gig": obj({"id": STR, "uri": STR, "title": STR, "local": BOOL}),
            "worker": ref("Actor"),
            "quantity": NDECIMAL,
            "unit": STR,
            "amount": NDECIMAL,
            "currency": STR,
            "cover_note": STR,
            "structured": BOOL,
            "state": {"enum": ["pending", "accepted", "rejected", "withdrawn"]},
            "reason": NSTR,
            "agreement_id": NSTR,
            "created_at": STR,
            "updated_at": STR,
        }
    ),
    "Agreement": obj(
        {
            "id": STR,
            "uri": STR,
            "local": BOOL,
            "gig": obj({"id": NSTR, "uri": STR, "title": NSTR}),
            "application_id": NSTR,
            "poster": ref("Actor"),
            "worker": ref("Actor"),
            "quantity": DECIMAL,
            "unit": STR,
            "amount": DECIMAL,
            "currency": STR,
            "starts_at": TIME,
            "ends_at": TIME,
            "state": {"enum": ["active", "delivered", "completed", "cancelled", "disputed"]},
            "paid": BOOL,
            "delivered_at": TIME,
            "paid_at": TIME,
            "completed_at": TIME,
            "receipt_uri": NSTR,
            "created_at": STR,
            "updated_at": STR,
        }
    ),
    "Notification": obj(
        {
            "id": STR,
            "type": {
                "enum": [
                    "application",
                    "application_accepted",
                    "application_rejected",
                    "application_withdrawn",
                    "agreement_status",
                    "agreement_completion",
                    "agreement_payment",
                    "agreement_receipt",
                ]
            },
            "created_at": STR,
            "read": BOOL,
            "from": nullable(ref("Actor")),
            "subject_uri": NSTR,
            "url": NSTR,
            "payload": {"type": "object"},
        }
    ),
}

BOARD = [
    query("words", "full-text search; every word must match (as a prefix)"),
    query("skill", "a skill URI"),
    query("city", "part of the place name"),
    query("near_lat", "latitude of a point", {"type": "number"}),
    query("near_lon", "longitude of a point", {"type": "number"}),
    query("within_km", "radius around the point", {"type": "number"}),
    query("remote_only", "true for remote work only", BOOL),
    query("min_hourly", "minimum pay per hour (days count 8 hours)", DECIMAL),
    query("currency", "currency of min_hourly (ISO 4217)"),
    query("starts_after", "date or date-time"),
    query("ends_before", "date (inclusive) or date-time"),
    query("coop_id", "gigs of this coop"),
    query("purpose", "request or offer", {"enum": ["request", "offer"]}),
    query("sort", "date (pageable), pay or distance", {"enum": ["date", "pay", "distance"]}),
    *PAGING,
]


def _agreement_action(op_id: str, summary: str) -> Schema:
    return {
        "post": op(
            op_id,
            summary,
            WRITE,
            ref("Agreement"),
            params=[ID],
            errors=("401", "403", "404", "409"),
        )
    }


PATHS: dict[str, Schema] = {
    "/gigs": {
        "get": op(
            "listGigs",
            "The board: local and federated gigs",
            READ,
            list_of("Gig"),
            params=BOARD,
            errors=("401", "403", "422"),
        ),
        "post": op(
            "createGig",
            "Post a gig",
            WRITE,
            ref("Gig"),
            status="201",
            body="GigInput",
            errors=("401", "403", "422"),
        ),
    },
    "/gigs/{id}": {
        "get": op("getGig", "One gig", READ, ref("Gig"), params=[ID]),
        "patch": op(
            "updateGig",
            "Change some terms and/or open or close",
            WRITE,
            ref("Gig"),
            params=[ID],
            body="GigInput",
            errors=("401", "403", "404", "409", "422"),
        ),
        "delete": op(
            "withdrawGig",
            "Withdraw a gig",
            WRITE,
            ref("Gig"),
            params=[ID],
            errors=("401", "403", "404", "409"),
        ),
    },
    "/gigs/{id}/applications": {
        "get": op(
            "listGigApplications",
            "Applications to one of my gigs",
            READ,
            list_of("Application"),
            params=[ID],
        ),
        "post": op(
            "apply",
            "Apply (to a remote gig: an Offer leaves from here)",
            WRITE,
            ref("Application"),
            status="201",
            params=[ID],
            body="ApplicationInput",
            errors=("401", "403", "404", "409", "422"),
        ),
    },
    "/applications": {
        "get": op(
            "listApplications",
            "My applications, or those to my gigs",
            READ,
            list_of("Application"),
            params=[
                query("role", "worker (default) or poster", {"enum": ["worker", "poster"]}),
                *PAGING,
            ],
            errors=("401", "403", "422"),
        ),
    },
    "/applications/{id}": {
        "get": op(
            "getApplication",
            "One application (its worker or the poster)",
            READ,
            ref("Application"),
            params=[ID],
        ),
    },
    "/applications/{id}/accept": {
        "post": op(
            "acceptApplication",
            "Accept: 409 when no capacity is left",
            WRITE,
            ref("Agreement"),
            params=[ID],
            errors=("401", "403", "404", "409"),
        ),
    },
    "/applications/{id}/reject": {
        "post": op(
            "rejectApplication",
            "Decline, with an optional reason",
            WRITE,
            ref("Application"),
            params=[ID],
            errors=("401", "403", "404", "409", "422"),
        ),
    },
    "/applications/{id}/withdraw": {
        "post": op(
            "withdrawApplication",
            "Withdraw my application",
            WRITE,
            ref("Application"),
            params=[ID],
            errors=("401", "403", "404", "409"),
        ),
    },
    "/agreements": {
        "get": op(
            "listAgreements",
            "My agreements",
            READ,
            list_of("Agreement"),
            params=PAGING,
            errors=("401", "403", "422"),
        ),
    },
    "/agreements/{id}": {
        "get": op(
            "getAgreement", "One agreement (its parties only)", READ, ref("Agreement"), params=[ID]
        ),
    },
    "/agreements/{id}/completion": _agreement_action(
        "recordCompletion", "The worker records the work as delivered"
    ),
    "/agreements/{id}/payment": _agreement_action(
        "recordPayment", "The poster records the payment"
    ),
    "/agreements/{id}/cancel": _agreement_action("cancelAgreement", "Cancel (either party)"),
    "/agreements/{id}/dispute": _agreement_action("disputeAgreement", "Dispute (either party)"),
    "/notifications": {
        "get": op(
            "listNotifications",
            "Marketplace notifications",
            READ,
            list_of("Notification"),
            params=PAGING,
            errors=("401", "403", "422"),
        ),
    },
    "/skills": {
        "get": op(
            "listSkills", "Skills a gig can name", READ, list_of("Skill"), errors=("401", "403")
        ),
        "post": op(
            "addSkill",
            "Add a skill (admins)",
            WRITE,
            ref("Skill"),
            status="201",
            body="SkillInput",
            errors=("401", "403", "409", "422"),
        ),
    },
}
