"""Durable jobs with declared state graphs (Takahē's Stator, kept in SQLite rows).

Every durable job or lifecycle row (inbox item, delivery, event, gig, application, agreement,
membership, vote) has a `state` column whose allowed transitions are declared once, on a
`StateGraph` subclass, and checked when the class is defined: exactly one initial state,
every target declared, terminal states have no way out. `transition()` refuses an undeclared
move and only moves a row that is still in the state the caller saw, so two workers cannot
both win. Job rows also carry `attempts`, `next_attempt_at`, `locked_until` and
`last_error`; `claim()` takes ready rows with one `UPDATE … RETURNING`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, ClassVar

from fedcoop import clock


class IllegalTransition(Exception):
    """A state change that the row's graph does not declare."""


class StateGraph:
    """Subclass with `initial` and `transitions` (state -> states reachable from it)."""

    name: ClassVar[str]
    initial: ClassVar[str]
    transitions: ClassVar[Mapping[str, frozenset[str]]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        states = set(cls.transitions)
        if cls.initial not in states:
            raise TypeError(f"{cls.__name__}: initial state {cls.initial!r} is not declared")
        for source, targets in cls.transitions.items():
            unknown = set(targets) - states
            if unknown:
                raise TypeError(f"{cls.__name__}: {source} -> {sorted(unknown)} not declared")
        reachable = {cls.initial}
        frontier = [cls.initial]
        while frontier:
            for nxt in cls.transitions[frontier.pop()]:
                if nxt not in reachable:
                    reachable.add(nxt)
                    frontier.append(nxt)
        unreachable = states - reachable
        if unreachable:
            raise TypeError(f"{cls.__name__}: states {sorted(unreachable)} are unreachable")

    @classmethod
    def states(cls) -> frozenset[str]:
        return frozenset(cls.transitions)

    @classmethod
    def terminal(cls) -> frozenset[str]:
        return frozenset(s for s, targets in cls.transitions.items() if not targets)

    @classmethod
    def check(cls, old: str, new: str) -> None:
        if new not in cls.transitions.get(old, frozenset()):
            raise IllegalTransition(f"{cls.name}: {old} -> {new} is not allowed")


def transition(
    conn: sqlite3.Connection,
    table: str,
    row_id: str,
    graph: type[StateGraph],
    old: str,
    new: str,
    **fields: Any,
) -> bool:
    """Move one row from `old` to `new` (setting `fields` too); False if it had moved on."""
    graph.check(old, new)
    assignments = ", ".join(["state = ?", *(f"{k} = ?" for k in fields)])
    cur = conn.execute(
        f"UPDATE {table} SET {assignments} WHERE id = ? AND state = ?",
        (new, *fields.values(), row_id, old),
    )
    return cur.rowcount == 1


def claim(
    conn: sqlite3.Connection,
    table: str,
    state: str,
    *,
    limit: int,
    lock_seconds: float,
    now: datetime | None = None,
    columns: str = "*",
) -> list[sqlite3.Row]:
    """Lock up to `limit` rows in `state` whose time has come, oldest first.

    A claimed row is invisible to other claims until `locked_until` passes, so a worker that
    dies mid-job leaves the row to be picked up again after the lock expires.
    """
    moment = now or clock.now()
    now_s = clock.iso(moment)
    until = clock.iso(moment + timedelta(seconds=lock_seconds))
    rows = conn.execute(
        f"""UPDATE {table} SET locked_until = ?, attempts = attempts + 1
            WHERE id IN (
                SELECT id FROM {table}
                WHERE state = ? AND next_attempt_at <= ?
                  AND (locked_until IS NULL OR locked_until <= ?)
                ORDER BY next_attempt_at, id LIMIT ?)
            RETURNING {columns}""",
        (until, state, now_s, now_s, limit),
    ).fetchall()
    return sorted(rows, key=lambda r: (r["next_attempt_at"], r["id"]))
