from __future__ import annotations

import sqlite3
from datetime import timedelta

import pytest

from fedcoop import clock
from fedcoop.db.jobs import IllegalTransition, StateGraph, claim, transition


class Light(StateGraph):
    name = "light"
    initial = "red"
    transitions = {
        "red": frozenset({"green"}),
        "green": frozenset({"red", "off"}),
        "off": frozenset(),
    }


def test_declared_graph_checks_transitions() -> None:
    Light.check("red", "green")
    with pytest.raises(IllegalTransition):
        Light.check("red", "off")
    assert Light.terminal() == {"off"}


def test_bad_graphs_fail_at_definition() -> None:
    with pytest.raises(TypeError, match="not declared"):

        class Broken(StateGraph):
            name = "b"
            initial = "a"
            transitions = {"a": frozenset({"z"})}

    with pytest.raises(TypeError, match="unreachable"):

        class Island(StateGraph):
            name = "i"
            initial = "a"
            transitions = {"a": frozenset(), "b": frozenset()}


def _table() -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:")
    conn.row_factory = sqlite3.Row
    conn.execute(
        "CREATE TABLE jobs (id TEXT PRIMARY KEY, state TEXT, attempts INT DEFAULT 0, "
        "next_attempt_at TEXT, locked_until TEXT)"
    )
    return conn


def test_transition_only_moves_rows_still_in_the_old_state() -> None:
    conn = _table()
    conn.execute("INSERT INTO jobs (id, state, next_attempt_at) VALUES ('1', 'red', '')")
    assert transition(conn, "jobs", "1", Light, "red", "green")
    assert not transition(conn, "jobs", "1", Light, "red", "green")  # someone else moved it
    with pytest.raises(IllegalTransition):
        transition(conn, "jobs", "1", Light, "green", "green")


def test_claim_locks_rows_until_the_lock_expires() -> None:
    conn = _table()
    now = clock.now()
    for i in range(3):
        conn.execute(
            "INSERT INTO jobs (id, state, next_attempt_at) VALUES (?, 'red', ?)",
            (str(i), clock.iso(now - timedelta(seconds=1))),
        )
    conn.execute(
        "INSERT INTO jobs (id, state, next_attempt_at) VALUES ('later', 'red', ?)",
        (clock.iso(now + timedelta(hours=1)),),
    )
    first = claim(conn, "jobs", "red", limit=2, lock_seconds=30, now=now)
    assert [r["id"] for r in first] == ["0", "1"]
    second = claim(conn, "jobs", "red", limit=10, lock_seconds=30, now=now)
    assert [r["id"] for r in second] == ["2"]
    assert claim(conn, "jobs", "red", limit=10, lock_seconds=30, now=now) == []
    after_lock = claim(
        conn, "jobs", "red", limit=10, lock_seconds=30, now=now + timedelta(seconds=31)
    )
    assert [r["id"] for r in after_lock] == ["0", "1", "2"]
    assert after_lock[0]["attempts"] == 2
