"""The cache of memberships checked against a remote coop's own affiliations collection.

Showing that a person belongs to a coop on another instance costs fetches (the coop's
collection, its key) and a signature check; the result, positive or not, is kept per
(coop, person) with the time it was made, and reused until it is older than the caller's
limit. A local coop's memberships are never cached here: our own table is the truth.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime

from fedcoop import clock


@dataclass(frozen=True)
class AffiliationCheck:
    coop_uri: str
    subject_uri: str
    role: str | None
    verified: bool
    reason: str
    checked_at: str

    def fresh_at(self, moment: datetime, max_age_seconds: float) -> bool:
        age = (moment - clock.parse_iso(self.checked_at)).total_seconds()
        return 0 <= age <= max_age_seconds


def get_check(conn: sqlite3.Connection, coop_uri: str, subject_uri: str) -> AffiliationCheck | None:
    row = conn.execute(
        "SELECT * FROM affiliation_checks WHERE coop_uri = ? AND subject_uri = ?",
        (coop_uri, subject_uri),
    ).fetchone()
    if row is None:
        return None
    return AffiliationCheck(
        row["coop_uri"],
        row["subject_uri"],
        row["role"],
        bool(row["verified"]),
        row["reason"],
        row["checked_at"],
    )


def record_check(
    conn: sqlite3.Connection,
    coop_uri: str,
    subject_uri: str,
    *,
    role: str | None,
    verified: bool,
    reason: str,
    now: datetime,
) -> AffiliationCheck:
    conn.execute(
        "INSERT INTO affiliation_checks (coop_uri, subject_uri, role, verified, reason, "
        "checked_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (coop_uri, subject_uri) DO UPDATE SET "
        "role = excluded.role, verified = excluded.verified, reason = excluded.reason, "
        "checked_at = excluded.checked_at",
        (coop_uri, subject_uri, role, int(verified), reason[:200], clock.iso(now)),
    )
    found = get_check(conn, coop_uri, subject_uri)
    assert found is not None
    return found


def forget(conn: sqlite3.Connection, coop_uri: str, subject_uri: str) -> None:
    """Drop a cached result (the coop just told us the membership changed)."""
    conn.execute(
        "DELETE FROM affiliation_checks WHERE coop_uri = ? AND subject_uri = ?",
        (coop_uri, subject_uri),
    )
