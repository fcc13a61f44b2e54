"""Schema 7: reviews of completed agreements, their seals, replies and reports, and the links
between an actor's old and new identities (FEP-7628 moves, imported archives).

A review keeps the exact signed document it was published or received as (`document`), so
anyone can recompute a reputation from the same bytes; `verified` says whether its proof and
its agreement were checked here, and only verified, published reviews ever count.
"""

from __future__ import annotations

from typing import Any

STATEMENTS = [
    """CREATE TABLE reviews (
        id TEXT PRIMARY KEY,
        uri TEXT NOT NULL UNIQUE,
        agreement_uri TEXT NOT NULL,
        agreement_id TEXT REFERENCES agreements (id) ON DELETE SET NULL,
        reviewer_id TEXT NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
        subject_id TEXT NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
        reviewer_role TEXT NOT NULL CHECK (reviewer_role IN ('worker', 'poster')),
        rating INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 5),
        criteria TEXT NOT NULL DEFAULT '{}',
        skills TEXT NOT NULL DEFAULT '[]',
        text TEXT NOT NULL DEFAULT '',
        content TEXT NOT NULL DEFAULT '',
        local INTEGER NOT NULL DEFAULT 0 CHECK (local IN (0, 1)),
        state TEXT NOT NULL,
        verified INTEGER NOT NULL DEFAULT 0 CHECK (verified IN (0, 1)),
        unverified_reason TEXT,
        document TEXT,
        written_at TEXT NOT NULL,
        published_at TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        -- one review per party per agreement
        UNIQUE (agreement_uri, reviewer_id)
    )""",
    "CREATE INDEX reviews_subject ON reviews (subject_id, state, id)",
    "CREATE INDEX reviews_reviewer ON reviews (reviewer_id, id)",
    "CREATE INDEX reviews_sealed ON reviews (state, written_at)",
    # The other party's instance told us its review is written (a commitment: the digest of
    # the signed document), without revealing it: double-blind across instances.
    """CREATE TABLE review_seals (
        agreement_uri TEXT NOT NULL,
        reviewer_id TEXT NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
        review_uri TEXT NOT NULL UNIQUE,
        digest TEXT NOT NULL,
        received_at TEXT NOT NULL,
        PRIMARY KEY (agreement_uri, reviewer_id)
    )""",
    # The subject's public answer to a review (one per review).
    """CREATE TABLE review_replies (
        id TEXT PRIMARY KEY,
        uri TEXT NOT NULL UNIQUE,
        review_id TEXT NOT NULL REFERENCES reviews (id) ON DELETE CASCADE,
        author_id TEXT NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
        text TEXT NOT NULL DEFAULT '',
        content TEXT NOT NULL DEFAULT '',
        local INTEGER NOT NULL DEFAULT 0 CHECK (local IN (0, 1)),
        published_at TEXT NOT NULL,
        created_at TEXT NOT NULL,
        UNIQUE (review_id)
    )""",
    """CREATE TABLE review_reports (
        id TEXT PRIMARY KEY,
        review_id TEXT NOT NULL REFERENCES reviews (id) ON DELETE CASCADE,
        reporter_id TEXT REFERENCES actors (id) ON DELETE SET NULL,
        reason TEXT NOT NULL DEFAULT '',
        state TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'resolved')),
        created_at TEXT NOT NULL
    )""",
    "CREATE INDEX review_reports_review ON review_reports (review_id)",
    # old identity -> new identity, with what showed that both are one person: an honoured
    # Move (NEW lists OLD in alsoKnownAs) or an imported archive signed by OLD's key.
    """CREATE TABLE identity_links (
        old_actor_id TEXT NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
        new_actor_id TEXT NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
        evidence TEXT NOT NULL CHECK (evidence IN ('move', 'archive')),
        created_at TEXT NOT NULL,
        PRIMARY KEY (old_actor_id, new_actor_id)
    )""",
    "CREATE INDEX identity_links_new ON identity_links (new_actor_id)",
]


def migrate(db: Any) -> None:
    for statement in STATEMENTS:
        db.execute(statement)
