"""Skills: a small shipped list with stable URIs under the instance, extensible by admins.

A gig's skills are URIs (FEP-0837 `resourceConformsTo`). Local skills live at
`https://HOST/skills/SLUG`; skills of remote gigs are kept exactly as their origin gave them.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass

from fedcoop import clock, ids
from fedcoop.errors import Conflict, ValidationError
from fedcoop.uris import Uris

SLUG_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")

SHIPPED: tuple[tuple[str, str], ...] = (
    ("bike-courier", "Bike courier"),
    ("cargo-bike-courier", "Cargo-bike courier"),
    ("van-delivery", "Van delivery"),
    ("home-cleaning", "Home cleaning"),
    ("office-cleaning", "Office cleaning"),
    ("childcare", "Childcare"),
    ("elder-care", "Elder care"),
    ("translation", "Translation"),
    ("proofreading", "Proofreading"),
    ("web-development", "Web development"),
    ("graphic-design", "Graphic design"),
    ("photography", "Photography"),
    ("plumbing", "Plumbing"),
    ("electrical-repair", "Electrical repair"),
    ("bike-repair", "Bike repair"),
    ("carpentry", "Carpentry"),
    ("gardening", "Gardening"),
    ("moving-help", "Moving help"),
    ("cooking", "Cooking and catering"),
    ("data-labelling", "Data labelling"),
    ("tutoring", "Tutoring"),
)


@dataclass(frozen=True)
class Skill:
    uri: str
    slug: str | None
    label: str
    local: bool


def skill_uri(uris: Uris, slug: str) -> str:
    return uris.absolute(f"/skills/{slug}")


def ensure_shipped(conn: sqlite3.Connection, uris: Uris) -> int:
    """Insert the shipped skills that are missing; returns how many were added."""
    added = 0
    for slug, label in SHIPPED:
        cur = conn.execute(
            "INSERT OR IGNORE INTO skills (id, uri, slug, label, local, created_at) "
            "VALUES (?, ?, ?, ?, 1, ?)",
            (ids.new_id(), skill_uri(uris, slug), slug, label, clock.now_iso()),
        )
        added += cur.rowcount
    return added


def add_skill(conn: sqlite3.Connection, uris: Uris, slug: str, label: str) -> Skill:
    if not SLUG_RE.match(slug) or len(slug) > 60:
        raise ValidationError("a slug is lower-case words joined by hyphens", field="slug")
    if not label.strip() or len(label) > 80:
        raise ValidationError("a label is 1 to 80 characters", field="label")
    uri = skill_uri(uris, slug)
    if conn.execute("SELECT 1 FROM skills WHERE uri = ?", (uri,)).fetchone():
        raise Conflict("that skill exists already", field="slug")
    conn.execute(
        "INSERT INTO skills (id, uri, slug, label, local, created_at) VALUES (?, ?, ?, ?, 1, ?)",
        (ids.new_id(), uri, slug, label.strip(), clock.now_iso()),
    )
    return Skill(uri, slug, label.strip(), True)


def remember_remote_skill(conn: sqlite3.Connection, uri: str, label: str | None) -> None:
    """Keep a remote skill URI as given, with the name its gig used for it."""
    conn.execute(
        "INSERT OR IGNORE INTO skills (id, uri, slug, label, local, created_at) "
        "VALUES (?, ?, NULL, ?, 0, ?)",
        (ids.new_id(), uri, (label or uri.rstrip("/").rsplit("/", 1)[-1])[:80], clock.now_iso()),
    )


def list_skills(conn: sqlite3.Connection, *, local_only: bool = False) -> list[Skill]:
    rows = conn.execute(
        "SELECT uri, slug, label, local FROM skills "
        + ("WHERE local = 1 " if local_only else "")
        + "ORDER BY local DESC, label"
    ).fetchall()
    return [Skill(r[0], r[1], r[2], bool(r[3])) for r in rows]


def labels_for(conn: sqlite3.Connection, skill_uris: tuple[str, ...]) -> dict[str, str]:
    if not skill_uris:
        return {}
    rows = conn.execute(
        f"SELECT uri, label FROM skills WHERE uri IN ({','.join('?' * len(skill_uris))})",
        skill_uris,
    ).fetchall()
    found = {r[0]: r[1] for r in rows}
    return {u: found.get(u, u.rstrip("/").rsplit("/", 1)[-1].replace("-", " ")) for u in skill_uris}
