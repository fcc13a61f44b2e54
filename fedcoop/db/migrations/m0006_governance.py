"""Schema 6: cooperatives across instances: membership details, member governance (proposals,
their fixed electorate, votes, decisions), federation-policy actions decided by members, and
the cache of checked affiliations."""

from __future__ import annotations

from typing import Any

STATEMENTS = [
    # The coop's economic rates, changed by member vote: decimal shares as text ("0.05").
    "ALTER TABLE coops ADD COLUMN fee_rate TEXT NOT NULL DEFAULT '0'",
    "ALTER TABLE coops ADD COLUMN solidarity_rate TEXT NOT NULL DEFAULT '0'",
    # The Join activity a request came with (the Accept or Reject names it), and, on a member's
    # home instance, the coop-signed Relationship received in the coop's Add.
    "ALTER TABLE memberships ADD COLUMN join_uri TEXT",
    "ALTER TABLE memberships ADD COLUMN relationship TEXT",
    "ALTER TABLE memberships ADD COLUMN verified_at TEXT",
    "CREATE INDEX memberships_actor ON memberships (actor_id, state)",
    "CREATE INDEX memberships_coop ON memberships (coop_actor_id, state, role)",
    # A proposal put to a coop's members. Local ones are decided here; remote ones are copies
    # of another coop's Question (its tally and decision as that coop published them).
    """CREATE TABLE proposals (
        id TEXT PRIMARY KEY,
        uri TEXT NOT NULL UNIQUE,
        coop_actor_id TEXT NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
        local INTEGER NOT NULL DEFAULT 1,
        author_id TEXT REFERENCES actors (id) ON DELETE SET NULL,
        kind TEXT NOT NULL CHECK (kind IN ('text', 'admit', 'remove', 'fee', 'solidarity',
                                           'federate', 'block', 'rules')),
        title TEXT NOT NULL,
        body TEXT NOT NULL DEFAULT '',
        options TEXT NOT NULL,
        params TEXT NOT NULL DEFAULT '{}',
        subject_actor_id TEXT REFERENCES actors (id) ON DELETE SET NULL,
        membership_id TEXT REFERENCES memberships (id) ON DELETE SET NULL,
        quorum TEXT NOT NULL,
        threshold TEXT NOT NULL CHECK (threshold IN ('simple', 'two_thirds')),
        opens_at TEXT NOT NULL,
        ends_at TEXT NOT NULL,
        state TEXT NOT NULL,
        electorate_size INTEGER NOT NULL DEFAULT 0,
        tally TEXT NOT NULL DEFAULT '{}',
        voters_count INTEGER NOT NULL DEFAULT 0,
        closed_at TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    )""",
    "CREATE INDEX proposals_coop ON proposals (coop_actor_id, state, id)",
    "CREATE INDEX proposals_due ON proposals (state, local, ends_at)",
    # Who may vote, fixed when the vote opens.
    """CREATE TABLE proposal_electorate (
        proposal_id TEXT NOT NULL REFERENCES proposals (id) ON DELETE CASCADE,
        actor_id TEXT NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
        PRIMARY KEY (proposal_id, actor_id)
    )""",
    # One vote per member and proposal: the first one counts, later ones are refused.
    """CREATE TABLE votes (
        id TEXT PRIMARY KEY,
        proposal_id TEXT NOT NULL REFERENCES proposals (id) ON DELETE CASCADE,
        voter_id TEXT NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
        option TEXT NOT NULL,
        note_uri TEXT UNIQUE,
        created_at TEXT NOT NULL,
        UNIQUE (proposal_id, voter_id)
    )""",
    # The public decisions log (for remote proposals: the copy their coop published).
    """CREATE TABLE decisions (
        id TEXT PRIMARY KEY,
        proposal_id TEXT NOT NULL UNIQUE REFERENCES proposals (id) ON DELETE CASCADE,
        coop_actor_id TEXT NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
        outcome TEXT NOT NULL CHECK (outcome IN ('adopted', 'rejected', 'no_quorum')),
        winning_option TEXT,
        tally TEXT NOT NULL,
        votes_cast INTEGER NOT NULL,
        electorate INTEGER NOT NULL,
        quorum_met INTEGER NOT NULL,
        threshold_met INTEGER NOT NULL,
        effect TEXT NOT NULL DEFAULT '',
        decided_at TEXT NOT NULL
    )""",
    "CREATE INDEX decisions_coop ON decisions (coop_actor_id, decided_at)",
    # Federation policy decided by members, waiting for an admin to apply it.
    """CREATE TABLE policy_actions (
        id TEXT PRIMARY KEY,
        coop_actor_id TEXT NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
        decision_id TEXT NOT NULL REFERENCES decisions (id) ON DELETE CASCADE,
        domain TEXT NOT NULL,
        policy TEXT NOT NULL CHECK (policy IN ('block', 'allow')),
        state TEXT NOT NULL,
        decided_by TEXT REFERENCES actors (id) ON DELETE SET NULL,
        decided_at TEXT,
        created_at TEXT NOT NULL
    )""",
    "CREATE INDEX policy_actions_coop ON policy_actions (coop_actor_id, state)",
    # Memberships of remote coops checked against the coop's own signed affiliations.
    """CREATE TABLE affiliation_checks (
        coop_uri TEXT NOT NULL,
        subject_uri TEXT NOT NULL,
        role TEXT,
        verified INTEGER NOT NULL,
        reason TEXT NOT NULL DEFAULT '',
        checked_at TEXT NOT NULL,
        PRIMARY KEY (coop_uri, subject_uri)
    )""",
]


def migrate(db: Any) -> None:
    for statement in STATEMENTS:
        db.execute(statement)
