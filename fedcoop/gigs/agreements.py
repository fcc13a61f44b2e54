"""Agreements: what an accepted application becomes, held identically by both instances.

active -> delivered (the worker records completion) -> completed (delivered and paid);
cancelled or disputed on the way. Accepting checks the gig's remaining capacity inside the
same write transaction, so two acceptances racing for the last slot give one agreement and
one rejection. Terms are copied from the gig and the application at acceptance and never
change afterwards.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from decimal import Decimal

from fedcoop import clock, ids
from fedcoop.errors import Conflict, Forbidden, NotFound
from fedcoop.gigs import money
from fedcoop.gigs.applications import (
    Application,
    _move,
    mark_remote_decision,
    require_application,
)
from fedcoop.gigs.notices import notify
from fedcoop.gigs.offers import refresh_fill_state, require_gig
from fedcoop.gigs.states import AgreementStates
from fedcoop.social import events
from fedcoop.uris import Uris


@dataclass(frozen=True)
class Agreement:
    id: str
    uri: str
    local: bool
    gig_id: str | None
    gig_uri: str
    application_id: str | None
    offer_uri: str | None
    accept_uri: str | None
    poster_id: str
    worker_id: str
    quantity: Decimal
    unit: str
    amount: Decimal
    currency: str
    starts_at: str | None
    ends_at: str | None
    state: str
    paid: bool
    completion_uri: str | None
    payment_uri: str | None
    receipt_uri: str | None
    delivered_at: str | None
    paid_at: str | None
    completed_at: str | None
    created_at: str
    updated_at: str

    def terms(self) -> dict[str, str | None]:
        """What both sides must agree on, in wire form."""
        return {
            "uri": self.uri,
            "gig_uri": self.gig_uri,
            "quantity": money.to_text(self.quantity),
            "unit": self.unit,
            "amount": money.to_text(self.amount),
            "currency": self.currency,
            "starts_at": self.starts_at,
            "ends_at": self.ends_at,
        }


def _from_row(row: sqlite3.Row) -> Agreement:
    return Agreement(
        id=row["id"],
        uri=row["uri"],
        local=bool(row["local"]),
        gig_id=row["gig_id"],
        gig_uri=row["gig_uri"],
        application_id=row["application_id"],
        offer_uri=row["offer_uri"],
        accept_uri=row["accept_uri"],
        poster_id=row["poster_id"],
        worker_id=row["worker_id"],
        quantity=Decimal(row["quantity"]),
        unit=row["unit"],
        amount=Decimal(row["amount"]),
        currency=row["currency"],
        starts_at=row["starts_at"],
        ends_at=row["ends_at"],
        state=row["state"],
        paid=bool(row["paid"]),
        completion_uri=row["completion_uri"],
        payment_uri=row["payment_uri"],
        receipt_uri=row["receipt_uri"],
        delivered_at=row["delivered_at"],
        paid_at=row["paid_at"],
        completed_at=row["completed_at"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def get_agreement(conn: sqlite3.Connection, agreement_id: str) -> Agreement | None:
    row = conn.execute("SELECT * FROM agreements WHERE id = ?", (agreement_id,)).fetchone()
    return _from_row(row) if row else None


def get_agreement_by_uri(conn: sqlite3.Connection, uri: str) -> Agreement | None:
    row = conn.execute("SELECT * FROM agreements WHERE uri = ?", (uri.split("#")[0],)).fetchone()
    return _from_row(row) if row else None


def require_agreement(conn: sqlite3.Connection, agreement_id: str) -> Agreement:
    agreement = get_agreement(conn, agreement_id)
    if agreement is None:
        raise NotFound("no such agreement")
    return agreement


@dataclass(frozen=True)
class AcceptOutcome:
    """Either an agreement, or the application was rejected for lack of capacity."""

    application: Application
    agreement: Agreement | None

    @property
    def accepted(self) -> bool:
        return self.agreement is not None


def accept(
    conn: sqlite3.Connection, uris: Uris, application_id: str, poster_id: str
) -> AcceptOutcome:
    """The poster accepts; capacity is checked in this transaction. When nothing is left the
    application is rejected instead (a Reject is published), never a second agreement."""
    application = require_application(conn, application_id)
    gig = require_gig(conn, application.gig_id)
    if gig.poster_id != poster_id:
        raise Forbidden("only the poster can accept an application")
    if not gig.local:
        raise Forbidden("only the gig's own instance accepts applications")
    if application.state != "pending":
        raise Conflict(f"this application is already {application.state}")
    if application.quantity is None or application.amount is None:
        raise Conflict(
            "this application has no terms yet: ask the applicant for a quantity", field="quantity"
        )
    if gig.state != "open" or application.quantity > gig.remaining:
        rejected = _move(conn, application, "rejected", "no capacity left")
        events.emit(conn, "application.rejected", poster_id, application.id)
        notify(
            conn,
            application.worker_id,
            "application_rejected",
            from_actor_id=poster_id,
            subject_uri=application.uri,
            payload={"gig_id": gig.id, "reason": "no capacity left"},
        )
        return AcceptOutcome(rejected, None)
    accepted = _move(conn, application, "accepted")
    agreement_id = ids.new_id()
    uri = uris.object("agreements", agreement_id)
    _insert(
        conn,
        agreement_id=agreement_id,
        uri=uri,
        local=True,
        gig_id=gig.id,
        gig_uri=gig.uri,
        application_id=application.id,
        offer_uri=application.uri,
        accept_uri=uris.object("activities", agreement_id) + "/accept",
        poster_id=poster_id,
        worker_id=application.worker_id,
        quantity=application.quantity,
        unit=gig.unit,
        amount=application.amount,
        currency=gig.currency,
        starts_at=gig.starts_at,
        ends_at=gig.ends_at,
    )
    refresh_fill_state(conn, gig.id, emit_as=poster_id)
    events.emit(
        conn, "application.accepted", poster_id, application.id, {"agreement_id": agreement_id}
    )
    notify(
        conn,
        application.worker_id,
        "application_accepted",
        from_actor_id=poster_id,
        subject_uri=uri,
        payload={"gig_id": gig.id, "agreement_id": agreement_id},
    )
    return AcceptOutcome(accepted, require_agreement(conn, agreement_id))


def _insert(
    conn: sqlite3.Connection,
    *,
    agreement_id: str,
    uri: str,
    local: bool,
    gig_id: str | None,
    gig_uri: str,
    application_id: str | None,
    offer_uri: str | None,
    accept_uri: str | None,
    poster_id: str,
    worker_id: str,
    quantity: Decimal,
    unit: str,
    amount: Decimal,
    currency: str,
    starts_at: str | None,
    ends_at: str | None,
) -> None:
    now = clock.now_iso()
    conn.execute(
        """INSERT INTO agreements (id, uri, local, gig_id, gig_uri, application_id, offer_uri,
               accept_uri, poster_id, worker_id, quantity, unit, amount, currency, starts_at,
               ends_at, state, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        (
            agreement_id,
            uri,
            int(local),
            gig_id,
            gig_uri,
            application_id,
            offer_uri,
            accept_uri,
            poster_id,
            worker_id,
            money.to_text(quantity),
            unit,
            money.to_text(amount),
            currency,
            starts_at,
            ends_at,
            AgreementStates.initial,
            now,
            now,
        ),
    )


def store_remote_agreement(
    conn: sqlite3.Connection,
    *,
    uri: str,
    offer_uri: str,
    accept_uri: str,
    poster_id: str,
    worker_id: str,
    quantity: Decimal,
    amount: Decimal,
    starts_at: str | None,
    ends_at: str | None,
) -> Agreement:
    """The poster's instance accepted our worker's Offer: keep the same agreement here. The
    quantities must equal the Offer's (the caller passes what the Accept's result says)."""
    existing = get_agreement_by_uri(conn, uri)
    if existing is not None:
        return existing
    application = conn.execute("SELECT id FROM applications WHERE uri = ?", (offer_uri,)).fetchone()
    if application is None:
        raise NotFound("no Offer of ours has that id")
    app = require_application(conn, application[0])
    if app.quantity != quantity or app.amount != amount:
        raise Conflict("the agreement's quantities differ from the Offer's")
    gig = require_gig(conn, app.gig_id)
    if gig.poster_id != poster_id or app.worker_id != worker_id:
        raise Forbidden("the agreement's parties do not match the Offer")
    mark_remote_decision(conn, offer_uri, poster_id, "accepted")
    agreement_id = ids.new_id()
    _insert(
        conn,
        agreement_id=agreement_id,
        uri=uri,
        local=False,
        gig_id=gig.id,
        gig_uri=gig.uri,
        application_id=app.id,
        offer_uri=offer_uri,
        accept_uri=accept_uri,
        poster_id=poster_id,
        worker_id=worker_id,
        quantity=quantity,
        unit=gig.unit,
        amount=amount,
        currency=gig.currency,
        starts_at=starts_at,
        ends_at=ends_at,
    )
    return require_agreement(conn, agreement_id)


def _set(
    conn: sqlite3.Connection, agreement: Agreement, new_state: str, **fields: object
) -> Agreement:
    if agreement.state != new_state:
        AgreementStates.check(agreement.state, new_state)
    assignments = ", ".join(["state = ?", "updated_at = ?", *(f"{k} = ?" for k in fields)])
    conn.execute(
        f"UPDATE agreements SET {assignments} WHERE id = ?",
        (new_state, clock.now_iso(), *fields.values(), agreement.id),
    )
    return require_agreement(conn, agreement.id)


def record_completion(
    conn: sqlite3.Connection,
    uris: Uris,
    agreement_id: str,
    worker_id: str,
    *,
    completion_uri: str | None = None,
) -> Agreement:
    """The worker says the service was delivered (an EconomicEvent fulfilling #primary)."""
    agreement = require_agreement(conn, agreement_id)
    if agreement.worker_id != worker_id:
        raise Forbidden("only the worker records completion")
    if agreement.state == "delivered" or agreement.completion_uri:
        return agreement
    now = clock.now_iso()
    uri = completion_uri or uris.object("events", ids.new_id())
    done = _set(conn, agreement, "delivered", delivered_at=now, completion_uri=uri)
    if completion_uri is None:
        events.emit(conn, "agreement.completion", worker_id, agreement.id)
    notify(
        conn,
        agreement.poster_id,
        "agreement_completion",
        from_actor_id=worker_id,
        subject_uri=agreement.uri,
    )
    return _maybe_complete(conn, uris, done, actor_id=agreement.poster_id)


def record_payment(
    conn: sqlite3.Connection,
    uris: Uris,
    agreement_id: str,
    payer_id: str,
    *,
    payment_uri: str | None = None,
) -> Agreement:
    """The poster records that it paid (an EconomicEvent transferring, fulfilling #reciprocal)."""
    agreement = require_agreement(conn, agreement_id)
    if agreement.poster_id != payer_id:
        raise Forbidden("only the poster records payment")
    if agreement.paid:
        return agreement
    if agreement.state in ("cancelled", "completed"):
        raise Conflict(f"this agreement is {agreement.state}")
    now = clock.now_iso()
    uri = payment_uri or uris.object("events", ids.new_id())
    conn.execute(
        "UPDATE agreements SET paid = 1, paid_at = ?, payment_uri = ?, updated_at = ? WHERE id = ?",
        (now, uri, now, agreement.id),
    )
    if payment_uri is None:
        events.emit(conn, "agreement.payment", payer_id, agreement.id)
    notify(
        conn,
        agreement.worker_id,
        "agreement_payment",
        from_actor_id=payer_id,
        subject_uri=agreement.uri,
    )
    return _maybe_complete(conn, uris, require_agreement(conn, agreement.id), actor_id=payer_id)


def _maybe_complete(
    conn: sqlite3.Connection, uris: Uris, agreement: Agreement, *, actor_id: str
) -> Agreement:
    """Delivered and paid: completed. The poster's instance publishes the receipt (FEP-0837:
    the proposing party MUST publish a confirmation)."""
    if agreement.state != "delivered" or not agreement.paid:
        return agreement
    receipt = uris.object("receipts", agreement.id) if agreement.local else agreement.receipt_uri
    done = _set(conn, agreement, "completed", completed_at=clock.now_iso(), receipt_uri=receipt)
    if agreement.local:
        events.emit(conn, "agreement.receipt", agreement.poster_id, agreement.id)
    return done


def record_receipt(
    conn: sqlite3.Connection, agreement_uri: str, poster_id: str, receipt_uri: str
) -> Agreement | None:
    """The poster's receipt arrived on the worker's side."""
    agreement = get_agreement_by_uri(conn, agreement_uri)
    if agreement is None:
        return None
    if agreement.poster_id != poster_id:
        raise Forbidden("only the poster issues the receipt")
    conn.execute(
        "UPDATE agreements SET receipt_uri = ?, updated_at = ? WHERE id = ?",
        (receipt_uri, clock.now_iso(), agreement.id),
    )
    if agreement.state == "delivered" and agreement.paid:
        _set(conn, agreement, "completed", completed_at=clock.now_iso())
    notify(
        conn,
        agreement.worker_id,
        "agreement_receipt",
        from_actor_id=poster_id,
        subject_uri=agreement.uri,
    )
    return require_agreement(conn, agreement.id)


def change_status(
    conn: sqlite3.Connection,
    agreement_id: str,
    actor_id: str,
    new_state: str,
    *,
    from_remote: bool = False,
) -> Agreement:
    """Cancel or dispute (either party); a cancellation gives the capacity back."""
    if new_state not in ("cancelled", "disputed", "active"):
        raise Conflict(f"cannot set an agreement to {new_state} directly")
    agreement = require_agreement(conn, agreement_id)
    if actor_id not in (agreement.poster_id, agreement.worker_id):
        raise Forbidden("only the parties can change an agreement")
    if agreement.state == new_state:
        return agreement
    done = _set(conn, agreement, new_state)
    if agreement.gig_id and agreement.local and new_state == "cancelled":
        refresh_fill_state(conn, agreement.gig_id, emit_as=agreement.poster_id, force_event=True)
    if not from_remote:
        events.emit(conn, "agreement.status", actor_id, agreement.id, {"status": new_state})
    other = agreement.worker_id if actor_id == agreement.poster_id else agreement.poster_id
    notify(
        conn,
        other,
        "agreement_status",
        from_actor_id=actor_id,
        subject_uri=agreement.uri,
        payload={"status": new_state},
    )
    return done


def agreements_of(conn: sqlite3.Connection, actor_id: str, *, limit: int = 100) -> list[Agreement]:
    rows = conn.execute(
        "SELECT * FROM agreements WHERE poster_id = ? OR worker_id = ? ORDER BY id DESC LIMIT ?",
        (actor_id, actor_id, limit),
    ).fetchall()
    return [_from_row(r) for r in rows]
