"""Copies of other coops' proposals, as their coops publish them (their Questions).

A member here of a coop elsewhere sees that coop's proposals and votes on them from here (the
vote leaves as a Note reply); nothing is counted here: the tally, the closing and the decision
are the ones the coop published, stored as they came, so every instance shows the same result.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from fedcoop import clock, ids
from fedcoop.errors import Forbidden
from fedcoop.gigs import tally
from fedcoop.gigs.decisions import insert_decision
from fedcoop.gigs.governance import (
    DEFAULT_QUORUM,
    KINDS,
    MAX_BODY,
    MAX_TITLE,
    Proposal,
    get_proposal_by_uri,
    require_proposal,
)


@dataclass(frozen=True)
class RemoteProposalDraft:
    """A remote coop's Question, converted by the federation layer (text already sanitised)."""

    uri: str
    title: str
    body: str
    options: tuple[str, ...]
    ends_at: str
    kind: str = "text"
    quorum: Decimal = DEFAULT_QUORUM
    threshold: str = "simple"
    electorate_size: int = 0
    tally: dict[str, int] = field(default_factory=dict)
    voters_count: int = 0
    closed_at: str | None = None
    decision: dict[str, Any] | None = None  # outcome, winningOption, quorumMet, … as published


def store_remote_proposal(
    conn: sqlite3.Connection, coop_actor_id: str, draft: RemoteProposalDraft
) -> Proposal:
    """Insert or refresh the copy of a remote coop's proposal; a closed one stays closed."""
    existing = get_proposal_by_uri(conn, draft.uri)
    if existing is not None and (existing.local or existing.coop_actor_id != coop_actor_id):
        raise Forbidden("This proposal belongs to another cooperative.")
    now_s = clock.now_iso()
    kind = draft.kind if draft.kind in KINDS else "text"
    threshold = draft.threshold if draft.threshold in tally.THRESHOLDS else "simple"
    closed = draft.closed_at is not None or (existing is not None and not existing.is_open)
    values = (
        draft.title[:MAX_TITLE] or "Proposal",
        draft.body[:MAX_BODY],
        json.dumps(list(draft.options)),
        kind,
        str(draft.quorum),
        threshold,
        draft.ends_at,
        "closed" if closed else "open",
        draft.electorate_size,
        json.dumps({o: int(draft.tally.get(o, 0)) for o in draft.options}),
        draft.voters_count,
        draft.closed_at or (existing.closed_at if existing else None),
        now_s,
    )
    if existing is None:
        proposal_id = ids.new_id()
        conn.execute(
            """INSERT INTO proposals (title, body, options, kind, quorum, threshold, ends_at,
                   state, electorate_size, tally, voters_count, closed_at, updated_at,
                   id, uri, coop_actor_id, local, opens_at, created_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?)""",
            (*values, proposal_id, draft.uri, coop_actor_id, now_s, now_s),
        )
    else:
        proposal_id = existing.id
        conn.execute(
            """UPDATE proposals SET title = ?, body = ?, options = ?, kind = ?, quorum = ?,
                   threshold = ?, ends_at = ?, state = ?, electorate_size = ?, tally = ?,
                   voters_count = ?, closed_at = ?, updated_at = ? WHERE id = ?""",
            (*values, proposal_id),
        )
    proposal = require_proposal(conn, proposal_id)
    if draft.decision is not None and proposal.closed_at is not None:
        _store_remote_decision(conn, proposal, draft.decision)
    return proposal


def _store_remote_decision(
    conn: sqlite3.Connection, proposal: Proposal, published: dict[str, Any]
) -> None:
    outcome = published.get("outcome")
    if outcome not in ("adopted", "rejected", "no_quorum"):
        return
    winner = published.get("winningOption")
    result = tally.Result(
        tally=dict(proposal.tally),
        votes_cast=sum(proposal.tally.values()),
        electorate=proposal.electorate_size,
        quorum_met=published.get("quorumMet") is True,
        threshold_met=published.get("thresholdMet") is True,
        winning_option=winner if isinstance(winner, str) and winner in proposal.options else None,
        outcome=outcome,
    )
    effect = published.get("effect")
    insert_decision(
        conn,
        ids.new_id(),
        proposal,
        result,
        effect[:500] if isinstance(effect, str) else "",
        proposal.closed_at or clock.now_iso(),
    )
