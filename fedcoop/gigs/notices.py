"""Marketplace notifications, stored per local account (a remote party is told by federation).

Kinds: application (new), application_accepted, application_rejected, application_withdrawn,
agreement_status, agreement_completion, agreement_payment, agreement_receipt.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from typing import Any

from fedcoop import clock, ids

KINDS = frozenset(
    {
        "application",
        "application_accepted",
        "application_rejected",
        "application_withdrawn",
        "agreement_status",
        "agreement_completion",
        "agreement_payment",
        "agreement_receipt",
    }
)


def notify(
    conn: sqlite3.Connection,
    actor_id: str,
    kind: str,
    *,
    from_actor_id: str | None,
    subject_uri: str,
    payload: Mapping[str, Any] | None = None,
) -> str | None:
    """Store a notification if `actor_id` is a local account; returns its id, or None."""
    if kind not in KINDS:
        raise ValueError(f"unknown notification kind {kind!r}")
    row = conn.execute("SELECT id FROM accounts WHERE actor_id = ?", (actor_id,)).fetchone()
    if row is None:
        return None
    notification_id = ids.new_id()
    conn.execute(
        "INSERT INTO notifications (id, account_id, kind, from_actor_id, subject_uri, payload, "
        "created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            notification_id,
            row[0],
            kind,
            from_actor_id,
            subject_uri,
            json.dumps(dict(payload or {})),
            clock.now_iso(),
        ),
    )
    return notification_id
