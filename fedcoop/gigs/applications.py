"""Applications to gigs: pending -> accepted | rejected | withdrawn.

A worker applies with a quantity (a whole number of units when the gig is unit-based); the
amount is the price per unit times the number of units, exactly. A reply to a gig's companion
Note from a Mastodon user becomes an application without structured terms, which the poster
completes by hand (the poster is told so).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from decimal import Decimal

from fedcoop import clock, ids
from fedcoop.errors import Conflict, Forbidden, NotFound, ValidationError
from fedcoop.gigs import money
from fedcoop.gigs.notices import notify
from fedcoop.gigs.offers import Gig, require_gig
from fedcoop.gigs.states import ApplicationStates
from fedcoop.social import events
from fedcoop.uris import Uris

MAX_COVER_NOTE = 5000


@dataclass(frozen=True)
class Application:
    id: str
    uri: str
    gig_id: str
    worker_id: str
    quantity: Decimal | None
    amount: Decimal | None
    cover_note: str
    structured: bool
    reply_note_uri: str | None
    state: str
    reason: str | None
    created_at: str
    updated_at: str


def _from_row(row: sqlite3.Row) -> Application:
    return Application(
        id=row["id"],
        uri=row["uri"],
        gig_id=row["gig_id"],
        worker_id=row["worker_id"],
        quantity=Decimal(row["quantity"]) if row["quantity"] is not None else None,
        amount=Decimal(row["amount"]) if row["amount"] is not None else None,
        cover_note=row["cover_note"],
        structured=bool(row["structured"]),
        reply_note_uri=row["reply_note_uri"],
        state=row["state"],
        reason=row["reason"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def get_application(conn: sqlite3.Connection, application_id: str) -> Application | None:
    row = conn.execute("SELECT * FROM applications WHERE id = ?", (application_id,)).fetchone()
    return _from_row(row) if row else None


def get_application_by_uri(conn: sqlite3.Connection, uri: str) -> Application | None:
    row = conn.execute("SELECT * FROM applications WHERE uri = ?", (uri,)).fetchone()
    return _from_row(row) if row else None


def require_application(conn: sqlite3.Connection, application_id: str) -> Application:
    application = get_application(conn, application_id)
    if application is None:
        raise NotFound("no such application")
    return application


def check_quantity(gig: Gig, quantity: Decimal) -> Decimal:
    """The amount owed for `quantity`, or a ValidationError naming what is wrong."""
    if quantity <= 0:
        raise ValidationError("must be more than zero", field="quantity")
    if gig.unit_based and not money.is_whole_multiple(quantity, gig.unit_quantity):
        raise ValidationError(f"must be a whole number of {gig.unit}s", field="quantity")
    if quantity < gig.minimum:
        raise ValidationError(
            f"the minimum is {money.to_text(gig.minimum)} {gig.unit}(s)", field="quantity"
        )
    if quantity > gig.remaining:
        raise Conflict(f"only {money.to_text(gig.remaining)} {gig.unit}(s) left", field="quantity")
    return gig.amount_for(quantity)


def apply(
    conn: sqlite3.Connection,
    uris: Uris,
    *,
    gig_id: str,
    worker_id: str,
    quantity: Decimal | None,
    cover_note: str = "",
    offered_amount: Decimal | None = None,
    offer_uri: str | None = None,
    reply_note_uri: str | None = None,
) -> Application:
    """Record an application. `offer_uri` is set when it arrived from another instance (the
    Offer's id); otherwise it is a local worker's, and an Offer is published if the gig is
    remote. `quantity` None means a reply without structured terms."""
    gig = require_gig(conn, gig_id)
    if gig.state != "open":
        raise Conflict("this gig is not open for applications", field="gig")
    if gig.poster_id == worker_id:
        raise Forbidden("you cannot apply to your own gig")
    if len(cover_note) > MAX_COVER_NOTE:
        raise ValidationError(f"at most {MAX_COVER_NOTE} characters", field="cover_note")
    amount = None
    if quantity is not None:
        amount = check_quantity(gig, quantity)
        if offered_amount is not None and offered_amount != amount:
            raise ValidationError(
                f"the amount must be {money.to_text(amount)} for {money.to_text(quantity)} "
                f"{gig.unit}(s)",
                field="amount",
            )
    pending = conn.execute(
        "SELECT 1 FROM applications WHERE gig_id = ? AND worker_id = ? AND state = 'pending'",
        (gig_id, worker_id),
    ).fetchone()
    if pending:
        raise Conflict("you already have a pending application for this gig")
    application_id = ids.new_id()
    uri = offer_uri or uris.object("applications", application_id)
    now = clock.now_iso()
    conn.execute(
        "INSERT INTO applications (id, uri, gig_id, worker_id, quantity, amount, cover_note, "
        "structured, reply_note_uri, state, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            application_id,
            uri,
            gig_id,
            worker_id,
            money.to_text(quantity) if quantity is not None else None,
            money.to_text(amount) if amount is not None else None,
            cover_note,
            int(quantity is not None),
            reply_note_uri,
            ApplicationStates.initial,
            now,
            now,
        ),
    )
    if offer_uri is None and not gig.local:
        events.emit(conn, "application.offered", worker_id, application_id)
    notify(
        conn,
        gig.poster_id,
        "application",
        from_actor_id=worker_id,
        subject_uri=uri,
        payload={"gig_id": gig.id, "structured": quantity is not None},
    )
    return require_application(conn, application_id)


def _move(
    conn: sqlite3.Connection, application: Application, new_state: str, reason: str | None = None
) -> Application:
    if application.state != "pending":
        raise Conflict(f"this application is already {application.state}")
    ApplicationStates.check(application.state, new_state)
    now = clock.now_iso()
    conn.execute(
        "UPDATE applications SET state = ?, reason = ?, decided_at = ?, updated_at = ? "
        "WHERE id = ? AND state = 'pending'",
        (new_state, reason, now, now, application.id),
    )
    return require_application(conn, application.id)


def withdraw(conn: sqlite3.Connection, application_id: str, worker_id: str) -> Application:
    application = require_application(conn, application_id)
    if application.worker_id != worker_id:
        raise Forbidden("only the applicant can withdraw an application")
    done = _move(conn, application, "withdrawn")
    gig = require_gig(conn, application.gig_id)
    if not gig.local:
        events.emit(conn, "application.withdrawn", worker_id, application_id)
    notify(
        conn,
        gig.poster_id,
        "application_withdrawn",
        from_actor_id=worker_id,
        subject_uri=application.uri,
        payload={"gig_id": gig.id},
    )
    return done


def reject(
    conn: sqlite3.Connection, application_id: str, poster_id: str, reason: str = ""
) -> Application:
    application = require_application(conn, application_id)
    gig = require_gig(conn, application.gig_id)
    if gig.poster_id != poster_id:
        raise Forbidden("only the poster can reject an application")
    done = _move(conn, application, "rejected", reason)
    if gig.local:
        events.emit(conn, "application.rejected", poster_id, application_id)
    notify(
        conn,
        application.worker_id,
        "application_rejected",
        from_actor_id=poster_id,
        subject_uri=application.uri,
        payload={"gig_id": gig.id, "reason": reason},
    )
    return done


def mark_remote_decision(
    conn: sqlite3.Connection, offer_uri: str, poster_id: str, new_state: str, reason: str = ""
) -> Application | None:
    """The remote poster accepted or rejected one of our workers' Offers."""
    application = get_application_by_uri(conn, offer_uri)
    if application is None:
        return None
    gig = require_gig(conn, application.gig_id)
    if gig.poster_id != poster_id:
        raise Forbidden("only the poster can decide on an application")
    if application.state == new_state:
        return application
    done = _move(conn, application, new_state, reason or None)
    kind = "application_accepted" if new_state == "accepted" else "application_rejected"
    notify(
        conn,
        application.worker_id,
        kind,
        from_actor_id=poster_id,
        subject_uri=application.uri,
        payload={"gig_id": gig.id, "reason": reason},
    )
    return done


def applications_for_gig(conn: sqlite3.Connection, gig_id: str) -> list[Application]:
    rows = conn.execute(
        "SELECT * FROM applications WHERE gig_id = ? ORDER BY id DESC", (gig_id,)
    ).fetchall()
    return [_from_row(r) for r in rows]


def applications_by_worker(
    conn: sqlite3.Connection, worker_id: str, *, limit: int = 100
) -> list[Application]:
    rows = conn.execute(
        "SELECT * FROM applications WHERE worker_id = ? ORDER BY id DESC LIMIT ?",
        (worker_id, limit),
    ).fetchall()
    return [_from_row(r) for r in rows]


def applications_received(
    conn: sqlite3.Connection, poster_id: str, *, limit: int = 100
) -> list[Application]:
    rows = conn.execute(
        "SELECT applications.* FROM applications JOIN gigs ON gigs.id = applications.gig_id "
        "WHERE gigs.poster_id = ? ORDER BY applications.id DESC LIMIT ?",
        (poster_id, limit),
    ).fetchall()
    return [_from_row(r) for r in rows]
