"""The AS2 documents a coop and its members serve: affiliations, Relationships, Questions.

- `COOP/affiliations`: the coop's current Relationships (FEP-5219), paged newest first, each
  signed by the coop (FEP-8b32), so anyone can check a membership without trusting the server
  that shows it;
- `COOP/affiliations/<id>`: one Relationship at its own id (what an Add names);
- `PERSON/affiliations`: the Relationships a local person holds: signed by our coop for a
  coop here, or exactly as the remote coop signed them (received in its Add);
- `/proposals/<id>`: a local proposal as a `Question`, with the tally as it stands.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from fedcoop.accounts.actors import get_actor, get_local_actor
from fedcoop.activitypub.vocab import AS_CONTEXT
from fedcoop.db import Database
from fedcoop.errors import NotFound
from fedcoop.federation.collections import PAGE_SIZE, collection_document, collection_page
from fedcoop.federation.coop_documents import question_document, relationship_of
from fedcoop.gigs import governance, membership
from fedcoop.uris import Uris

MAX_PERSON_AFFILIATIONS = 100


def _local_coop_actor(conn: sqlite3.Connection, name: str) -> Any:
    coop = get_local_actor(conn, name)
    if coop is None or coop.type != "Group":
        raise NotFound("no such coop")
    return coop


async def coop_affiliations(
    db: Database, uris: Uris, name: str, *, page: bool, max_id: str | None
) -> dict[str, Any]:
    def load(conn: sqlite3.Connection) -> tuple[str, int, list[tuple[str, Any]]]:
        coop = _local_coop_actor(conn, name)
        total = membership.count_affiliations(conn, coop.id)
        rows = membership.affiliations_page(conn, coop.id, before=max_id, limit=PAGE_SIZE)
        items = [(m.id, relationship_of(conn, m, coop, person)) for m, person in rows]
        return uris.affiliations(coop.uri), total, items

    uri, total, items = await db.read(load)
    if not page:
        return collection_document(uri, total)
    return collection_page(uri, max_id, items, total=total)


async def relationship_document(db: Database, name: str, membership_id: str) -> dict[str, Any]:
    def load(conn: sqlite3.Connection) -> dict[str, Any]:
        coop = _local_coop_actor(conn, name)
        found = membership.get_membership(conn, membership_id)
        person = get_actor(conn, found.actor_id) if found else None
        if found is None or person is None or found.coop_actor_id != coop.id:
            raise NotFound("no such relationship")
        if found.state != "active":
            raise NotFound("this relationship has ended")
        return relationship_of(conn, found, coop, person)

    return await db.read(load)


def person_relationships(conn: sqlite3.Connection, actor_id: str) -> list[dict[str, Any]]:
    """The Relationships a local person holds, as their coops signed them."""
    out: list[dict[str, Any]] = []
    for found, coop in membership.memberships_of(conn, actor_id)[:MAX_PERSON_AFFILIATIONS]:
        if not found.active:
            continue
        if coop.local:
            person = get_actor(conn, actor_id)
            if person is not None:
                out.append(relationship_of(conn, found, coop, person))
        elif found.relationship:
            out.append(json.loads(found.relationship))
    return out


async def person_affiliations(db: Database, uris: Uris, name: str) -> dict[str, Any]:
    def load(conn: sqlite3.Connection) -> dict[str, Any]:
        person = get_local_actor(conn, name)
        if person is None or person.type != "Person":
            raise NotFound("no such person")
        items = person_relationships(conn, person.id)
        return {
            "@context": AS_CONTEXT,
            "id": uris.affiliations(person.uri),
            "type": "OrderedCollection",
            "totalItems": len(items),
            "orderedItems": items,
        }

    return await db.read(load)


async def question(db: Database, uris: Uris, proposal_id: str) -> dict[str, Any]:
    def load(conn: sqlite3.Connection) -> dict[str, Any]:
        proposal = governance.get_proposal(conn, proposal_id)
        coop = get_actor(conn, proposal.coop_actor_id) if proposal else None
        if proposal is None or coop is None or not proposal.local:
            raise NotFound("no such proposal")
        return question_document(conn, uris, proposal, coop, context=True)

    return await db.read(load)
