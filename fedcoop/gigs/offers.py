"""Gigs: what a coop or a worker publishes (FEP-0837 Proposal), local and remote.

A gig has a unit (hour, day, task), a price per unit in an exact decimal and a currency, a
quantity available and a minimum. With `unit_based`, applications must ask for whole multiples
of the unit quantity. Remaining capacity is what is available minus what live agreements hold;
it is computed inside the write transaction that accepts an application.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from fedcoop import clock, ids
from fedcoop.errors import Conflict, Forbidden, NotFound, ValidationError
from fedcoop.gigs import money
from fedcoop.gigs.states import GigStates
from fedcoop.social import events
from fedcoop.uris import Uris

PURPOSES = ("request", "offer")
UNITS = ("hour", "day", "task")
VISIBILITIES = ("public", "followers", "members")
HOURS_PER_DAY = Decimal("8")  # for the pay-per-hour filter and sort only; documented
MAX_TITLE = 200
MAX_DESCRIPTION = 20_000
LIVE_AGREEMENT_STATES = ("active", "delivered", "completed", "disputed")


@dataclass(frozen=True)
class GigDraft:
    """Validated terms of a gig, from a form, the API or a remote Proposal."""

    purpose: str
    title: str
    description: str  # sanitised HTML (the caller sanitises; the domain never parses HTML)
    unit: str
    price: Decimal
    currency: str
    available: Decimal
    minimum: Decimal
    unit_quantity: Decimal = Decimal("1")
    unit_based: bool = True
    visibility: str = "public"
    remote: bool = False
    place_name: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    starts_at: str | None = None
    ends_at: str | None = None
    skills: tuple[str, ...] = field(default_factory=tuple)  # skill URIs

    def __post_init__(self) -> None:
        _check_choice(self.purpose, PURPOSES, "purpose")
        _check_choice(self.unit, UNITS, "unit")
        _check_choice(self.visibility, VISIBILITIES, "visibility")
        if not self.title.strip():
            raise ValidationError("a gig needs a title", field="title")
        if len(self.title) > MAX_TITLE:
            raise ValidationError(f"at most {MAX_TITLE} characters", field="title")
        if len(self.description) > MAX_DESCRIPTION:
            raise ValidationError(f"at most {MAX_DESCRIPTION} characters", field="description")
        if self.minimum > self.available:
            raise ValidationError("the minimum is more than what is available", field="minimum")
        if self.unit_based:
            for name, value in (("available", self.available), ("minimum", self.minimum)):
                if not money.is_whole_multiple(value, self.unit_quantity):
                    raise ValidationError(f"must be a whole number of {self.unit}s", field=name)
        if self.latitude is not None and not -90 <= self.latitude <= 90:
            raise ValidationError("latitude out of range", field="latitude")
        if self.longitude is not None and not -180 <= self.longitude <= 180:
            raise ValidationError("longitude out of range", field="longitude")
        if (self.latitude is None) != (self.longitude is None):
            raise ValidationError("give both latitude and longitude, or neither", field="latitude")
        if (
            self.starts_at
            and self.ends_at
            and _parse_time(self.ends_at, "ends_at") <= _parse_time(self.starts_at, "starts_at")
        ):
            raise ValidationError("the end is before the start", field="ends_at")


def _check_choice(value: str, choices: tuple[str, ...], name: str) -> None:
    if value not in choices:
        raise ValidationError(f"must be one of {', '.join(choices)}", field=name)


def _parse_time(value: str, name: str) -> datetime:
    try:
        return clock.parse_iso(value)
    except ValueError:
        raise ValidationError("not an ISO 8601 date and time", field=name) from None


@dataclass(frozen=True)
class Gig:
    id: str
    uri: str
    url: str | None
    note_uri: str | None
    local: bool
    poster_id: str
    coop_id: str | None
    purpose: str
    title: str
    description: str
    place_name: str | None
    latitude: float | None
    longitude: float | None
    remote: bool
    starts_at: str | None
    ends_at: str | None
    unit: str
    unit_quantity: Decimal
    price: Decimal
    currency: str
    available: Decimal
    minimum: Decimal
    unit_based: bool
    visibility: str
    state: str
    published_at: str
    updated_at: str
    deleted_at: str | None
    skills: tuple[str, ...]
    remaining: Decimal

    @property
    def is_open(self) -> bool:
        return self.state == "open"

    @property
    def primary_uri(self) -> str:
        return self.uri + "#primary"

    @property
    def reciprocal_uri(self) -> str:
        return self.uri + "#reciprocal"

    def amount_for(self, quantity: Decimal) -> Decimal:
        """The reciprocal amount for `quantity`: price per unit times the number of units."""
        return self.price * (quantity / self.unit_quantity)


def hourly_minor(price: Decimal, unit: str, unit_quantity: Decimal, currency: str) -> int | None:
    per_unit = price / unit_quantity
    if unit == "hour":
        return money.minor_units(per_unit, currency)
    if unit == "day":
        return money.minor_units(per_unit / HOURS_PER_DAY, currency)
    return None  # a per-task price says nothing about hours


def _row_to_gig(conn: sqlite3.Connection, row: sqlite3.Row) -> Gig:
    skills = tuple(
        r[0]
        for r in conn.execute(
            "SELECT skill_uri FROM gig_skills WHERE gig_id = ? ORDER BY skill_uri", (row["id"],)
        )
    )
    held = conn.execute(
        f"SELECT quantity FROM agreements WHERE gig_id = ? AND state IN "
        f"({','.join('?' * len(LIVE_AGREEMENT_STATES))})",
        (row["id"], *LIVE_AGREEMENT_STATES),
    ).fetchall()
    available = Decimal(row["available"])
    # A remote gig's origin publishes what is still available (other instances' agreements
    # are invisible here), so only a local gig subtracts the agreements that hold capacity.
    remaining = (
        (available - sum((Decimal(r[0]) for r in held), Decimal(0))) if row["local"] else available
    )
    return Gig(
        id=row["id"],
        uri=row["uri"],
        url=row["url"],
        note_uri=row["note_uri"],
        local=bool(row["local"]),
        poster_id=row["poster_id"],
        coop_id=row["coop_id"],
        purpose=row["purpose"],
        title=row["title"],
        description=row["description"],
        place_name=row["place_name"],
        latitude=row["latitude"],
        longitude=row["longitude"],
        remote=bool(row["remote"]),
        starts_at=row["starts_at"],
        ends_at=row["ends_at"],
        unit=row["unit"],
        unit_quantity=Decimal(row["unit_quantity"]),
        price=Decimal(row["price"]),
        currency=row["currency"],
        available=available,
        minimum=Decimal(row["minimum"]),
        unit_based=bool(row["unit_based"]),
        visibility=row["visibility"],
        state=row["state"],
        published_at=row["published_at"],
        updated_at=row["updated_at"],
        deleted_at=row["deleted_at"],
        skills=skills,
        remaining=max(remaining, Decimal(0)),
    )


def get_gig(conn: sqlite3.Connection, gig_id: str) -> Gig | None:
    row = conn.execute("SELECT * FROM gigs WHERE id = ?", (gig_id,)).fetchone()
    return _row_to_gig(conn, row) if row else None


def get_gig_by_uri(conn: sqlite3.Connection, uri: str) -> Gig | None:
    row = conn.execute("SELECT * FROM gigs WHERE uri = ?", (uri.split("#")[0],)).fetchone()
    return _row_to_gig(conn, row) if row else None


def get_gig_by_note_uri(conn: sqlite3.Connection, note_uri: str) -> Gig | None:
    row = conn.execute("SELECT * FROM gigs WHERE note_uri = ?", (note_uri,)).fetchone()
    return _row_to_gig(conn, row) if row else None


def require_gig(conn: sqlite3.Connection, gig_id: str) -> Gig:
    gig = get_gig(conn, gig_id)
    if gig is None or gig.deleted_at:
        raise NotFound("no such gig")
    return gig


def _write_terms(conn: sqlite3.Connection, gig_id: str, draft: GigDraft, skill_labels: str) -> None:
    conn.execute("DELETE FROM gig_skills WHERE gig_id = ?", (gig_id,))
    conn.executemany(
        "INSERT OR IGNORE INTO gig_skills (gig_id, skill_uri) VALUES (?, ?)",
        [(gig_id, s) for s in draft.skills],
    )
    rowid = conn.execute("SELECT rowid FROM gigs WHERE id = ?", (gig_id,)).fetchone()[0]
    conn.execute("DELETE FROM gigs_fts WHERE rowid = ?", (rowid,))
    conn.execute(
        "INSERT INTO gigs_fts (rowid, title, description, place_name, skills) VALUES (?, ?, ?, ?, ?)",
        (rowid, draft.title, _strip_tags(draft.description), draft.place_name or "", skill_labels),
    )


def _strip_tags(html: str) -> str:
    out, inside = [], False
    for ch in html:
        if ch == "<":
            inside = True
        elif ch == ">":
            inside = False
            out.append(" ")
        elif not inside:
            out.append(ch)
    return "".join(out)


def _skill_labels(conn: sqlite3.Connection, skills: tuple[str, ...]) -> str:
    if not skills:
        return ""
    rows = conn.execute(
        f"SELECT uri, label FROM skills WHERE uri IN ({','.join('?' * len(skills))})", skills
    ).fetchall()
    labels = {r[0]: r[1] for r in rows}
    return " ".join(
        labels.get(s, s.rstrip("/").rsplit("/", 1)[-1].replace("-", " ")) for s in skills
    )


def _draft_columns(draft: GigDraft) -> dict[str, Any]:
    """The gigs columns that hold a draft's terms, in their stored form."""
    return {
        "purpose": draft.purpose,
        "title": draft.title,
        "description": draft.description,
        "place_name": draft.place_name,
        "latitude": draft.latitude,
        "longitude": draft.longitude,
        "remote": int(draft.remote),
        "starts_at": draft.starts_at,
        "ends_at": draft.ends_at,
        "unit": draft.unit,
        "unit_quantity": money.to_text(draft.unit_quantity),
        "price": money.to_text(draft.price),
        "currency": draft.currency,
        "hourly_minor": hourly_minor(draft.price, draft.unit, draft.unit_quantity, draft.currency),
        "available": money.to_text(draft.available),
        "minimum": money.to_text(draft.minimum),
        "unit_based": int(draft.unit_based),
        "visibility": draft.visibility,
    }


def _update_terms(conn: sqlite3.Connection, gig_id: str, draft: GigDraft, **extra: Any) -> None:
    columns = {**_draft_columns(draft), **extra, "updated_at": clock.now_iso()}
    assignments = ", ".join(f"{name} = ?" for name in columns)
    conn.execute(f"UPDATE gigs SET {assignments} WHERE id = ?", (*columns.values(), gig_id))
    _write_terms(conn, gig_id, draft, _skill_labels(conn, draft.skills))


def _insert(
    conn: sqlite3.Connection,
    *,
    gig_id: str,
    uri: str,
    url: str | None,
    note_uri: str | None,
    local: bool,
    poster_id: str,
    coop_id: str | None,
    draft: GigDraft,
    published_at: str,
    state: str = GigStates.initial,
) -> None:
    now = clock.now_iso()
    columns = {
        "id": gig_id,
        "uri": uri,
        "url": url,
        "note_uri": note_uri,
        "local": int(local),
        "poster_id": poster_id,
        "coop_id": coop_id,
        **_draft_columns(draft),
        "state": state,
        "published_at": published_at,
        "updated_at": now,
        "created_at": now,
    }
    conn.execute(
        f"INSERT INTO gigs ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
        tuple(columns.values()),
    )
    _write_terms(conn, gig_id, draft, _skill_labels(conn, draft.skills))


def create_gig(
    conn: sqlite3.Connection, uris: Uris, *, poster_id: str, coop_id: str | None, draft: GigDraft
) -> Gig:
    """A local member (or the coop itself) posts a gig; its federation follows from the event."""
    gig_id = ids.new_id()
    uri = uris.object("gigs", gig_id)
    _insert(
        conn,
        gig_id=gig_id,
        uri=uri,
        url=uri,
        note_uri=uri + "/note",
        local=True,
        poster_id=poster_id,
        coop_id=coop_id,
        draft=draft,
        published_at=clock.now_iso(),
    )
    events.emit(conn, "gig.created", poster_id, gig_id)
    return require_gig(conn, gig_id)


def update_gig(conn: sqlite3.Connection, gig_id: str, editor_id: str, draft: GigDraft) -> Gig:
    """Edit an open gig. Terms that live agreements rely on cannot change (price, unit,
    currency); capacity can grow, or shrink down to what is already held."""
    gig = require_gig(conn, gig_id)
    if gig.poster_id != editor_id:
        raise Forbidden("only the poster can edit a gig")
    held = gig.available - gig.remaining
    if held > 0:
        if (draft.price, draft.unit, draft.currency, draft.unit_quantity) != (
            gig.price,
            gig.unit,
            gig.currency,
            gig.unit_quantity,
        ):
            raise Conflict("terms cannot change once an application was accepted", field="price")
        if draft.available < held:
            raise Conflict("less than what accepted agreements already hold", field="available")
    _update_terms(conn, gig_id, draft)
    refresh_fill_state(conn, gig_id, emit_as=editor_id, force_event=True)
    return require_gig(conn, gig_id)


def set_state(conn: sqlite3.Connection, gig_id: str, actor_id: str, new_state: str) -> Gig:
    """Close, reopen or withdraw a gig (only its poster)."""
    gig = require_gig(conn, gig_id)
    if gig.poster_id != actor_id:
        raise Forbidden("only the poster can change a gig")
    if gig.state == new_state:
        return gig
    GigStates.check(gig.state, new_state)
    now = clock.now_iso()
    deleted = now if new_state == "withdrawn" else None
    conn.execute(
        "UPDATE gigs SET state = ?, updated_at = ?, deleted_at = ? WHERE id = ?",
        (new_state, now, deleted, gig_id),
    )
    events.emit(
        conn, "gig.deleted" if new_state == "withdrawn" else "gig.updated", actor_id, gig_id
    )
    changed = get_gig(conn, gig_id)  # not require_gig: that calls a withdrawn gig "not found"
    assert changed is not None
    return changed


def refresh_fill_state(
    conn: sqlite3.Connection, gig_id: str, *, emit_as: str | None = None, force_event: bool = False
) -> Gig:
    """open <-> filled as capacity runs out or comes back; emits gig.updated when it moves."""
    gig = require_gig(conn, gig_id)
    target = gig.state
    if gig.state == "open" and gig.remaining < max(gig.minimum, Decimal("0.000001")):
        target = "filled"
    elif gig.state == "filled" and gig.remaining >= max(gig.minimum, Decimal("0.000001")):
        target = "open"
    moved = target != gig.state
    if moved:
        GigStates.check(gig.state, target)
        conn.execute(
            "UPDATE gigs SET state = ?, updated_at = ? WHERE id = ?",
            (target, clock.now_iso(), gig_id),
        )
    if gig.local and emit_as and (moved or force_event):
        events.emit(conn, "gig.updated", emit_as, gig_id)
    return require_gig(conn, gig_id)


def store_remote_gig(
    conn: sqlite3.Connection,
    *,
    uri: str,
    url: str | None,
    note_uri: str | None,
    poster_id: str,
    coop_id: str | None,
    draft: GigDraft,
    published_at: str,
    state: str = "open",
) -> tuple[Gig, bool]:
    """Insert or update a gig that lives on another instance; (gig, created?)."""
    existing = conn.execute("SELECT id FROM gigs WHERE uri = ?", (uri,)).fetchone()
    if existing is None:
        gig_id = ids.new_id()
        _insert(
            conn,
            gig_id=gig_id,
            uri=uri,
            url=url,
            note_uri=note_uri,
            local=False,
            poster_id=poster_id,
            coop_id=coop_id,
            draft=draft,
            published_at=published_at,
            state=state,
        )
        return require_gig(conn, gig_id), True
    gig_id = existing[0]
    extra: dict[str, Any] = {"url": url, "coop_id": coop_id, "state": state}
    if note_uri is not None:
        extra["note_uri"] = note_uri
    _update_terms(conn, gig_id, draft, **extra)
    return require_gig(conn, gig_id), False


def delete_remote_gig(conn: sqlite3.Connection, uri: str, actor_id: str) -> bool:
    """A remote poster withdrew its gig: keep the row (agreements point at it), mark it."""
    row = conn.execute(
        "SELECT id, poster_id FROM gigs WHERE uri = ? AND local = 0", (uri,)
    ).fetchone()
    if row is None:
        return False
    if row["poster_id"] != actor_id:
        raise Forbidden("only the poster can delete a gig")
    now = clock.now_iso()
    conn.execute(
        "UPDATE gigs SET state = 'withdrawn', deleted_at = ?, updated_at = ? WHERE id = ?",
        (now, now, row["id"]),
    )
    return True


def gigs_by_poster(conn: sqlite3.Connection, poster_id: str, *, limit: int = 50) -> list[Gig]:
    rows = conn.execute(
        "SELECT * FROM gigs WHERE poster_id = ? AND deleted_at IS NULL ORDER BY id DESC LIMIT ?",
        (poster_id, limit),
    ).fetchall()
    return [_row_to_gig(conn, r) for r in rows]


def gig_terms(gig: Gig) -> dict[str, Any]:
    """The terms as plain values, for comparing both sides of an agreement in tests and UI."""
    return {
        "unit": gig.unit,
        "price": money.to_text(gig.price),
        "currency": gig.currency,
        "available": money.to_text(gig.available),
        "minimum": money.to_text(gig.minimum),
        "unit_based": gig.unit_based,
    }
