"""The Mastodon client API's services (DESIGN.md walk (c)): the handlers in `web/mastodon/`
call these, and these call the same domain services the pages do.

Each operation is one `db.read` or `db.write` (after any network work: remote mentions are
resolved before a status is written, and a search with `resolve=true` looks a handle up by
WebFinger and fetches the actor first). What they return are the views of `client_views`.
Statuses are notes, gigs and coop proposals, found by one id space (all ULIDs):
- posting a reply to a gig's status applies to the gig (`gigs.gig_replies`);
- posting a status with a poll opens a vote of the author's cooperative (a free-text
  proposal, `gigs.governance`): fedcoop has no polls besides coop votes;
- voting in a poll is a vote on the proposal (one choice, the first vote counts);
- deleting a gig's status withdraws the gig.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

from fedcoop import clock
from fedcoop.accounts import accounts, coops
from fedcoop.accounts.accounts import Account
from fedcoop.accounts.actors import Actor, get_actor, get_local_actor
from fedcoop.activitypub.hosts import HostError, normalise_host
from fedcoop.errors import Forbidden, NotFound, ValidationError
from fedcoop.federation import coop_services, mentions
from fedcoop.federation.client_views import (
    AccountView,
    Context,
    InstanceView,
    NotificationItem,
    PollView,
    RelationshipView,
    StatusView,
    ViewLoader,
    kinds_for,
)
from fedcoop.federation.context import FederationContext
from fedcoop.gigs import board, feeds, gig_replies, governance, membership, offers, skills
from fedcoop.gigs.board import BoardQuery
from fedcoop.gigs.feeds import Item
from fedcoop.gigs.governance import Proposal, ProposalDraft
from fedcoop.social import follows, notes
from fedcoop.social import notifications as social_notifications
from fedcoop.social.paging import Page
from fedcoop.social.text import parse_mentions

T = TypeVar("T")

# Mastodon's visibility names -> the domain's.
VISIBILITIES = {
    "public": "public",
    "unlisted": "unlisted",
    "private": "followers",
    "direct": "direct",
}
MAX_CONTEXT = 60
MAX_TITLE = 80


@dataclass(frozen=True)
class PollForm:
    options: list[str]
    expires_in: int | None
    multiple: bool = False


@dataclass(frozen=True)
class StatusForm:
    text: str
    visibility: str = "public"  # Mastodon's name
    spoiler_text: str = ""
    sensitive: bool = False
    language: str | None = None
    in_reply_to_id: str | None = None
    poll: PollForm | None = None


@dataclass(frozen=True)
class SearchResult:
    accounts: list[AccountView]
    statuses: list[StatusView]
    hashtags: list[str]


@dataclass(frozen=True)
class ClientApi:
    ctx: FederationContext

    def _loader(self, conn: sqlite3.Connection, viewer: Account | None) -> ViewLoader:
        name = self.ctx.settings.instance.name
        return ViewLoader(conn, self.ctx.uris, name, viewer.actor_id if viewer else None)

    async def _read(self, viewer: Account | None, fn: Callable[[ViewLoader], T]) -> T:
        return await self.ctx.db.read(lambda conn: fn(self._loader(conn, viewer)))

    async def _write(self, viewer: Account | None, fn: Callable[[ViewLoader], T]) -> T:
        return await self.ctx.db.write(lambda conn: fn(self._loader(conn, viewer)))

    # instance ---------------------------------------------------------------------------------

    async def instance(self) -> InstanceView:
        settings, uris = self.ctx.settings, self.ctx.uris

        def load(views: ViewLoader) -> InstanceView:
            conn = views.conn
            admin = next((a for a in accounts.list_accounts(conn) if a.is_admin), None)
            contact = views.account_by_id(admin.actor_id) if admin else None
            return InstanceView(
                domain=uris.domain,
                base_url=uris.base,
                title=settings.instance.name,
                description=settings.instance.description,
                email=settings.instance.contact_email,
                registrations=settings.instance.open_registrations,
                user_count=accounts.count_accounts(conn),
                status_count=notes.count_local_notes(conn),
                domain_count=feeds.count_known_hosts(conn),
                active_month=accounts.count_active_accounts(conn, days=30),
                contact=contact,
            )

        return await self._read(None, load)

    # accounts ---------------------------------------------------------------------------------

    async def account(self, viewer: Account | None, actor_id: str) -> AccountView:
        def load(views: ViewLoader) -> AccountView:
            found = views.account_by_id(actor_id)
            if found is None or found.actor.type == "Application":
                raise NotFound("Record not found")
            return found

        return await self._read(viewer, load)

    async def lookup(self, acct: str) -> AccountView:
        """A known account by `name` (local) or `name@host` (cached); no network."""
        username, _, host = acct.strip().lstrip("@").partition("@")
        try:
            host = normalise_host(host) if host else self.ctx.uris.domain
        except HostError:
            raise NotFound("Record not found") from None
        local = host == normalise_host(self.ctx.uris.domain)

        def load(views: ViewLoader) -> AccountView:
            conn = views.conn
            actor = (
                get_local_actor(conn, username)
                if local
                else notes.actor_by_handle(conn, username, host)
            )
            if actor is None or actor.type == "Application":
                raise NotFound("Record not found")
            return views.account(actor)

        return await self._read(None, load)

    async def relationships(self, viewer: Account, actor_ids: list[str]) -> list[RelationshipView]:
        def load(views: ViewLoader) -> list[RelationshipView]:
            known = [i for i in actor_ids if get_actor(views.conn, i) is not None]
            return [views.relationship(i) for i in known]

        return await self._read(viewer, load)

    async def follow(self, viewer: Account, actor_id: str) -> RelationshipView:
        def apply(views: ViewLoader) -> RelationshipView:
            target = get_actor(views.conn, actor_id)
            if target is None or target.type == "Application":
                raise NotFound("Record not found")
            follows.follow(views.conn, viewer.actor_id, actor_id)
            return views.relationship(actor_id)

        return await self._write(viewer, apply)

    async def unfollow(self, viewer: Account, actor_id: str) -> RelationshipView:
        def apply(views: ViewLoader) -> RelationshipView:
            if get_actor(views.conn, actor_id) is None:
                raise NotFound("Record not found")
            follows.unfollow(views.conn, viewer.actor_id, actor_id)
            return views.relationship(actor_id)

        return await self._write(viewer, apply)

    async def account_statuses(
        self, viewer: Account | None, actor_id: str, page: Page, *, exclude_replies: bool
    ) -> list[StatusView]:
        def load(views: ViewLoader) -> list[StatusView]:
            if get_actor(views.conn, actor_id) is None:
                raise NotFound("Record not found")
            found = feeds.by_author(views.conn, actor_id, page, exclude_replies=exclude_replies)
            return views.statuses(found)

        return await self._read(viewer, load)

    # statuses ---------------------------------------------------------------------------------

    async def status(self, viewer: Account | None, status_id: str) -> StatusView:
        def load(views: ViewLoader) -> StatusView:
            item = _find(views.conn, status_id)
            if item is not None and views.visible(item):
                return views.status(item)
            event = _event(views, viewer, status_id)
            if event is None:
                raise NotFound("Record not found")
            return event

        return await self._read(viewer, load)

    async def post_status(self, author: Account, form: StatusForm) -> StatusView:
        if not form.text.strip() and form.poll is None:
            raise ValidationError("Validation failed: Text can't be blank", field="status")
        visibility = VISIBILITIES.get(form.visibility)
        if visibility is None:
            raise ValidationError(
                "visibility is one of public, unlisted, private, direct", field="visibility"
            )
        if form.poll is not None:
            return await self._write(author, lambda views: self._open_vote(views, author, form))
        remote = await mentions.resolve_mentions(self.ctx, form.text)
        options: dict[str, Any] = {
            "visibility": visibility,
            "summary": form.spoiler_text,
            "sensitive": form.sensitive,
            "language": form.language,
            "remote_mentions": remote,
        }

        def apply(views: ViewLoader) -> StatusView:
            conn, uris = views.conn, self.ctx.uris
            parent = _find(conn, form.in_reply_to_id) if form.in_reply_to_id else None
            if form.in_reply_to_id and (parent is None or not views.visible(parent)):
                raise NotFound("The status replied to does not exist")
            if isinstance(parent, offers.Gig):
                reply = gig_replies.reply_to_gig(
                    conn, uris, parent.id, author.actor_id, form.text, **options
                )
                return views.note(reply.note)
            if isinstance(parent, Proposal):
                raise ValidationError("Vote in the poll rather than replying", field="status")
            note = notes.post_note(
                conn, uris, author.actor_id, form.text, in_reply_to_id=form.in_reply_to_id,
                **options,
            )  # fmt: skip
            return views.note(note)

        return await self._write(author, apply)

    def _open_vote(self, views: ViewLoader, author: Account, form: StatusForm) -> StatusView:
        poll = form.poll
        assert poll is not None
        if poll.multiple:
            raise ValidationError("A cooperative's vote has one choice", field="poll[multiple]")
        if form.in_reply_to_id:
            raise ValidationError("A vote cannot be a reply", field="in_reply_to_id")
        if poll.expires_in is not None and poll.expires_in > governance.MAX_PERIOD.total_seconds():
            raise ValidationError("a vote lasts at most 90 days", field="poll[expires_in]")
        period = (
            timedelta(seconds=poll.expires_in)
            if poll.expires_in is not None
            else governance.DEFAULT_PERIOD
        )
        text = form.text.strip()
        draft = ProposalDraft(
            kind="text",
            title=_vote_title(text, poll.options),
            body=text,
            options=tuple(o.strip() for o in poll.options),
            ends_at=clock.now() + period,
        )
        coop = _coop_for_vote(views.conn, self.ctx.uris.domain, author.actor_id, text)
        made = governance.open_proposal(
            views.conn, self.ctx.uris, coop.id, draft, author_id=author.actor_id
        )
        return views.proposal(made)

    async def delete_status(self, author: Account, status_id: str) -> StatusView:
        def apply(views: ViewLoader) -> StatusView:
            conn = views.conn
            item = _find(conn, status_id)
            if item is None or not views.visible(item):
                raise NotFound("Record not found")
            if isinstance(item, Proposal):
                raise ValidationError("A cooperative's vote cannot be deleted", field="id")
            if isinstance(item, offers.Gig):
                if item.poster_id != author.actor_id:
                    raise Forbidden("This action is not allowed")
                shown = views.gig(item)
                offers.set_state(conn, item.id, author.actor_id, "withdrawn")
                return shown
            if item.author_id != author.actor_id:
                raise Forbidden("This action is not allowed")
            shown = views.note(item, with_source=True)  # Mastodon returns the text to redraft
            notes.delete_note(conn, item.id, author.actor_id)
            return shown

        return await self._write(author, apply)

    async def context(self, viewer: Account | None, status_id: str) -> Context:
        def load(views: ViewLoader) -> Context:
            item = _find(views.conn, status_id)
            if item is None or not views.visible(item):
                raise NotFound("Record not found")
            return Context(_ancestors(views, item), _descendants(views, item))

        return await self._read(viewer, load)

    # timelines --------------------------------------------------------------------------------

    async def home(self, viewer: Account, page: Page) -> list[StatusView]:
        return await self._read(
            viewer, lambda views: views.statuses(feeds.home(views.conn, viewer.actor_id, page))
        )

    async def public(
        self, viewer: Account | None, page: Page, *, local: bool, remote: bool
    ) -> list[StatusView]:
        def load(views: ViewLoader) -> list[StatusView]:
            found = feeds.public(
                views.conn, page, local_only=local, remote_only=remote, viewer_id=views.viewer_id
            )
            return views.statuses(found)

        return await self._read(viewer, load)

    async def tag(
        self, viewer: Account | None, tag: str, page: Page, *, local: bool
    ) -> list[StatusView]:
        return await self._read(
            viewer,
            lambda views: views.statuses(feeds.tagged(views.conn, tag, page, local_only=local)),
        )

    # notifications ----------------------------------------------------------------------------

    async def notifications(
        self, viewer: Account, page: Page, *, types: list[str], exclude_types: list[str]
    ) -> list[NotificationItem]:
        kinds = kinds_for(types, exclude_types)
        with_gigs = (not types or "status" in types) and "status" not in exclude_types

        def load(views: ViewLoader) -> list[NotificationItem]:
            conn = views.conn
            stored = (
                social_notifications.list_notifications(conn, viewer.id, page, kinds=kinds)
                if kinds
                else []
            )
            gigs = feeds.followed_gigs(conn, viewer.actor_id, page) if with_gigs else []
            shown = [views.notification(n) for n in stored]
            shown += [views.followed_gig(g) for g in gigs if views.visible(g)]
            return feeds.merge(page, shown)

        return await self._read(viewer, load)

    # polls ------------------------------------------------------------------------------------

    async def poll(self, viewer: Account | None, poll_id: str) -> PollView:
        def load(views: ViewLoader) -> PollView:
            proposal = governance.get_proposal(views.conn, poll_id)
            if proposal is None or not views.visible(proposal):
                raise NotFound("Record not found")
            return views.poll(proposal)

        return await self._read(viewer, load)

    async def vote(self, voter: Account, poll_id: str, choices: list[int]) -> PollView:
        uris = self.ctx.uris

        def apply(views: ViewLoader) -> PollView:
            proposal = governance.get_proposal(views.conn, poll_id)
            if proposal is None or not views.visible(proposal):
                raise NotFound("Record not found")
            if len(set(choices)) != 1:
                raise ValidationError("Choose exactly one option", field="choices")
            if choices[0] >= len(proposal.options):
                raise ValidationError("There is no such choice", field="choices")
            result = governance.cast_vote(
                views.conn, uris, proposal.id, voter.actor_id, proposal.options[choices[0]]
            )
            if not result.counted:
                if result.reason.startswith("not eligible") or result.reason.startswith("not a"):
                    raise Forbidden("Only the cooperative's members may vote")
                raise ValidationError(f"Vote refused: {result.reason}", field="choices")
            return views.poll(governance.require_proposal(views.conn, proposal.id))

        return await self._write(voter, apply)

    # search -----------------------------------------------------------------------------------

    async def search(
        self,
        viewer: Account | None,
        query: str,
        *,
        kind: str | None,
        resolve: bool,
        limit: int,
        offset: int,
    ) -> SearchResult:
        query = query.strip()
        resolved: Actor | None = None
        if resolve and viewer is not None and kind in (None, "accounts") and _names_one(query):
            # toot finds accounts to follow only this way (CLIENTS.md quirk 5).
            resolved = await coop_services.resolve_actor(self.ctx, query)

        def load(views: ViewLoader) -> SearchResult:
            conn = views.conn
            found: list[AccountView] = []
            if kind in (None, "accounts"):
                actors = (
                    [resolved]
                    if resolved is not None
                    else feeds.search_actors(conn, query, limit=limit, offset=offset)
                )
                found = [views.account(a) for a in actors if a.type != "Application"]
            statuses: list[StatusView] = []
            if kind in (None, "statuses"):
                statuses = views.statuses(_matching_items(views, query, limit))[offset:]
            tags: list[str] = []
            if kind in (None, "hashtags"):
                tags = _matching_tags(conn, query)[offset : offset + limit]
            return SearchResult(found, statuses, tags)

        return await self._read(viewer, load)


# helpers --------------------------------------------------------------------------------------


def _find(conn: sqlite3.Connection, status_id: str | None) -> Item | None:
    """The note, gig or proposal with this id (ids are unique across the three)."""
    if not status_id:
        return None
    return (
        notes.get_note(conn, status_id)
        or offers.get_gig(conn, status_id)
        or governance.get_proposal(conn, status_id)
    )


def _event(views: ViewLoader, viewer: Account | None, status_id: str) -> StatusView | None:
    """A marketplace event's status, shown to the account it was for only."""
    if viewer is None:
        return None
    found = social_notifications.get_notification(views.conn, viewer.id, status_id)
    return views.event_status(found) if found is not None else None


def _ancestors(views: ViewLoader, item: Item) -> list[StatusView]:
    conn = views.conn
    chain: list[Item] = []
    current = item
    while isinstance(current, notes.Note) and len(chain) < MAX_CONTEXT:
        parent: Item | None = None
        if current.in_reply_to_id:
            parent = notes.get_note(conn, current.in_reply_to_id)
        elif current.in_reply_to_uri:
            parent = offers.get_gig_by_note_uri(conn, current.in_reply_to_uri) or (
                offers.get_gig_by_uri(conn, current.in_reply_to_uri)
            )
        if parent is None:
            break
        chain.append(parent)
        current = parent
    return views.statuses(list(reversed(chain)))


def _descendants(views: ViewLoader, item: Item) -> list[StatusView]:
    if isinstance(item, Proposal):
        return []
    start = gig_replies.reply_target(item) if isinstance(item, offers.Gig) else item.uri
    found: list[Item] = []
    todo = [start]
    while todo and len(found) < MAX_CONTEXT:
        for reply in feeds.replies_to_uri(views.conn, todo.pop(0)):
            found.append(reply)
            todo.append(reply.uri)
    return views.statuses(found[:MAX_CONTEXT])


def _names_one(query: str) -> bool:
    """A handle (`@name@host`, `name@host`) or an actor URL: something WebFinger resolves."""
    if query.startswith(("https://", "http://")):
        return True
    return coop_services.parse_handle(query) is not None


def _matching_items(views: ViewLoader, query: str, limit: int) -> list[Item]:
    conn = views.conn
    if query.startswith(("https://", "http://")):
        known = notes.get_note_by_uri(conn, query) or offers.get_gig_by_uri(conn, query)
        return [known] if known is not None else []
    if not board.fts_query(query):
        return []
    return list(board.search(conn, BoardQuery(words=query, viewer_id=views.viewer_id, limit=limit)))


def _matching_tags(conn: sqlite3.Connection, query: str) -> list[str]:
    wanted = feeds.tag_name(query.lstrip("#"))
    if not wanted:
        return []
    names = (feeds.tag_name(s.label) for s in skills.list_skills(conn))
    return sorted({n for n in names if n.startswith(wanted)})


def _vote_title(text: str, options: list[str]) -> str:
    first = text.splitlines()[0].strip() if text else ""
    title = first or "Vote: " + " / ".join(o.strip() for o in options)
    return title if len(title) <= MAX_TITLE else title[: MAX_TITLE - 1] + "…"


def _coop_for_vote(conn: sqlite3.Connection, domain: str, actor_id: str, text: str) -> Actor:
    """The local coop a poll is a vote of: one the text mentions and the author belongs to,
    else the author's only coop here."""
    own_host = normalise_host(domain)
    for handle in parse_mentions(text):
        try:
            local = handle.host is None or normalise_host(handle.host) == own_host
        except HostError:
            continue
        actor = get_local_actor(conn, handle.username) if local else None
        if (
            actor is not None
            and actor.type == "Group"
            and membership.is_member(conn, actor.id, actor_id)
        ):
            return actor
    mine = coops.memberships_of(conn, actor_id)
    if len(mine) == 1:
        return mine[0][0].actor
    raise ValidationError(
        "A poll is a vote of your cooperative: mention the cooperative (@name) it is for",
        field="poll",
    )
