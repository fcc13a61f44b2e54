"""The gig board: local and federated gigs together, full-text search (FTS5), filters, sorts.

Visibility: public gigs to everyone; followers-only gigs to those who follow the poster or
the coop; members-only gigs to the coop's members. Distance uses a bounding box in SQL and
the haversine formula on the candidates.
"""

from __future__ import annotations

import math
import re
import sqlite3
from dataclasses import dataclass
from decimal import Decimal

from fedcoop.errors import ValidationError
from fedcoop.gigs import money
from fedcoop.gigs.offers import Gig, _row_to_gig

SORTS = ("date", "pay", "distance")
PURPOSES = ("request", "offer")
MAX_LIMIT = 100
_TOKEN_RE = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class BoardQuery:
    words: str = ""
    skill: str | None = None  # skill URI
    city: str | None = None  # matched against the place name
    near: tuple[float, float] | None = None  # (latitude, longitude)
    within_km: float | None = None
    remote_only: bool = False
    min_hourly: Decimal | None = None
    currency: str | None = None  # of min_hourly
    starts_after: str | None = None
    ends_before: str | None = None
    coop_id: str | None = None
    purpose: str | None = None
    sort: str = "date"
    limit: int = 20
    before: str | None = None  # cursor: gig id (date sort)
    viewer_id: str | None = None  # actor id of who is looking

    def __post_init__(self) -> None:
        if self.sort not in SORTS:
            raise ValidationError(f"sort must be one of {', '.join(SORTS)}", field="sort")
        if self.purpose is not None and self.purpose not in PURPOSES:
            raise ValidationError("purpose must be request or offer", field="purpose")
        if not 1 <= self.limit <= MAX_LIMIT:
            raise ValidationError(f"limit must be 1 to {MAX_LIMIT}", field="limit")
        if self.sort == "distance" and self.near is None:
            raise ValidationError("sorting by distance needs a place", field="near")
        if self.within_km is not None and (self.near is None or self.within_km <= 0):
            raise ValidationError(
                "a distance needs a place and a positive radius", field="within_km"
            )
        if self.min_hourly is not None and self.currency is None:
            raise ValidationError("a minimum pay needs a currency", field="currency")


def fts_query(words: str) -> str | None:
    """Each word as a quoted prefix term, all required: user text never reaches FTS5 syntax."""
    tokens = _TOKEN_RE.findall(words)[:12]
    return " ".join(f'"{t}"*' for t in tokens) or None


def haversine_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 6371.0 * 2 * math.asin(math.sqrt(h))


def search(conn: sqlite3.Connection, q: BoardQuery) -> list[Gig]:
    where = ["gigs.state = 'open'", "gigs.deleted_at IS NULL"]
    params: list[object] = []
    match = fts_query(q.words)
    if match:
        # Drive from the full-text index in rowid order: rowids follow insertion, as the
        # time-sortable ids do, so the newest matches come first and LIMIT stops the scan
        # early instead of sorting every match.
        source = "gigs_fts JOIN gigs ON gigs.rowid = gigs_fts.rowid"
        where.append("gigs_fts MATCH ?")
        params.append(match)
    else:
        source = "gigs"
    if q.viewer_id is None:
        where.append("gigs.visibility = 'public'")
    else:
        where.append(
            "(gigs.visibility = 'public' OR gigs.poster_id = ?"
            " OR (gigs.visibility = 'followers' AND EXISTS (SELECT 1 FROM follows"
            "     WHERE follows.follower_id = ? AND follows.state = 'accepted'"
            "     AND follows.followee_id IN (gigs.poster_id, gigs.coop_id)))"
            " OR (gigs.visibility = 'members' AND EXISTS (SELECT 1 FROM memberships"
            "     WHERE memberships.actor_id = ? AND memberships.coop_actor_id = gigs.coop_id"
            "     AND memberships.state = 'active' AND memberships.role != 'outcast')))"
        )
        params += [q.viewer_id] * 3
    if q.skill:
        where.append(
            "EXISTS (SELECT 1 FROM gig_skills WHERE gig_skills.gig_id = gigs.id "
            "AND gig_skills.skill_uri = ?)"
        )
        params.append(q.skill)
    if q.city:
        where.append("gigs.place_name LIKE ? ESCAPE '\\'")
        params.append(
            "%" + q.city.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        )
    if q.remote_only:
        where.append("gigs.remote = 1")
    if q.min_hourly is not None and q.currency is not None:
        where.append("gigs.currency = ? AND gigs.hourly_minor >= ?")
        params += [q.currency, money.minor_units(q.min_hourly, q.currency)]
    if q.starts_after:
        where.append("gigs.starts_at >= ?")
        params.append(q.starts_after)
    if q.ends_before:
        where.append("gigs.ends_at <= ?")
        params.append(q.ends_before)
    if q.coop_id:
        where.append("gigs.coop_id = ?")
        params.append(q.coop_id)
    if q.purpose:
        where.append("gigs.purpose = ?")
        params.append(q.purpose)
    if q.near is not None and q.within_km is not None:
        dlat = q.within_km / 111.0
        dlon = q.within_km / max(111.0 * math.cos(math.radians(q.near[0])), 0.01)
        where.append("gigs.latitude BETWEEN ? AND ? AND gigs.longitude BETWEEN ? AND ?")
        params += [q.near[0] - dlat, q.near[0] + dlat, q.near[1] - dlon, q.near[1] + dlon]
    if q.before and q.sort == "date":
        where.append("gigs.id < ?")
        params.append(q.before)
    by_date = "gigs_fts.rowid DESC" if match else "gigs.id DESC"
    order = {
        "date": by_date,
        "pay": "gigs.hourly_minor IS NULL, gigs.hourly_minor DESC, gigs.id DESC",
        "distance": by_date,
    }[q.sort]
    # Distance is computed in Python, so fetch the whole (bounded) candidate set then.
    limit = q.limit if q.near is None else 2000
    sql = f"SELECT gigs.* FROM {source} WHERE {' AND '.join(where)} ORDER BY {order} LIMIT ?"
    rows = conn.execute(sql, (*params, limit)).fetchall()
    if q.near is not None:
        near = q.near
        scored = [
            (
                haversine_km(near, (r["latitude"], r["longitude"]))
                if r["latitude"] is not None
                else math.inf,
                r,
            )
            for r in rows
        ]
        if q.within_km is not None:
            scored = [s for s in scored if s[0] <= q.within_km]
        if q.sort == "distance":
            scored.sort(key=lambda s: s[0])
        rows = [r for _, r in scored[: q.limit]]
    return [_row_to_gig(conn, r) for r in rows]
