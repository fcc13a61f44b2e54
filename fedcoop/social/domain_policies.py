"""Federation policy rows: which domains are blocked, and which are allowed in allowlist mode.

Domains arrive here already normalised (`fedcoop.activitypub.hosts`, applied by the callers in
the federation layer and the admin commands), so a row is found by plain equality.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Final

from fedcoop import clock

POLICIES: Final = ("block", "allow")


@dataclass(frozen=True)
class DomainPolicy:
    domain: str
    policy: str
    reason: str
    created_at: str


def _from_row(row: sqlite3.Row) -> DomainPolicy:
    return DomainPolicy(row["domain"], row["policy"], row["reason"], row["created_at"])


def list_policies(conn: sqlite3.Connection) -> list[DomainPolicy]:
    rows = conn.execute(
        "SELECT domain, policy, reason, created_at FROM domain_policies ORDER BY policy, domain"
    ).fetchall()
    return [_from_row(r) for r in rows]


def get_policy(conn: sqlite3.Connection, domain: str) -> DomainPolicy | None:
    row = conn.execute(
        "SELECT domain, policy, reason, created_at FROM domain_policies WHERE domain = ?",
        (domain,),
    ).fetchone()
    return _from_row(row) if row else None


def set_policy(
    conn: sqlite3.Connection, domain: str, policy: str, reason: str = ""
) -> DomainPolicy:
    """Block or allow `domain`; a domain holds one policy, so this replaces any earlier one."""
    if policy not in POLICIES:
        raise ValueError(f"unknown domain policy {policy!r}")
    conn.execute(
        "INSERT INTO domain_policies (domain, policy, reason, created_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (domain) DO UPDATE SET policy = excluded.policy, reason = excluded.reason, "
        "created_at = excluded.created_at",
        (domain, policy, reason, clock.now_iso()),
    )
    found = get_policy(conn, domain)
    assert found is not None
    return found


def remove_policy(conn: sqlite3.Connection, domain: str, policy: str) -> bool:
    """Remove `domain`'s row if it holds `policy`; False when there was none."""
    cursor = conn.execute(
        "DELETE FROM domain_policies WHERE domain = ? AND policy = ?", (domain, policy)
    )
    return cursor.rowcount > 0
