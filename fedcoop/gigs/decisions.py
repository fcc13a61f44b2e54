"""Decisions: closing a proposal, counting it, applying what it decides, and the public log.

Closing (the `ProposalCloser` worker, once `ends_at` passed) counts the votes (`tally.count`),
writes the decision record, applies what an adopted decision does, and emits `proposal.closed`
(the tally goes out as an Update of the Question), all in one transaction:
- admit: the pending request is admitted (adopted) or refused (rejected); with no quorum it
  waits for an admin;
- remove: the member is removed;
- fee / solidarity: the coop's rate changes; rules: the rules are replaced;
- federate / block: a pending federation-policy action for an admin (`policy_actions.py`);
- free text: recorded only.
A decision that can no longer be carried out (the person left meanwhile) is recorded with the
reason, never retried.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from fedcoop import clock, ids
from fedcoop.db.jobs import transition
from fedcoop.errors import AppError, Conflict, Forbidden
from fedcoop.gigs import membership, policy_actions, tally
from fedcoop.gigs.governance import (
    TABLE,
    Proposal,
    ProposalStates,
    current_tally,
    get_proposal,
    require_proposal,
)
from fedcoop.social.events import emit


@dataclass(frozen=True)
class Decision:
    id: str
    proposal_id: str
    coop_actor_id: str
    outcome: str
    winning_option: str | None
    tally: dict[str, int]
    votes_cast: int
    electorate: int
    quorum_met: bool
    threshold_met: bool
    effect: str
    decided_at: str

    @property
    def turnout_percent(self) -> int:
        return tally.turnout_percent(self.votes_cast, self.electorate)


def _decision(row: sqlite3.Row | None) -> Decision | None:
    if row is None:
        return None
    return Decision(
        id=row["id"],
        proposal_id=row["proposal_id"],
        coop_actor_id=row["coop_actor_id"],
        outcome=row["outcome"],
        winning_option=row["winning_option"],
        tally={str(k): int(v) for k, v in json.loads(row["tally"]).items()},
        votes_cast=row["votes_cast"],
        electorate=row["electorate"],
        quorum_met=bool(row["quorum_met"]),
        threshold_met=bool(row["threshold_met"]),
        effect=row["effect"],
        decided_at=row["decided_at"],
    )


def get_decision(conn: sqlite3.Connection, proposal_id: str) -> Decision | None:
    return _decision(
        conn.execute("SELECT * FROM decisions WHERE proposal_id = ?", (proposal_id,)).fetchone()
    )


def decisions_log(
    conn: sqlite3.Connection, coop_actor_id: str, *, limit: int = 100
) -> list[tuple[Decision, Proposal]]:
    rows = conn.execute(
        "SELECT * FROM decisions WHERE coop_actor_id = ? ORDER BY decided_at DESC, id DESC LIMIT ?",
        (coop_actor_id, limit),
    ).fetchall()
    out = []
    for row in rows:
        decision = _decision(row)
        proposal = get_proposal(conn, row["proposal_id"])
        if decision is not None and proposal is not None:
            out.append((decision, proposal))
    return out


# closing ------------------------------------------------------------------------------------


def due_proposals(conn: sqlite3.Connection, now: datetime, *, limit: int = 50) -> list[str]:
    rows = conn.execute(
        "SELECT id FROM proposals WHERE state = 'open' AND local = 1 AND ends_at < ? "
        "ORDER BY ends_at, id LIMIT ?",
        (clock.iso(now), limit),
    ).fetchall()
    return [str(r[0]) for r in rows]


def close_due(conn: sqlite3.Connection, now: datetime, *, limit: int = 50) -> list[Decision]:
    """Close every local proposal whose voting period has passed (the closer worker's pass)."""
    return [close_proposal(conn, pid, now=now) for pid in due_proposals(conn, now, limit=limit)]


def close_proposal(conn: sqlite3.Connection, proposal_id: str, *, now: datetime) -> Decision:
    """Count, record the decision, apply it, and publish the tally."""
    proposal = require_proposal(conn, proposal_id)
    if not proposal.local:
        raise Forbidden("Only the cooperative that holds the vote closes it.")
    if not proposal.is_open:
        found = get_decision(conn, proposal.id)
        assert found is not None
        return found
    counted = current_tally(conn, proposal)
    result = tally.count(
        proposal.options,
        counted,
        electorate=proposal.electorate_size,
        quorum=proposal.quorum,
        threshold=proposal.threshold,
        yes_no=proposal.yes_no,
    )
    now_s = clock.iso(now)
    moved = transition(
        conn,
        TABLE,
        proposal.id,
        ProposalStates,
        "open",
        "closed",
        closed_at=now_s,
        updated_at=now_s,
        tally=json.dumps(result.tally),
        voters_count=result.votes_cast,
    )
    if not moved:
        raise Conflict("The proposal was closed meanwhile.")
    decision_id = ids.new_id()
    insert_decision(conn, decision_id, proposal, result, "", now_s)
    effect = _apply(conn, proposal, result, decision_id)
    conn.execute("UPDATE decisions SET effect = ? WHERE id = ?", (effect, decision_id))
    emit(conn, "proposal.closed", proposal.coop_actor_id, proposal.id)
    found = get_decision(conn, proposal.id)
    assert found is not None
    return found


def insert_decision(
    conn: sqlite3.Connection,
    decision_id: str,
    proposal: Proposal,
    result: tally.Result,
    effect: str,
    decided_at: str,
) -> None:
    conn.execute(
        "INSERT INTO decisions (id, proposal_id, coop_actor_id, outcome, winning_option, tally, "
        "votes_cast, electorate, quorum_met, threshold_met, effect, decided_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (proposal_id) DO UPDATE SET "
        "outcome = excluded.outcome, winning_option = excluded.winning_option, "
        "tally = excluded.tally, votes_cast = excluded.votes_cast, "
        "electorate = excluded.electorate, quorum_met = excluded.quorum_met, "
        "threshold_met = excluded.threshold_met, effect = excluded.effect, "
        "decided_at = excluded.decided_at",
        (
            decision_id,
            proposal.id,
            proposal.coop_actor_id,
            result.outcome,
            result.winning_option,
            json.dumps(result.tally),
            result.votes_cast,
            result.electorate,
            int(result.quorum_met),
            int(result.threshold_met),
            effect,
            decided_at,
        ),
    )


def _apply(
    conn: sqlite3.Connection, proposal: Proposal, result: tally.Result, decision_id: str
) -> str:
    """Carry out the decision; returns what was done, for the log. A decision that can no
    longer be carried out (the person left meanwhile) is recorded with the reason."""
    adopted = result.outcome == "adopted"
    try:
        if proposal.kind == "admit":
            return _apply_admission(conn, proposal, result.outcome)
        if not adopted:
            return "nothing changed"
        return _apply_adopted(conn, proposal, decision_id)
    except AppError as exc:
        return f"not carried out: {exc.safe_message}"


def _apply_admission(conn: sqlite3.Connection, proposal: Proposal, outcome: str) -> str:
    request = membership.get_membership(conn, proposal.membership_id or "")
    if request is None or request.state != "pending":
        return "nothing changed: the request was withdrawn"
    if outcome == "adopted":
        membership.admit(conn, request.id, by_actor_id=None)
        return "admitted as a member"
    if outcome == "rejected":
        membership.refuse(conn, request.id, by_actor_id=None)
        return "request refused"
    return "no quorum: the request waits for an admin"


def _apply_adopted(conn: sqlite3.Connection, proposal: Proposal, decision_id: str) -> str:
    coop_id = proposal.coop_actor_id
    params = proposal.params
    if proposal.kind == "remove":
        membership.remove(conn, coop_id, proposal.subject_actor_id or "", by_actor_id=None)
        return "member removed"
    if proposal.kind in ("fee", "solidarity"):
        column = "fee_rate" if proposal.kind == "fee" else "solidarity_rate"
        rate = str(Decimal(params["rate"]))
        conn.execute(f"UPDATE coops SET {column} = ? WHERE actor_id = ?", (rate, coop_id))
        return f"{column.replace('_', ' ')} set to {rate}"
    if proposal.kind == "rules":
        conn.execute("UPDATE coops SET rules = ? WHERE actor_id = ?", (params["rules"], coop_id))
        return "rules amended"
    if proposal.kind in ("federate", "block"):
        policy = "block" if proposal.kind == "block" else "allow"
        policy_actions.record(conn, coop_id, decision_id, params["domain"], policy)
        return f"{policy} {params['domain']}: waiting for an admin to apply it"
    return "recorded"
