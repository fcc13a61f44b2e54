"""What a request to join a LOCAL coop becomes: the coop's admission mode decides.

- `open`: admitted at once (Accept + Add go out);
- `approval`: it waits for an admin (`membership.admit` / `membership.refuse`);
- `vote`: it waits, and a proposal of kind `admit` is opened for the members to decide;
- `closed`: refused at once (a remote person's home instance gets a Reject).

An outcast who asks again is refused without an answer being sent.

A request from someone already a member changes nothing; one already pending keeps its
proposal (asking twice opens no second vote).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from fedcoop.accounts.actors import get_actor
from fedcoop.errors import Forbidden
from fedcoop.gigs import governance, membership
from fedcoop.gigs.membership import Membership
from fedcoop.uris import Uris


@dataclass(frozen=True)
class JoinOutcome:
    membership: Membership
    decided: str  # "admitted", "refused", "waiting for an admin", "put to a vote", "already"
    proposal_id: str | None = None


def ask_to_join(
    conn: sqlite3.Connection,
    uris: Uris,
    coop_actor_id: str,
    actor_id: str,
    *,
    join_uri: str | None = None,
) -> JoinOutcome:
    coop = membership.local_coop(conn, coop_actor_id)
    person = get_actor(conn, actor_id)
    if person is None or person.type not in ("Person", "Service", "Organization"):
        raise Forbidden("Only people can join a cooperative.")
    existing = membership.find_membership(conn, coop_actor_id, actor_id)
    if existing is not None and existing.state == "active":
        # An outcast stays one: asking again changes nothing (and is not answered with an Add).
        return JoinOutcome(existing, "refused" if existing.role == "outcast" else "already")
    request = membership.open_request(conn, coop_actor_id, actor_id, join_uri)
    if coop.admission == "open":
        return JoinOutcome(membership.admit(conn, request.id, by_actor_id=None), "admitted")
    if coop.admission == "closed":
        return JoinOutcome(membership.refuse(conn, request.id, by_actor_id=None), "refused")
    if coop.admission == "vote":
        proposal = governance.admission_vote(conn, uris, coop_actor_id, request)
        return JoinOutcome(request, "put to a vote", proposal.id)
    return JoinOutcome(request, "waiting for an admin")
