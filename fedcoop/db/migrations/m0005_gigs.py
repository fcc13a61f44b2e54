"""Schema 5: the marketplace: skills, gigs (with full-text search), applications, agreements,
and the economic events that complete them."""

from __future__ import annotations

from typing import Any

STATEMENTS = [
    """CREATE TABLE skills (
        id TEXT PRIMARY KEY,
        uri TEXT NOT NULL UNIQUE,
        slug TEXT,
        label TEXT NOT NULL,
        local INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL
    )""",
    """CREATE TABLE gigs (
        id TEXT PRIMARY KEY,
        uri TEXT NOT NULL UNIQUE,
        url TEXT,
        note_uri TEXT UNIQUE,
        local INTEGER NOT NULL DEFAULT 0,
        poster_id TEXT NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
        coop_id TEXT REFERENCES actors (id) ON DELETE SET NULL,
        purpose TEXT NOT NULL CHECK (purpose IN ('request', 'offer')),
        title TEXT NOT NULL,
        description TEXT NOT NULL DEFAULT '',
        place_name TEXT,
        latitude REAL,
        longitude REAL,
        remote INTEGER NOT NULL DEFAULT 0,
        starts_at TEXT,
        ends_at TEXT,
        unit TEXT NOT NULL,
        unit_quantity TEXT NOT NULL DEFAULT '1',
        price TEXT NOT NULL,
        currency TEXT NOT NULL,
        hourly_minor INTEGER,
        available TEXT NOT NULL,
        minimum TEXT NOT NULL,
        unit_based INTEGER NOT NULL DEFAULT 1,
        visibility TEXT NOT NULL CHECK (visibility IN ('public', 'followers', 'members')),
        state TEXT NOT NULL,
        published_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        deleted_at TEXT,
        created_at TEXT NOT NULL
    )""",
    "CREATE INDEX gigs_board ON gigs (state, visibility, published_at)",
    "CREATE INDEX gigs_pay ON gigs (state, hourly_minor)",
    "CREATE INDEX gigs_place ON gigs (latitude, longitude)",
    "CREATE INDEX gigs_poster ON gigs (poster_id, id)",
    "CREATE INDEX gigs_coop ON gigs (coop_id, state)",
    """CREATE TABLE gig_skills (
        gig_id TEXT NOT NULL REFERENCES gigs (id) ON DELETE CASCADE,
        skill_uri TEXT NOT NULL,
        PRIMARY KEY (gig_id, skill_uri)
    )""",
    "CREATE INDEX gig_skills_skill ON gig_skills (skill_uri, gig_id)",
    # Full-text index over what people search for; kept in step by the domain code (not by
    # triggers) so a gig's skills labels can be included.
    """CREATE VIRTUAL TABLE gigs_fts USING fts5(
        title, description, place_name, skills, tokenize = 'unicode61 remove_diacritics 2'
    )""",
    """CREATE TABLE applications (
        id TEXT PRIMARY KEY,
        uri TEXT NOT NULL UNIQUE,
        gig_id TEXT NOT NULL REFERENCES gigs (id) ON DELETE CASCADE,
        worker_id TEXT NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
        quantity TEXT,
        amount TEXT,
        cover_note TEXT NOT NULL DEFAULT '',
        structured INTEGER NOT NULL DEFAULT 1,
        reply_note_uri TEXT,
        state TEXT NOT NULL,
        decided_at TEXT,
        reason TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    )""",
    "CREATE INDEX applications_gig ON applications (gig_id, state, id)",
    "CREATE INDEX applications_worker ON applications (worker_id, id)",
    """CREATE TABLE agreements (
        id TEXT PRIMARY KEY,
        uri TEXT NOT NULL UNIQUE,
        local INTEGER NOT NULL DEFAULT 0,
        gig_id TEXT REFERENCES gigs (id) ON DELETE SET NULL,
        gig_uri TEXT NOT NULL,
        application_id TEXT UNIQUE REFERENCES applications (id) ON DELETE SET NULL,
        offer_uri TEXT,
        accept_uri TEXT,
        poster_id TEXT NOT NULL REFERENCES actors (id),
        worker_id TEXT NOT NULL REFERENCES actors (id),
        quantity TEXT NOT NULL,
        unit TEXT NOT NULL,
        amount TEXT NOT NULL,
        currency TEXT NOT NULL,
        starts_at TEXT,
        ends_at TEXT,
        state TEXT NOT NULL,
        paid INTEGER NOT NULL DEFAULT 0,
        completion_uri TEXT,
        payment_uri TEXT,
        receipt_uri TEXT,
        delivered_at TEXT,
        paid_at TEXT,
        completed_at TEXT,
        proof TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    )""",
    "CREATE INDEX agreements_gig ON agreements (gig_id, state)",
    "CREATE INDEX agreements_worker ON agreements (worker_id, id)",
    "CREATE INDEX agreements_poster ON agreements (poster_id, id)",
]


def migrate(db: Any) -> None:
    for statement in STATEMENTS:
        db.execute(statement)
