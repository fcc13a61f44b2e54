"""OpenAPI description of the cooperatives API (`api_coops.py`), merged by `openapi.document`.

Exports `PATHS` (relative to `/api/fedcoop/v1`) and `SCHEMAS`, built with `openapi`'s helpers.
"""

from __future__ import annotations

from fedcoop.web.openapi import (
    BOOL,
    ID,
    NSTR,
    READ,
    STR,
    TIME,
    WRITE,
    Schema,
    nullable,
    obj,
    op,
    query,
    ref,
)

NAME: Schema = {
    "name": "name",
    "in": "path",
    "required": True,
    "description": "the coop's name (preferredUsername)",
    "schema": STR,
}
INT: Schema = {"type": "integer"}
SHARE: Schema = {"type": "string", "description": "a share between 0 and 1, as a decimal string"}
TALLY: Schema = {"type": "object", "additionalProperties": INT, "description": "votes per option"}
KINDS = ["text", "admit", "remove", "fee", "solidarity", "federate", "block", "rules"]


def listing(name: str) -> Schema:
    return {"type": "array", "items": ref(name)}


SCHEMAS: dict[str, Schema] = {
    "Coop": obj(
        {
            "id": STR,
            "uri": STR,
            "name": STR,
            "handle": STR,
            "title": STR,
            "about": STR,
            "rules": STR,
            "admission": {"enum": ["open", "approval", "vote", "closed"]},
            "fee_rate": SHARE,
            "solidarity_rate": SHARE,
            "members_count": INT,
        }
    ),
    "CoopMember": obj({"membership_id": STR, "actor": ref("Actor"), "role": STR, "since": STR}),
    "JoinRequest": obj({"id": STR, "actor": ref("Actor"), "created_at": STR}),
    "Membership": obj(
        {
            "id": STR,
            "coop": ref("Actor"),
            "role": {"enum": ["member", "moderator", "admin", "outcast"]},
            "state": {"enum": ["pending", "active", "left", "removed", "rejected"]},
            "verified": {
                "type": "boolean",
                "description": "the coop vouches for it (its signed affiliations)",
            },
            "since": STR,
        }
    ),
    "JoinResult": obj(
        {
            "membership": ref("Membership"),
            "decided": {
                "enum": ["admitted", "refused", "waiting for an admin", "put to a vote", "already"]
            },
            "proposal_id": NSTR,
        }
    ),
    "Decision": obj(
        {
            "outcome": {"enum": ["adopted", "rejected", "no_quorum"]},
            "winning_option": NSTR,
            "tally": TALLY,
            "votes_cast": INT,
            "electorate": INT,
            "turnout": {"type": "integer", "description": "percent of the electorate"},
            "quorum_met": BOOL,
            "threshold_met": BOOL,
            "effect": STR,
            "decided_at": STR,
        }
    ),
    "DecisionEntry": {
        "allOf": [
            obj({"proposal_id": STR, "title": STR, "kind": {"enum": KINDS}}),
            ref("Decision"),
        ]
    },
    "Proposal": obj(
        {
            "id": STR,
            "uri": STR,
            "coop": ref("Actor"),
            "local": {"type": "boolean", "description": "false: a copy of another coop's"},
            "kind": {"enum": KINDS},
            "title": STR,
            "body": STR,
            "options": {"type": "array", "items": STR},
            "parameters": {"type": "object", "description": "rate, domain or rules"},
            "subject": nullable(ref("Actor")),
            "tally": TALLY,
            "votes_cast": INT,
            "electorate": INT,
            "turnout": INT,
            "quorum": SHARE,
            "threshold": {"enum": ["simple", "two_thirds"]},
            "opens_at": STR,
            "ends_at": STR,
            "state": {"enum": ["open", "closed"]},
            "closed_at": TIME,
            "my_vote": NSTR,
            "can_vote": BOOL,
            "decision": nullable(ref("Decision")),
        }
    ),
    "ProposalInput": obj(
        {
            "kind": {"enum": KINDS, "default": "text"},
            "title": {"type": "string", "maxLength": 200},
            "body": STR,
            "options": {
                "type": "array",
                "items": STR,
                "description": "free text only (2 to 10); the other kinds are Yes/No",
            },
            "ends_at": {"type": "string", "format": "date-time"},
            "days": {"type": "number", "description": "voting period when ends_at is absent"},
            "quorum": {"type": "string", "description": "0.5 or 50% (default)"},
            "threshold": {"enum": ["simple", "two_thirds"], "default": "simple"},
            "subject": {"type": "string", "description": "admit/remove: a handle or actor URL"},
            "rate": {"type": "string", "description": "fee/solidarity: 0.04 or 4%"},
            "domain": {"type": "string", "description": "federate/block: an instance"},
            "rules": {"type": "string", "description": "rules: the amended rules"},
        },
        ["title"],
    ),
    "VoteInput": obj({"option": STR}),
    "VoteResult": obj(
        {
            "counted": BOOL,
            "reason": {
                "type": "string",
                "description": "counted, sent (to a coop elsewhere), or why it was refused",
            },
        }
    ),
    "PolicyAction": obj(
        {
            "id": STR,
            "domain": STR,
            "policy": {"enum": ["block", "allow"]},
            "state": {"enum": ["pending", "applied", "dismissed"]},
            "decision_id": STR,
            "created_at": STR,
        }
    ),
    "JoinElsewhereInput": obj({"coop": {"type": "string", "description": "@coop@host or URL"}}),
}

PUBLIC_ERRORS = ("401", "403", "404")

PATHS: dict[str, Schema] = {
    "/coops": {
        "get": op(
            "listCoops", "The coops of this instance", READ, listing("Coop"), errors=("401", "403")
        ),
    },
    "/coops/{name}": {
        "get": op("getCoop", "A coop", READ, ref("Coop"), params=[NAME], errors=PUBLIC_ERRORS),
    },
    "/coops/{name}/members": {
        "get": op(
            "listCoopMembers",
            "Current members with their roles and home instances",
            READ,
            listing("CoopMember"),
            params=[NAME],
            errors=PUBLIC_ERRORS,
        ),
    },
    "/coops/{name}/join": {
        "post": op(
            "joinCoop",
            "Ask to join (the coop's admission mode decides)",
            WRITE,
            ref("JoinResult"),
            params=[NAME],
        ),
    },
    "/coops/{name}/leave": {
        "post": op(
            "leaveCoop",
            "Leave, or withdraw a request",
            WRITE,
            ref("Membership"),
            params=[NAME],
            errors=("401", "403", "404", "409"),
        ),
    },
    "/coops/{name}/requests": {
        "get": op(
            "listJoinRequests",
            "Requests waiting for an admin (admins)",
            READ,
            listing("JoinRequest"),
            params=[NAME],
            errors=PUBLIC_ERRORS,
        ),
    },
    "/coops/{name}/requests/{id}/admit": {
        "post": op(
            "admitRequest",
            "Admit (admins)",
            WRITE,
            ref("Membership"),
            params=[NAME, ID],
            errors=("401", "403", "404", "409"),
        ),
    },
    "/coops/{name}/requests/{id}/refuse": {
        "post": op(
            "refuseRequest",
            "Refuse (admins)",
            WRITE,
            ref("Membership"),
            params=[NAME, ID],
            errors=("401", "403", "404", "409"),
        ),
    },
    "/coops/{name}/proposals": {
        "get": op(
            "listProposals",
            "Proposals, open first, with results and turnout",
            READ,
            listing("Proposal"),
            params=[NAME, query("state", "open or closed", {"enum": ["open", "closed"]})],
            errors=PUBLIC_ERRORS,
        ),
        "post": op(
            "openProposal",
            "Put a proposal to the members (members)",
            WRITE,
            ref("Proposal"),
            status="201",
            body="ProposalInput",
            params=[NAME],
            errors=("401", "403", "404", "409", "422"),
        ),
    },
    "/coops/{name}/decisions": {
        "get": op(
            "listDecisions",
            "The public decisions log",
            READ,
            listing("DecisionEntry"),
            params=[NAME],
            errors=PUBLIC_ERRORS,
        ),
    },
    "/coops/{name}/policy-actions": {
        "get": op(
            "listPolicyActions",
            "Federation decisions and whether they were applied (admins)",
            READ,
            listing("PolicyAction"),
            params=[NAME],
            errors=PUBLIC_ERRORS,
        ),
    },
    "/coops/{name}/policy-actions/{id}/apply": {
        "post": op(
            "applyPolicyAction",
            "Apply a members' federation decision (admins)",
            WRITE,
            ref("PolicyAction"),
            params=[NAME, ID],
            errors=("401", "403", "404", "409"),
        ),
    },
    "/coops/{name}/policy-actions/{id}/dismiss": {
        "post": op(
            "dismissPolicyAction",
            "Dismiss it (admins)",
            WRITE,
            ref("PolicyAction"),
            params=[NAME, ID],
            errors=("401", "403", "404", "409"),
        ),
    },
    "/proposals/{id}": {
        "get": op(
            "getProposal",
            "A proposal of a coop here, or the copy of one elsewhere",
            READ,
            ref("Proposal"),
            params=[ID],
            errors=PUBLIC_ERRORS,
        ),
    },
    "/proposals/{id}/votes": {
        "post": op(
            "castVote",
            "Vote (the first vote counts; a coop elsewhere receives it as a Note reply)",
            WRITE,
            ref("VoteResult"),
            body="VoteInput",
            params=[ID],
        ),
    },
    "/memberships": {
        "get": op(
            "listMemberships",
            "The caller's memberships and requests, here and elsewhere",
            READ,
            listing("Membership"),
            errors=("401", "403", "422"),
        ),
        "post": op(
            "joinElsewhere",
            "Ask a coop on another instance to admit the caller (a Join leaves from here)",
            WRITE,
            ref("Membership"),
            status="202",
            body="JoinElsewhereInput",
            errors=("401", "403", "422"),
        ),
    },
}
