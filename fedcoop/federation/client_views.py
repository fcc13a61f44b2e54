"""What the Mastodon client API shows, loaded inside one read: accounts with their counts, and
notes, gigs, coop votes and marketplace events as statuses.

`ViewLoader` wraps one connection and one viewer. It decides who may see what (the domain's
rules for notes and the board's for gigs), renders a gig as its companion Note's text with a
card and its skills as tags, a coop proposal as a status carrying a poll, and a marketplace
event as a short direct status explaining it (Mastodon clients drop notification types they
do not know, so those arrive as `mention`s). `web/mastodon/schemas.py` turns these views into
Mastodon JSON; nothing here knows JSON field names.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass, field
from html import escape

from fedcoop import clock
from fedcoop.accounts.accounts import Account, get_account, get_account_by_actor
from fedcoop.accounts.actors import Actor, get_actor
from fedcoop.federation.gig_to_as import gig_to_note, human_terms
from fedcoop.federation.marketplace_views import can_see as can_see_gig
from fedcoop.federation.marketplace_views import notification_link
from fedcoop.gigs import (
    agreements,
    applications,
    feeds,
    governance,
    membership,
    notices,
    offers,
    skills,
)
from fedcoop.gigs.feeds import Item
from fedcoop.gigs.gig_replies import reply_target
from fedcoop.gigs.governance import Proposal
from fedcoop.gigs.offers import Gig
from fedcoop.social import blocks, follows, notes
from fedcoop.social import notifications as social_notifications
from fedcoop.social.notes import Note
from fedcoop.social.notifications import Notification
from fedcoop.uris import Uris

# Domain visibility -> Mastodon's names.
NOTE_VISIBILITY = {"public": "public", "unlisted": "unlisted", "followers": "private"}
GIG_VISIBILITY = {"public": "public", "followers": "private", "members": "private"}
# Notification kinds -> the Mastodon types clients know (docs/CLIENT_API.md). Anything else,
# the marketplace events above all, is a `mention` whose status explains what happened.
MASTODON_TYPES = {
    "follow": "follow",
    "follow_request": "follow_request",
    "mention": "mention",
    "status": "status",
}
ALL_KINDS = social_notifications.KINDS | notices.KINDS
EVENT_PHRASES = {
    "application": "applied to your gig",
    "application_accepted": "accepted your application to",
    "application_rejected": "declined your application to",
    "application_withdrawn": "withdrew their application to",
    "agreement_status": "changed the status of the agreement for",
    "agreement_completion": "recorded the work as delivered for",
    "agreement_payment": "recorded the payment for",
    "agreement_receipt": "confirmed with a receipt the agreement for",
}
_TAG_RE = re.compile(r"(?<![\w&/#])#(\w{1,100})", re.UNICODE)
_HTML_TAG_RE = re.compile(r"<[^>]*>")


def mastodon_type(kind: str) -> str:
    return MASTODON_TYPES.get(kind, "mention")


def kinds_for(types: list[str], exclude_types: list[str]) -> frozenset[str]:
    """The stored kinds whose Mastodon type a client asked for (`types[]`, `exclude_types[]`)."""
    return frozenset(
        kind
        for kind in ALL_KINDS
        if (not types or mastodon_type(kind) in types) and mastodon_type(kind) not in exclude_types
    )


def hashtags(html: str) -> list[str]:
    """The `#tags` in a note's text, in order, without duplicates."""
    text = _HTML_TAG_RE.sub("", html)
    return list(dict.fromkeys(m.group(1).lower() for m in _TAG_RE.finditer(text)))


@dataclass(frozen=True)
class AccountView:
    actor: Actor
    statuses_count: int
    followers_count: int
    following_count: int
    last_status_at: str | None
    account: Account | None  # the local account behind a Person, None otherwise


@dataclass(frozen=True)
class CardView:
    url: str
    title: str
    description: str
    author_name: str
    author_url: str
    provider_name: str
    provider_url: str


@dataclass(frozen=True)
class PollView:
    id: str
    expires_at: str
    expired: bool
    options: list[str]
    counts: list[int]
    voters_count: int
    own_votes: list[int] | None  # None: no viewer


@dataclass(frozen=True)
class StatusView:
    id: str
    kind: str  # note, gig, proposal or event
    uri: str
    url: str
    author: AccountView
    created_at: str
    content: str
    visibility: str
    local: bool
    edited_at: str | None = None
    text: str | None = None  # the source, only when the author deletes (to redraft)
    spoiler_text: str = ""
    sensitive: bool = False
    language: str | None = None
    in_reply_to_id: str | None = None
    in_reply_to_account_id: str | None = None
    mentions: list[Actor] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    replies_count: int = 0
    card: CardView | None = None
    poll: PollView | None = None


@dataclass(frozen=True)
class NotificationItem:
    id: str
    type: str
    created_at: str
    account: AccountView
    status: StatusView | None


@dataclass(frozen=True)
class RelationshipView:
    actor_id: str
    following: bool
    requested: bool
    followed_by: bool
    requested_by: bool
    blocking: bool
    blocked_by: bool


@dataclass(frozen=True)
class InstanceView:
    domain: str
    base_url: str
    title: str
    description: str
    email: str
    registrations: bool
    user_count: int
    status_count: int
    domain_count: int
    active_month: int
    contact: AccountView | None


@dataclass(frozen=True)
class Context:
    ancestors: list[StatusView]
    descendants: list[StatusView]


class ViewLoader:
    """Views for one viewer (`viewer_id` None: anonymous) over one open connection."""

    def __init__(
        self, conn: sqlite3.Connection, uris: Uris, instance_name: str, viewer_id: str | None
    ) -> None:
        self.conn = conn
        self.uris = uris
        self.instance_name = instance_name
        self.viewer_id = viewer_id
        self._accounts: dict[str, AccountView] = {}

    # visibility -------------------------------------------------------------------------------

    def visible(self, item: Item) -> bool:
        if isinstance(item, Note):
            return notes.can_see(self.conn, item, self.viewer_id)
        if isinstance(item, Gig):
            return can_see_gig(self.conn, item, self.viewer_id)
        if item.local:
            return True  # a coop's votes are on its public pages
        # The copy of another coop's vote is here for its members on this instance.
        return self.viewer_id is not None and membership.is_member(
            self.conn, item.coop_actor_id, self.viewer_id
        )

    def statuses(self, items: list[Item]) -> list[StatusView]:
        return [self.status(item) for item in items if self.visible(item)]

    # accounts ---------------------------------------------------------------------------------

    def account(self, actor: Actor) -> AccountView:
        cached = self._accounts.get(actor.id)
        if cached is None:
            cached = AccountView(
                actor=actor,
                statuses_count=feeds.statuses_count(self.conn, actor.id),
                followers_count=follows.count_followers(self.conn, actor.id),
                following_count=follows.count_following(self.conn, actor.id),
                last_status_at=feeds.last_status_at(self.conn, actor.id),
                account=get_account_by_actor(self.conn, actor.id) if actor.local else None,
            )
            self._accounts[actor.id] = cached
        return cached

    def account_by_id(self, actor_id: str) -> AccountView | None:
        actor = get_actor(self.conn, actor_id)
        return self.account(actor) if actor is not None else None

    def _required_account(self, actor_id: str) -> AccountView:
        found = self.account_by_id(actor_id)
        assert found is not None  # foreign keys keep authors alive
        return found

    def relationship(self, actor_id: str) -> RelationshipView:
        me, conn = self.viewer_id or "", self.conn
        mine = follows.find_follow(conn, me, actor_id)
        theirs = follows.find_follow(conn, actor_id, me)
        return RelationshipView(
            actor_id=actor_id,
            following=mine is not None and mine.accepted,
            requested=mine is not None and not mine.accepted,
            followed_by=theirs is not None and theirs.accepted,
            requested_by=theirs is not None and not theirs.accepted,
            blocking=blocks.is_blocked(conn, me, actor_id),
            blocked_by=blocks.is_blocked(conn, actor_id, me),
        )

    # statuses ---------------------------------------------------------------------------------

    def status(self, item: Item) -> StatusView:
        if isinstance(item, Note):
            return self.note(item)
        if isinstance(item, Gig):
            return self.gig(item)
        return self.proposal(item)

    def note(self, note: Note, *, with_source: bool = False) -> StatusView:
        reply_id, reply_account = self._replied_to(note)
        return StatusView(
            id=note.id,
            kind="note",
            uri=note.uri,
            url=note.url or note.uri,
            author=self._required_account(note.author_id),
            created_at=note.published_at,
            edited_at=note.edited_at,
            content=note.content,
            text=note.source if with_source else None,
            visibility=NOTE_VISIBILITY.get(note.visibility, "direct"),
            local=note.local,
            spoiler_text=note.summary,
            sensitive=note.sensitive,
            language=note.language,
            in_reply_to_id=reply_id,
            in_reply_to_account_id=reply_account,
            mentions=notes.mentions(self.conn, note.id),
            tags=hashtags(note.content),
            replies_count=feeds.count_replies(self.conn, note.uri),
        )

    def _replied_to(self, note: Note) -> tuple[str | None, str | None]:
        if note.in_reply_to_id is not None:
            parent = notes.get_note(self.conn, note.in_reply_to_id)
            if parent is not None:
                return parent.id, parent.author_id
        if note.in_reply_to_uri:
            gig = self._gig_replied_to(note.in_reply_to_uri)
            if gig is not None:
                return gig.id, gig.poster_id
        return None, None

    def _gig_replied_to(self, uri: str) -> Gig | None:
        return offers.get_gig_by_note_uri(self.conn, uri) or offers.get_gig_by_uri(self.conn, uri)

    def gig(self, gig: Gig) -> StatusView:
        author = self._required_account(gig.poster_id)
        coop = get_actor(self.conn, gig.coop_id) if gig.coop_id else None
        labels = skills.labels_for(self.conn, gig.skills)
        companion = gig_to_note(gig, author.actor, coop, labels, self.uris.base)
        url = gig.url or gig.uri
        card = CardView(
            url=url,
            title=gig.title,
            description=human_terms(gig),
            author_name=author.actor.display_name or author.actor.username,
            author_url=author.actor.url or author.actor.uri,
            provider_name=(coop.display_name or coop.username) if coop else self.instance_name,
            provider_url=(coop.url or coop.uri) if coop else self.uris.base + "/",
        )
        return StatusView(
            id=gig.id,
            kind="gig",
            uri=gig.note_uri or gig.uri,
            url=url,
            author=author,
            created_at=gig.published_at,
            edited_at=gig.updated_at if gig.updated_at != gig.published_at else None,
            content=str(companion["content"]),
            visibility=GIG_VISIBILITY.get(gig.visibility, "private"),
            local=gig.local,
            tags=[feeds.tag_name(label) for label in labels.values() if feeds.tag_name(label)],
            replies_count=feeds.count_replies(self.conn, reply_target(gig)),
            card=card,
        )

    def proposal(self, proposal: Proposal) -> StatusView:
        coop = get_actor(self.conn, proposal.coop_actor_id)
        assert coop is not None
        author_id = proposal.author_id or proposal.coop_actor_id
        body = proposal.body if not proposal.local else f"<p>{escape(proposal.body)}</p>"
        url = (
            self.uris.page(f"/coops/{coop.username}/proposals/{proposal.id}")
            if proposal.local
            else proposal.uri
        )
        return StatusView(
            id=proposal.id,
            kind="proposal",
            uri=proposal.uri,
            url=url,
            author=self._required_account(author_id),
            created_at=proposal.opens_at,
            content=f"<p><strong>{escape(proposal.title)}</strong></p>"
            + (body if proposal.body else ""),
            visibility="unlisted",
            local=proposal.local,
            poll=self.poll(proposal),
        )

    def poll(self, proposal: Proposal) -> PollView:
        counted = governance.current_tally(self.conn, proposal)
        own: list[int] | None = None
        if self.viewer_id is not None:
            mine = governance.vote_of(self.conn, proposal.id, self.viewer_id)
            own = [proposal.options.index(mine)] if mine in proposal.options else []
        counts = [counted.get(option, 0) for option in proposal.options]
        return PollView(
            id=proposal.id,
            expires_at=proposal.ends_at,
            expired=not proposal.accepts_votes_at(clock.now()),
            options=list(proposal.options),
            counts=counts,
            voters_count=max(sum(counts), proposal.voters_count),
            own_votes=own,
        )

    # notifications ----------------------------------------------------------------------------

    def notification(self, found: Notification) -> NotificationItem:
        recipient = get_actor_of_account(self.conn, found.account_id)
        sender = get_actor(self.conn, found.from_actor_id) if found.from_actor_id else None
        account = self.account(sender or recipient)
        status: StatusView | None = None
        kind = mastodon_type(found.kind)
        if found.kind in MASTODON_TYPES:
            note = notes.get_note(self.conn, found.note_id) if found.note_id else None
            status = self.note(note) if note is not None and self.visible(note) else None
        else:
            status = self._reply_of(found) or self.event(found, account)
        return NotificationItem(found.id, kind, found.created_at, account, status)

    def followed_gig(self, gig: Gig) -> NotificationItem:
        """A gig of someone followed, as Mastodon's `status` notification (not stored)."""
        shown = self.gig(gig)
        return NotificationItem(gig.id, "status", gig.published_at, shown.author, shown)

    def event_status(self, found: Notification) -> StatusView | None:
        """The status a marketplace event is told with (None for the social kinds)."""
        if found.kind in MASTODON_TYPES:
            return None
        sender = get_actor(self.conn, found.from_actor_id) if found.from_actor_id else None
        return self.event(
            found, self.account(sender or get_actor_of_account(self.conn, found.account_id))
        )

    def _reply_of(self, found: Notification) -> StatusView | None:
        """The reply a Mastodon-style application was made with, when it is held here."""
        if found.kind != "application" or not found.subject_uri:
            return None
        application = applications.get_application_by_uri(self.conn, found.subject_uri)
        if application is None or not application.reply_note_uri:
            return None
        note = notes.get_note_by_uri(self.conn, application.reply_note_uri)
        return self.note(note) if note is not None and self.visible(note) else None

    def event(self, found: Notification, sender: AccountView) -> StatusView:
        """A marketplace event told as a direct status from the other party."""
        link = notification_link(self.conn, found)
        url = self.uris.page(link or "/notifications")
        gig = self._event_gig(found)
        phrase = EVENT_PHRASES.get(found.kind, "sent you a marketplace update about")
        handle = f"@{sender.actor.username}@{sender.actor.host}"
        subject = escape(gig.title) if gig is not None else "a gig"
        parts = [f'<p>{escape(handle)} {escape(phrase)} <a href="{escape(url)}">{subject}</a></p>']
        for key in ("status", "reason"):
            value = found.payload.get(key)
            if isinstance(value, str) and value:
                parts.append(f"<p>{escape(key.capitalize())}: {escape(value)}</p>")
        return StatusView(
            id=found.id,
            kind="event",
            uri=url,
            url=url,
            author=sender,
            created_at=found.created_at,
            content="".join(parts),
            visibility="direct",
            local=True,
            in_reply_to_id=gig.id if gig is not None and self.visible(gig) else None,
            in_reply_to_account_id=gig.poster_id if gig is not None else None,
        )

    def _event_gig(self, found: Notification) -> Gig | None:
        gig_id = found.payload.get("gig_id")
        if isinstance(gig_id, str):
            return offers.get_gig(self.conn, gig_id)
        agreement = (
            agreements.get_agreement_by_uri(self.conn, found.subject_uri)
            if found.subject_uri
            else None
        )
        if agreement is not None and agreement.gig_id:
            return offers.get_gig(self.conn, agreement.gig_id)
        return None


def get_actor_of_account(conn: sqlite3.Connection, account_id: str) -> Actor:
    account = get_account(conn, account_id)
    actor = get_actor(conn, account.actor_id) if account is not None else None
    assert actor is not None  # a notification belongs to an existing account
    return actor
