"""The AS2 documents of a local coop's memberships and proposals, read from the database.

Shared by the renderers (what is sent) and the web layer (what is served at the same ids), so
both always give the same document.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from fedcoop.accounts.actors import Actor, get_actor, local_private_keys
from fedcoop.federation.coop_to_as import question_to_as, signed_relationship
from fedcoop.gigs import decisions, governance
from fedcoop.gigs.membership import Membership
from fedcoop.uris import Uris


def relationship_of(
    conn: sqlite3.Connection, found: Membership, coop: Actor, person: Actor
) -> dict[str, Any]:
    """A local coop's membership, signed by the coop's Ed25519 key."""
    _, ed_pem = local_private_keys(conn, coop.id)
    return signed_relationship(coop, person.uri, found.role, found.id, found.updated_at, ed_pem)


def electorate_uris(conn: sqlite3.Connection, proposal: governance.Proposal) -> list[str]:
    out = []
    for actor_id in governance.electorate_ids(conn, proposal.id):
        actor = get_actor(conn, actor_id)
        if actor is not None:
            out.append(actor.uri)
    return sorted(out)


def proposal_path(coop: Actor, proposal_id: str) -> str:
    return f"/coops/{coop.username}/proposals/{proposal_id}"


def question_document(
    conn: sqlite3.Connection,
    uris: Uris,
    proposal: governance.Proposal,
    coop: Actor,
    *,
    context: bool,
) -> dict[str, Any]:
    """A local proposal as the Question its members receive (tally as it stands now)."""
    return question_to_as(
        proposal,
        coop,
        governance.current_tally(conn, proposal),
        to=electorate_uris(conn, proposal),
        url=uris.page(proposal_path(coop, proposal.id)),
        decision=decisions.get_decision(conn, proposal.id),
        context=context,
    )
