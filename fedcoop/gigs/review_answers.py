"""Answers to reviews and reports about them.

The subject of a review may answer it once, publicly; anyone may report a review, and the
instance's moderators see the open reports.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime

from fedcoop import clock, ids
from fedcoop.errors import Conflict, Forbidden, NotFound, ValidationError
from fedcoop.gigs.reviews import (
    MAX_REPORT,
    MAX_TEXT,
    Reply,
    Report,
    get_reply,
    get_report,
    get_review_by_uri,
    reply_to,
    require_review,
)
from fedcoop.social import events
from fedcoop.uris import Uris


def answer_review(
    conn: sqlite3.Connection,
    uris: Uris,
    *,
    review_id: str,
    author_id: str,
    text: str,
    content: str,
    now: datetime | None = None,
) -> Reply:
    """The subject answers a published review in public (once). `content` is the HTML the
    caller rendered from `text`."""
    review = require_review(conn, review_id)
    if not review.published:
        raise NotFound("no such review")
    if review.subject_id != author_id:
        raise Forbidden("only the person reviewed can answer a review")
    text = text.strip()
    if not text or len(text) > MAX_TEXT:
        raise ValidationError(f"1 to {MAX_TEXT} characters", field="text")
    if reply_to(conn, review_id) is not None:
        raise Conflict("this review has been answered already")
    reply_id = ids.new_id()
    stamp = clock.iso(now or clock.now())
    conn.execute(
        "INSERT INTO review_replies (id, uri, review_id, author_id, text, content, local, "
        "published_at, created_at) VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?)",
        (
            reply_id,
            uris.object("review-replies", reply_id),
            review_id,
            author_id,
            text,
            content,
            stamp,
            stamp,
        ),
    )
    events.emit(conn, "review.replied", author_id, reply_id)
    found = get_reply(conn, reply_id)
    assert found is not None
    return found


def store_remote_reply(
    conn: sqlite3.Connection,
    *,
    review_uri: str,
    author_id: str,
    uri: str,
    content: str,
    published_at: str,
) -> Reply | None:
    """The subject of a review we hold answered it from their instance; None if it is not
    theirs to answer, or already answered."""
    review = get_review_by_uri(conn, review_uri)
    if review is None or review.subject_id != author_id or reply_to(conn, review.id):
        return None
    reply_id = ids.new_id()
    conn.execute(
        "INSERT OR IGNORE INTO review_replies (id, uri, review_id, author_id, content, local, "
        "published_at, created_at) VALUES (?, ?, ?, ?, ?, 0, ?, ?)",
        (reply_id, uri, review.id, author_id, content, published_at, clock.now_iso()),
    )
    return get_reply(conn, reply_id)


def report_review(
    conn: sqlite3.Connection, *, review_id: str, reporter_id: str, reason: str
) -> Report:
    """Someone finds a review abusive or false: kept for the moderators, and a `Flag` from
    the instance actor goes to the reviewer's instance when the reviewer is remote."""
    review = require_review(conn, review_id)
    if not review.published:
        raise NotFound("no such review")
    reason = reason.strip()
    if len(reason) > MAX_REPORT:
        raise ValidationError(f"at most {MAX_REPORT} characters", field="reason")
    report_id = ids.new_id()
    conn.execute(
        "INSERT INTO review_reports (id, review_id, reporter_id, reason, created_at) "
        "VALUES (?, ?, ?, ?, ?)",
        (report_id, review_id, reporter_id, reason, clock.now_iso()),
    )
    if not review.local:
        events.emit(conn, "review.reported", reporter_id, report_id)
    found = get_report(conn, report_id)
    assert found is not None
    return found


def open_reports(conn: sqlite3.Connection) -> list[Report]:
    rows = conn.execute(
        "SELECT * FROM review_reports WHERE state = 'open' ORDER BY id DESC"
    ).fetchall()
    return [
        Report(r["id"], r["review_id"], r["reporter_id"], r["reason"], r["state"], r["created_at"])
        for r in rows
    ]
