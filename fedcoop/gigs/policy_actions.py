"""Federation-policy actions decided by a coop's members, waiting for an admin to apply them.

A members' decision to federate with or block an instance does not change this instance's
federation policy by itself: the instance may host several coops, and its policy is the
instance's. The decision is recorded here as a `pending` action; an admin of the coop applies
it (one click on the coop's decisions page, or `POST …/policy-actions/{id}/apply` in the API),
which writes it through `fedcoop.social.domain_policies` (federate = an `allow` rule, which
also replaces a block of that domain), or dismisses it.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from fedcoop import clock, ids
from fedcoop.accounts.coops import get_coop_by_actor
from fedcoop.db.jobs import StateGraph, transition
from fedcoop.errors import Conflict, Forbidden, NotFound
from fedcoop.gigs import membership
from fedcoop.social import domain_policies

TABLE = "policy_actions"


class PolicyActionStates(StateGraph):
    name = "policy_action"
    initial = "pending"
    transitions = {
        "pending": frozenset({"applied", "dismissed"}),
        "applied": frozenset(),
        "dismissed": frozenset(),
    }


@dataclass(frozen=True)
class PolicyAction:
    id: str
    coop_actor_id: str
    decision_id: str
    domain: str
    policy: str  # block | allow
    state: str
    decided_by: str | None
    decided_at: str | None
    created_at: str

    @property
    def label(self) -> str:
        return f"{'Block' if self.policy == 'block' else 'Federate with'} {self.domain}"


def _action(row: sqlite3.Row | None) -> PolicyAction | None:
    if row is None:
        return None
    return PolicyAction(
        id=row["id"],
        coop_actor_id=row["coop_actor_id"],
        decision_id=row["decision_id"],
        domain=row["domain"],
        policy=row["policy"],
        state=row["state"],
        decided_by=row["decided_by"],
        decided_at=row["decided_at"],
        created_at=row["created_at"],
    )


def record(
    conn: sqlite3.Connection, coop_actor_id: str, decision_id: str, domain: str, policy: str
) -> PolicyAction:
    if policy not in domain_policies.POLICIES:
        raise ValueError(f"unknown policy {policy!r}")
    action_id = ids.new_id()
    conn.execute(
        "INSERT INTO policy_actions (id, coop_actor_id, decision_id, domain, policy, state, "
        "created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            action_id,
            coop_actor_id,
            decision_id,
            domain,
            policy,
            PolicyActionStates.initial,
            clock.now_iso(),
        ),
    )
    found = get_action(conn, action_id)
    assert found is not None
    return found


def get_action(conn: sqlite3.Connection, action_id: str) -> PolicyAction | None:
    return _action(
        conn.execute("SELECT * FROM policy_actions WHERE id = ?", (action_id,)).fetchone()
    )


def list_actions(
    conn: sqlite3.Connection, coop_actor_id: str, *, state: str | None = None
) -> list[PolicyAction]:
    where = "coop_actor_id = ?" + (" AND state = ?" if state else "")
    params = (coop_actor_id, state) if state else (coop_actor_id,)
    rows = conn.execute(
        f"SELECT * FROM policy_actions WHERE {where} ORDER BY id DESC", params
    ).fetchall()
    return [a for a in (_action(r) for r in rows) if a is not None]


def for_decision(conn: sqlite3.Connection, decision_id: str) -> PolicyAction | None:
    return _action(
        conn.execute(
            "SELECT * FROM policy_actions WHERE decision_id = ?", (decision_id,)
        ).fetchone()
    )


def _decide(
    conn: sqlite3.Connection, action_id: str, by_actor_id: str, new_state: str
) -> PolicyAction:
    action = get_action(conn, action_id)
    if action is None:
        raise NotFound("There is no such action.")
    coop = get_coop_by_actor(conn, action.coop_actor_id)
    if coop is None or not coop.actor.local:
        raise NotFound("There is no such action.")
    if not membership.is_admin(conn, action.coop_actor_id, by_actor_id):
        raise Forbidden("Only an admin of the cooperative can do this.")
    if action.state == new_state:
        return action
    if action.state != "pending":
        raise Conflict("This action was already decided.")
    moved = transition(
        conn,
        TABLE,
        action.id,
        PolicyActionStates,
        action.state,
        new_state,
        decided_by=by_actor_id,
        decided_at=clock.now_iso(),
    )
    if not moved:
        raise Conflict("This action was decided meanwhile.")
    found = get_action(conn, action.id)
    assert found is not None
    return found


def apply(conn: sqlite3.Connection, action_id: str, by_actor_id: str) -> PolicyAction:
    """Write the decided rule into the instance's federation policy (the caller then tells
    the running `Policy` to reload its rules)."""
    applied = _decide(conn, action_id, by_actor_id, "applied")
    coop = get_coop_by_actor(conn, applied.coop_actor_id)
    reason = f"decided by the members of {coop.title if coop else 'a cooperative'}"
    domain_policies.set_policy(conn, applied.domain, applied.policy, reason)
    return applied


def dismiss(conn: sqlite3.Connection, action_id: str, by_actor_id: str) -> PolicyAction:
    return _decide(conn, action_id, by_actor_id, "dismissed")
