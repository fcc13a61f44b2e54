"""Inbound cooperative activities: membership (FEP-1b12, FEP-5219) and votes on Questions.

At a LOCAL coop:
- `Join{object: coop}` becomes a request the coop's admission mode decides (open: Accept + Add
  at once; approval: an admin decides; vote: an `admit` proposal opens; closed: Reject);
- `Leave{object: coop}` and `Undo(Join)` end the sender's own membership or request;
- a `Create(Note{name: OPTION, inReplyTo: QUESTION})` from a member (a `create-note` hook) is a
  vote: the first one of an eligible member before the end time counts, anything else is
  refused and changes nothing.

At a member's HOME instance (a local person, a remote coop):
- `Accept` / `Reject` of our Join count only from the coop it was sent to;
- `Add{object: Relationship}` is honoured only from the coop itself (it is the Relationship's
  `object`), only with a valid FEP-8b32 proof by the coop's own key, and only for a person who
  asked to join that coop (no unsolicited memberships); `Remove` of a Relationship likewise
  only from the coop. Anything else is refused (`Reject`) and changes nothing;
- `Create` / `Update(Question)` from a coop one of our people belongs to is kept as a copy of
  the proposal (its tally and decision as the coop publishes them).
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from fedcoop import clock
from fedcoop.accounts.actors import Actor, get_actor
from fedcoop.activitypub.documents import all_ids, first_id
from fedcoop.errors import AppError
from fedcoop.federation.affiliations import RelationshipRefused, invalidate, verify_with_refetch
from fedcoop.federation.context import FederationContext
from fedcoop.federation.coop_to_as import (
    QuestionRefused,
    as_to_proposal_draft,
    relationship_parts,
)
from fedcoop.federation.handlers.common import local_actor, object_id, object_of, sender
from fedcoop.federation.handlers.registry import InboxItem, Reject, handles, hook
from fedcoop.federation.inbox import resolve_embedded
from fedcoop.gigs import admission, governance, membership, remote_proposals

# at a local coop ------------------------------------------------------------------------------


async def _local_coop(ctx: FederationContext, uri: str | None) -> Actor | None:
    coop = await local_actor(ctx, uri)
    return coop if coop is not None and coop.type == "Group" else None


@handles("Join", None, "Group")
async def handle_join(ctx: FederationContext, item: InboxItem) -> str:
    coop = await _local_coop(ctx, object_id(item))
    if coop is None:
        return "ignored: not a local coop"
    person = await sender(ctx, item)

    def apply(conn: sqlite3.Connection) -> str:
        try:
            outcome = admission.ask_to_join(
                conn, ctx.uris, coop.id, person.id, join_uri=item.activity_uri
            )
        except AppError as exc:
            raise Reject(exc.safe_message) from None
        if outcome.decided == "already":
            membership.resend_acceptance(conn, outcome.membership.id)
        return f"applied: join {outcome.decided}"

    return await ctx.db.write(apply)


async def _leave(ctx: FederationContext, item: InboxItem, coop: Actor) -> str:
    person = await sender(ctx, item)

    def apply(conn: sqlite3.Connection) -> str:
        try:
            left = membership.member_leaves(conn, coop.id, person.id)
        except AppError as exc:
            raise Reject(exc.safe_message) from None
        return "applied: left the coop" if left else "ignored: not a member"

    return await ctx.db.write(apply)


@handles("Leave", None, "Group")
async def handle_leave(ctx: FederationContext, item: InboxItem) -> str:
    coop = await _local_coop(ctx, object_id(item))
    if coop is None:
        return "ignored: not a local coop"
    return await _leave(ctx, item, coop)


@handles("Undo", "Join")
async def handle_undo_join(ctx: FederationContext, item: InboxItem) -> str:
    join = object_of(item)
    assert isinstance(join, dict)  # routed on the embedded object's type
    if first_id(join.get("actor")) not in (None, item.actor_uri):
        raise Reject("only its sender may undo a Join")
    coop = await _local_coop(ctx, first_id(join.get("object")))
    if coop is None:
        return "ignored: not a local coop"
    return await _leave(ctx, item, coop)


@hook("undo-reference")
async def undo_join_by_id(
    ctx: FederationContext, item: InboxItem, uri: str, actor: Actor
) -> str | None:
    found = await ctx.db.read(lambda conn: membership.find_by_join(conn, uri))
    if found is None:
        return None
    if found.actor_id != actor.id:
        raise Reject("only its sender may undo a Join")
    coop = await ctx.db.read(lambda conn: get_actor(conn, found.coop_actor_id))
    if coop is None or not coop.local:
        return None
    return await _leave(ctx, item, coop)


@hook("create-note")
async def count_vote(ctx: FederationContext, item: InboxItem, obj: Any, voter: Actor) -> str | None:
    """A reply naming an option of one of our coops' Questions is a vote, not a note."""
    if not isinstance(obj, dict):
        return None
    question = first_id(obj.get("inReplyTo"))
    option = obj.get("name")
    if question is None or not isinstance(option, str) or not ctx.uris.is_local(question):
        return None
    proposal = await ctx.db.read(lambda conn: governance.get_proposal_by_uri(conn, question))
    if proposal is None or not proposal.local:
        return None
    note_uri = obj.get("id") if isinstance(obj.get("id"), str) else None
    result = await ctx.db.write(
        lambda conn: governance.cast_vote(
            conn, ctx.uris, proposal.id, voter.id, option[:200], note_uri=note_uri
        )
    )
    return "applied: vote counted" if result.counted else f"ignored: vote refused, {result.reason}"


# at a member's home -------------------------------------------------------------------------


async def _answer_join(ctx: FederationContext, item: InboxItem, *, accepted: bool) -> str:
    join = object_of(item)
    assert isinstance(join, dict)
    if first_id(join.get("object")) not in (None, item.actor_uri):
        raise Reject("only the coop a Join was sent to may answer it")
    person = await local_actor(ctx, first_id(join.get("actor")))
    join_uri = first_id(join)
    coop = await sender(ctx, item)

    def apply(conn: sqlite3.Connection) -> str:
        found = membership.find_by_join(conn, join_uri) if join_uri else None
        if found is None and person is not None:
            found = membership.find_membership(conn, coop.id, person.id)
        if found is None:
            return "ignored: no such request"
        if found.coop_actor_id != coop.id:
            raise Reject("only the coop a Join was sent to may answer it")
        if accepted:
            return "applied: join accepted (the membership counts once the coop's Add arrives)"
        refused = membership.receive_rejected(conn, coop.id, found.actor_id)
        return "applied: join rejected" if refused else "ignored: not waiting for an answer"

    return await ctx.db.write(apply)


@handles("Accept", "Join")
async def handle_accept_join(ctx: FederationContext, item: InboxItem) -> str:
    return await _answer_join(ctx, item, accepted=True)


@handles("Reject", "Join")
async def handle_reject_join(ctx: FederationContext, item: InboxItem) -> str:
    return await _answer_join(ctx, item, accepted=False)


async def _answer_by_id(
    ctx: FederationContext, uri: str, coop: Actor, *, accepted: bool
) -> str | None:
    """An Accept or Reject naming our Join by its id only (no embedded Join)."""

    def apply(conn: sqlite3.Connection) -> str | None:
        found = membership.find_by_join(conn, uri)
        if found is None:
            return None  # not a Join of ours: another hook may know it
        if found.coop_actor_id != coop.id:
            raise Reject("only the coop a Join was sent to may answer it")
        if accepted:
            return "applied: join accepted (the membership counts once the coop's Add arrives)"
        refused = membership.receive_rejected(conn, coop.id, found.actor_id)
        return "applied: join rejected" if refused else "ignored: not waiting for an answer"

    return await ctx.db.write(apply)


@hook("accept-reference")
async def join_accepted_by_id(
    ctx: FederationContext, item: InboxItem, uri: str, actor: Actor
) -> str | None:
    return await _answer_by_id(ctx, uri, actor, accepted=True)


@hook("reject-reference")
async def join_rejected_by_id(
    ctx: FederationContext, item: InboxItem, uri: str, actor: Actor
) -> str | None:
    return await _answer_by_id(ctx, uri, actor, accepted=False)


def _relationship(item: InboxItem) -> tuple[dict[str, Any], str, str, str]:
    doc = object_of(item)
    parts = relationship_parts(doc)
    if not isinstance(doc, dict) or parts is None:
        raise Reject(f"{item.activity_type} needs an embedded Relationship with a role")
    subject, coop_uri, role = parts
    if coop_uri != item.actor_uri:
        raise Reject("only the coop itself may change its affiliations")
    return doc, subject, coop_uri, role


@handles("Add", "Relationship")
async def handle_add_relationship(ctx: FederationContext, item: InboxItem) -> str:
    doc, subject, coop_uri, role = _relationship(item)
    person = await local_actor(ctx, subject)
    if person is None:
        return "ignored: not about a local person"
    coop = await sender(ctx, item)
    if coop.type != "Group":
        raise Reject("only a coop (a Group) has affiliations")
    try:
        await verify_with_refetch(ctx, doc, coop, person.uri)
    except RelationshipRefused as exc:
        raise Reject(f"the Relationship proves nothing: {exc}") from None

    def apply(conn: sqlite3.Connection) -> str:
        asked = membership.find_membership(conn, coop.id, person.id)
        if asked is None:
            return "ignored: this person never asked to join that coop"
        membership.receive_added(conn, coop.id, person.id, role, json.dumps(doc))
        return f"applied: membership as {role}"

    outcome = await ctx.db.write(apply)
    await invalidate(ctx, coop_uri, person.uri)
    return outcome


@handles("Remove", "Relationship")
async def handle_remove_relationship(ctx: FederationContext, item: InboxItem) -> str:
    _, subject, coop_uri, _ = _relationship(item)
    person = await local_actor(ctx, subject)
    if person is None:
        return "ignored: not about a local person"
    coop = await sender(ctx, item)
    removed = await ctx.db.write(lambda conn: membership.receive_removed(conn, coop.id, person.id))
    await invalidate(ctx, coop_uri, person.uri)
    return "applied: membership removed" if removed else "ignored: not a member"


async def _question(ctx: FederationContext, item: InboxItem) -> str:
    coop = await sender(ctx, item)
    if coop.type != "Group":
        return "ignored: only coops' proposals are kept"
    obj = await resolve_embedded(ctx, item.activity)
    if obj is None:
        raise Reject("the Question could not be verified at its origin")
    if first_id(obj.get("attributedTo")) != coop.uri:
        raise Reject("the Question is not the coop's")
    try:
        draft = as_to_proposal_draft(obj, clock.now())
    except QuestionRefused as exc:
        raise Reject(str(exc)) from None
    addressed = [*all_ids(obj.get("to")), *all_ids(obj.get("cc"))]

    def store(conn: sqlite3.Connection) -> str:
        ours = [uri for uri in addressed if ctx.uris.is_local(uri)]
        if not ours and not membership.local_members_of(conn, coop.id):
            return "ignored: the proposal concerns nobody here"
        try:
            remote_proposals.store_remote_proposal(conn, coop.id, draft)
        except AppError as exc:
            raise Reject(exc.safe_message) from None
        return "applied: proposal closed" if draft.closed_at else "applied: proposal stored"

    return await ctx.db.write(store)


@handles("Create", "Question")
async def handle_create_question(ctx: FederationContext, item: InboxItem) -> str:
    return await _question(ctx, item)


@handles("Update", "Question")
async def handle_update_question(ctx: FederationContext, item: InboxItem) -> str:
    return await _question(ctx, item)
