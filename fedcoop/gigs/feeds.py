"""What the Mastodon client API lists as statuses: notes, gigs and coop proposals in one stream.

Notes, gigs and proposals all have time-sortable ids (ULIDs) made when the row reached this
instance, so one page of a mixed stream is the merge of one page of each, by id, with
Mastodon's `max_id`/`since_id`/`min_id`/`limit` applied to every source alike. The queries
return candidates: the caller applies the per-item visibility rules (who may see a note or a
gig) to what it shows. Also the counts and lookups an account or a status displays.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any, Protocol, TypeAlias, TypeVar

from fedcoop.accounts.actors import ACTOR_COLUMNS, Actor, actor_from_row
from fedcoop.gigs import governance, skills
from fedcoop.gigs.governance import Proposal
from fedcoop.gigs.offers import Gig, _row_to_gig
from fedcoop.social import notes, timelines
from fedcoop.social.notes import NOTE_COLUMNS, Note, note_from_row
from fedcoop.social.paging import Page, page_clause

Item: TypeAlias = Note | Gig | Proposal
MAX_SEARCH = 40

_FOLLOWED = "SELECT followee_id FROM follows WHERE follower_id = :me AND state = 'accepted'"
_MY_COOPS = (
    "SELECT coop_actor_id FROM memberships WHERE actor_id = :me AND state = 'active' "
    "AND role != 'outcast'"
)
_NOT_BLOCKED = (
    "gigs.poster_id NOT IN (SELECT blocked_id FROM actor_blocks WHERE blocker_id = :me) "
    "AND gigs.poster_id NOT IN (SELECT blocker_id FROM actor_blocks WHERE blocked_id = :me)"
)
# The gigs on a member's home timeline: their own; those of the people and coops they follow
# that followers may see; and what their coops post for members.
_HOME_GIGS = f"""
    gigs.deleted_at IS NULL
    AND (
        gigs.poster_id = :me
        OR ((gigs.poster_id IN ({_FOLLOWED}) OR gigs.coop_id IN ({_FOLLOWED}))
            AND gigs.visibility IN ('public', 'followers'))
        OR (gigs.coop_id IN ({_MY_COOPS}) AND gigs.visibility IN ('public', 'members'))
    )
    AND {_NOT_BLOCKED}
"""


class HasId(Protocol):
    @property
    def id(self) -> str: ...


T = TypeVar("T", bound=HasId)


def merge(page: Page, *streams: Iterable[T]) -> list[T]:
    """One page out of several pages of the same paging: newest first, at most `page.limit`.

    With `min_id` each source returned the items just above it, so the page is the oldest
    `limit` of them (a client walking forward must not skip any); otherwise the newest."""
    found = {item.id: item for stream in streams for item in stream}
    ordered = sorted(found.values(), key=lambda item: item.id, reverse=not page.min_id)
    return sorted(ordered[: page.limit], key=lambda item: item.id, reverse=True)


def _paged(
    conn: sqlite3.Connection, table: str, where: str, params: dict[str, Any], page: Page
) -> list[sqlite3.Row]:
    clause, order, extra = page_clause(page, f"{table}.id")
    conditions = [where]
    for i, (condition, value) in enumerate(zip(clause, extra, strict=True)):
        conditions.append(condition.replace("?", f":page{i}"))
        params[f"page{i}"] = value
    params["limit"] = page.limit
    return conn.execute(
        f"SELECT {table}.* FROM {table} WHERE {' AND '.join(conditions)} "
        f"ORDER BY {table}.id {order} LIMIT :limit",
        params,
    ).fetchall()


def _gigs(conn: sqlite3.Connection, where: str, params: dict[str, Any], page: Page) -> list[Gig]:
    return [_row_to_gig(conn, row) for row in _paged(conn, "gigs", where, params, page)]


def _proposals(
    conn: sqlite3.Connection, where: str, params: dict[str, Any], page: Page
) -> list[Proposal]:
    rows = _paged(conn, "proposals", where, params, page)
    found = (governance.get_proposal(conn, row["id"]) for row in rows)
    return [p for p in found if p is not None]


# timelines -----------------------------------------------------------------------------------


def home(conn: sqlite3.Connection, actor_id: str, page: Page) -> list[Item]:
    """A member's home: notes (social.timelines), gigs of whom they follow, their coops' votes."""
    params = {"me": actor_id}
    gigs = _gigs(conn, _HOME_GIGS, dict(params), page)
    votes = _proposals(conn, f"proposals.coop_actor_id IN ({_MY_COOPS})", dict(params), page)
    return merge(page, timelines.home(conn, actor_id, page), gigs, votes)


def public(
    conn: sqlite3.Connection,
    page: Page,
    *,
    local_only: bool = False,
    remote_only: bool = False,
    viewer_id: str | None = None,
) -> list[Item]:
    """Public notes and public gigs (coop votes are members' business, never public)."""
    where = ["gigs.deleted_at IS NULL", "gigs.visibility = 'public'"]
    if local_only:
        where.append("gigs.local = 1")
    if remote_only:
        where.append("gigs.local = 0")
    if viewer_id is not None:
        where.append(_NOT_BLOCKED)
    gigs = _gigs(conn, " AND ".join(where), {"me": viewer_id}, page)
    found = timelines.public(
        conn, page, local_only=local_only, remote_only=remote_only, viewer_actor_id=viewer_id
    )
    return merge(page, found, gigs)


def tag_name(label: str) -> str:
    """A skill label as the hashtag it federates as (`Cargo bikes` -> `cargobikes`)."""
    return "".join(ch for ch in label.title() if ch.isalnum()).lower()


def tagged(
    conn: sqlite3.Connection, tag: str, page: Page, *, local_only: bool = False
) -> list[Item]:
    """Public gigs whose skill is the hashtag, and public notes whose text carries it."""
    wanted = tag_name(tag)
    if not wanted:
        return []
    skill_uris = [s.uri for s in skills.list_skills(conn) if tag_name(s.label) == wanted]
    gigs: list[Gig] = []
    if skill_uris:
        marks = ", ".join(f":skill{i}" for i in range(len(skill_uris)))
        params: dict[str, Any] = {f"skill{i}": uri for i, uri in enumerate(skill_uris)}
        where = (
            "gigs.deleted_at IS NULL AND gigs.visibility = 'public' AND gigs.id IN "
            f"(SELECT gig_id FROM gig_skills WHERE skill_uri IN ({marks}))"
            + (" AND gigs.local = 1" if local_only else "")
        )
        gigs = _gigs(conn, where, params, page)
    # Local notes hold the tag as typed; Mastodon's HTML wraps the name in a span.
    where = (
        "notes.deleted_at IS NULL AND notes.visibility = 'public' "
        "AND (notes.content LIKE :plain OR notes.content LIKE :linked)"
        + (" AND notes.local = 1" if local_only else "")
    )
    rows = _paged(
        conn,
        "notes",
        where,
        {"plain": f"%#{wanted}%", "linked": f"%#<span>{wanted}</span>%"},
        page,
    )
    return merge(page, (note_from_row(r) for r in rows), gigs)


def by_author(
    conn: sqlite3.Connection, actor_id: str, page: Page, *, exclude_replies: bool = False
) -> list[Item]:
    """What an actor posted: its notes and its gigs (a coop's also the gigs posted to it)."""
    found: Sequence[Note] = notes.notes_by_author(conn, actor_id, page)
    if exclude_replies:
        found = [n for n in found if n.in_reply_to_uri is None]
    gigs = _gigs(
        conn,
        "gigs.deleted_at IS NULL AND (gigs.poster_id = :who OR gigs.coop_id = :who)",
        {"who": actor_id},
        page,
    )
    return merge(page, found, gigs)


def followed_gigs(conn: sqlite3.Connection, actor_id: str, page: Page) -> list[Gig]:
    """Gigs that reached this instance after their poster or coop was followed by `actor_id`:
    what Mastodon would announce as `status` notifications."""
    where = (
        "gigs.deleted_at IS NULL AND gigs.poster_id != :me "
        "AND gigs.visibility IN ('public', 'followers') AND EXISTS ("
        "SELECT 1 FROM follows WHERE follows.follower_id = :me AND follows.state = 'accepted' "
        "AND follows.followee_id IN (gigs.poster_id, gigs.coop_id) AND follows.id < gigs.id)"
        f" AND {_NOT_BLOCKED}"
    )
    return _gigs(conn, where, {"me": actor_id}, page)


# lookups and counts --------------------------------------------------------------------------


def replies_to_uri(conn: sqlite3.Connection, uri: str, *, limit: int = 100) -> list[Note]:
    """Live notes replying to `uri` (a note, or a gig's companion Note), oldest first."""
    rows = conn.execute(
        f"SELECT {NOTE_COLUMNS} FROM notes WHERE in_reply_to_uri = ? AND deleted_at IS NULL "
        "ORDER BY id LIMIT ?",
        (uri, limit),
    ).fetchall()
    return [note_from_row(r) for r in rows]


def count_replies(conn: sqlite3.Connection, uri: str) -> int:
    row = conn.execute(
        "SELECT count(*) FROM notes WHERE in_reply_to_uri = ? AND deleted_at IS NULL", (uri,)
    ).fetchone()
    return int(row[0])


def statuses_count(conn: sqlite3.Connection, actor_id: str) -> int:
    """Live notes and gigs of an actor, as known here."""
    row = conn.execute(
        "SELECT (SELECT count(*) FROM notes WHERE author_id = :a AND deleted_at IS NULL) "
        "+ (SELECT count(*) FROM gigs WHERE poster_id = :a AND deleted_at IS NULL)",
        {"a": actor_id},
    ).fetchone()
    return int(row[0])


def last_status_at(conn: sqlite3.Connection, actor_id: str) -> str | None:
    row = conn.execute(
        "SELECT max(t) FROM (SELECT max(published_at) AS t FROM notes "
        "WHERE author_id = :a AND deleted_at IS NULL UNION ALL SELECT max(published_at) "
        "FROM gigs WHERE poster_id = :a AND deleted_at IS NULL)",
        {"a": actor_id},
    ).fetchone()
    return str(row[0]) if row and row[0] else None


def search_actors(
    conn: sqlite3.Connection, query: str, *, limit: int = 20, offset: int = 0
) -> list[Actor]:
    """Known people and coops (local first) whose name starts with `query`."""
    words = query.strip().lstrip("@")
    username, _, host = words.partition("@")
    if not username:
        return []
    like = username.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    where = (
        "actors.type != 'Application' AND (actors.username LIKE :like ESCAPE '\\' "
        "OR actors.display_name LIKE :like ESCAPE '\\')"
    )
    params: dict[str, Any] = {"like": like, "limit": min(limit, MAX_SEARCH), "offset": offset}
    if host:
        where += " AND actors.host LIKE :host ESCAPE '\\'"
        params["host"] = host.replace("%", "\\%").replace("_", "\\_") + "%"
    rows = conn.execute(
        f"SELECT {ACTOR_COLUMNS} FROM actors WHERE {where} "
        "ORDER BY actors.local DESC, actors.username = :exact DESC, actors.username "
        "LIMIT :limit OFFSET :offset",
        {**params, "exact": username},
    ).fetchall()
    return [actor_from_row(r) for r in rows]


def count_known_hosts(conn: sqlite3.Connection) -> int:
    """Other servers this instance knows an actor of (Mastodon's `domain_count`)."""
    row = conn.execute("SELECT count(DISTINCT host) FROM actors WHERE local = 0").fetchone()
    return int(row[0])
