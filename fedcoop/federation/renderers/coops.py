"""Renderers of the cooperative events: membership and governance -> activities.

A local coop answers a Join with `Accept{object: the Join}` and `Add{object: Relationship,
target: COOP/affiliations}` (the Add also goes to the coop's followers: FEP-5219 affiliations
are public), or with `Reject`; a removal is `Remove` of the Relationship. A local person's Join
and Leave go to the remote coop. A proposal opens as `Create(Question)` and closes as
`Update(Question)`, both to every member of the electorate (each remote member is delivered
to); a local member's vote on a remote coop's proposal is `Create(Note{name, inReplyTo})` to
that coop. Ids come from the event (`…/activities/<event id>`, `…-add` for the Add), so the
outbox can render an event twice and get the same documents.
"""

from __future__ import annotations

from typing import Any

from fedcoop.accounts.actors import Actor, get_actor
from fedcoop.activitypub.vocab import AS_CONTEXT
from fedcoop.federation.coop_documents import question_document, relationship_of
from fedcoop.federation.coop_to_as import QUESTION_CONTEXT, relationship_uri, vote_note
from fedcoop.federation.renderers.registry import Audience, Outgoing, RenderContext, renders
from fedcoop.gigs import governance, membership
from fedcoop.gigs.membership import Membership
from fedcoop.social.events import Event
from fedcoop.uris import Uris


def _activity_uri(uris: Uris, event: Event, suffix: str = "") -> str:
    return uris.object("activities", event.id + suffix)


def _activity(
    uri: str, kind: str, actor: str, obj: Any, to: list[str], cc: list[str] | None = None
) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "@context": AS_CONTEXT,
        "id": uri,
        "type": kind,
        "actor": actor,
        "object": obj,
        "to": to,
    }
    if cc:
        doc["cc"] = cc
    return doc


def _strip_context(doc: dict[str, Any]) -> dict[str, Any]:
    # Embedded objects carry no @context of their own, except a signed one: its proof covers
    # the context, so a signed Relationship is embedded exactly as it was signed.
    return {k: v for k, v in doc.items() if k != "@context"}


def join_uri(uris: Uris, found: Membership) -> str:
    """The id of the Join a membership answers: the remote one, else one we minted."""
    return found.join_uri or uris.object("joins", found.id)


def _parts(rc: RenderContext, event: Event) -> tuple[Membership, Actor, Actor] | None:
    found = membership.get_membership(rc.conn, event.subject_id or "")
    if found is None:
        return None
    coop = get_actor(rc.conn, found.coop_actor_id)
    person = get_actor(rc.conn, found.actor_id)
    if coop is None or person is None:
        return None
    return found, coop, person


def _join_doc(uri: str, person_uri: str, coop_uri: str) -> dict[str, Any]:
    return {"id": uri, "type": "Join", "actor": person_uri, "object": coop_uri}


def _add(rc: RenderContext, event: Event, parts: tuple[Membership, Actor, Actor]) -> Outgoing:
    found, coop, person = parts
    relationship = relationship_of(rc.conn, found, coop, person)
    followers = [coop.followers] if coop.followers else []
    add = _activity(
        _activity_uri(rc.uris, event, "-add"),
        "Add",
        coop.uri,
        relationship,  # signed: kept with its @context
        [person.uri],
        [*followers],
    )
    add["target"] = rc.uris.affiliations(coop.uri)
    return Outgoing(add, Audience(actor_uris=(person.uri,), followers_of=(coop.id,)), public=True)


# a local coop answers -------------------------------------------------------------------------


@renders("membership.accepted")
def render_membership_accepted(rc: RenderContext, event: Event) -> list[Outgoing]:
    parts = _parts(rc, event)
    if parts is None or parts[0].state != "active" or not parts[1].local:
        return []
    found, coop, person = parts
    accept = _activity(
        _activity_uri(rc.uris, event),
        "Accept",
        coop.uri,
        _join_doc(join_uri(rc.uris, found), person.uri, coop.uri),
        [person.uri],
    )
    return [Outgoing(accept, Audience(actor_uris=(person.uri,))), _add(rc, event, parts)]


@renders("membership.role_changed")
def render_role_changed(rc: RenderContext, event: Event) -> list[Outgoing]:
    parts = _parts(rc, event)
    if parts is None or parts[0].state != "active" or not parts[1].local:
        return []
    return [_add(rc, event, parts)]


@renders("membership.rejected")
def render_membership_rejected(rc: RenderContext, event: Event) -> list[Outgoing]:
    parts = _parts(rc, event)
    if parts is None or not parts[1].local:
        return []
    found, coop, person = parts
    reject = _activity(
        _activity_uri(rc.uris, event),
        "Reject",
        coop.uri,
        _join_doc(join_uri(rc.uris, found), person.uri, coop.uri),
        [person.uri],
    )
    return [Outgoing(reject, Audience(actor_uris=(person.uri,)))]


@renders("membership.removed")
def render_membership_removed(rc: RenderContext, event: Event) -> list[Outgoing]:
    parts = _parts(rc, event)
    if parts is None or not parts[1].local:
        return []
    found, coop, person = parts
    # The Relationship as it stood: an unsigned reference is enough to name what goes.
    relationship = {
        "id": relationship_uri(coop.uri, found.id),
        "type": "Relationship",
        "attributedTo": coop.uri,
        "subject": person.uri,
        "object": coop.uri,
        "relationship": found.role,
    }
    followers = [coop.followers] if coop.followers else []
    remove = _activity(
        _activity_uri(rc.uris, event), "Remove", coop.uri, relationship, [person.uri], followers
    )
    remove["target"] = rc.uris.affiliations(coop.uri)
    return [
        Outgoing(remove, Audience(actor_uris=(person.uri,), followers_of=(coop.id,)), public=True)
    ]


# a local person and a remote coop ---------------------------------------------------------------


@renders("membership.join")
def render_join(rc: RenderContext, event: Event) -> list[Outgoing]:
    parts = _parts(rc, event)
    if parts is None or parts[1].local or parts[0].state != "pending":
        return []
    found, coop, person = parts
    join = {
        "@context": AS_CONTEXT,
        **_join_doc(join_uri(rc.uris, found), person.uri, coop.uri),
        "to": [coop.uri],
    }
    return [Outgoing(join, Audience(actor_uris=(coop.uri,)))]


@renders("membership.leave")
def render_leave(rc: RenderContext, event: Event) -> list[Outgoing]:
    parts = _parts(rc, event)
    if parts is None or parts[1].local:
        return []
    _, coop, person = parts
    leave = _activity(_activity_uri(rc.uris, event), "Leave", person.uri, coop.uri, [coop.uri])
    return [Outgoing(leave, Audience(actor_uris=(coop.uri,)))]


# proposals and votes ------------------------------------------------------------------------


def _question_activity(rc: RenderContext, event: Event, kind: str) -> list[Outgoing]:
    proposal = governance.get_proposal(rc.conn, event.subject_id or "")
    coop = get_actor(rc.conn, event.actor_id)
    if proposal is None or coop is None or not proposal.local or proposal.coop_actor_id != coop.id:
        return []
    if kind == "Update" and proposal.closed_at is None:
        return []
    question = question_document(rc.conn, rc.uris, proposal, coop, context=False)
    to = question["to"]
    doc = _activity(_activity_uri(rc.uris, event), kind, coop.uri, question, to)
    doc["@context"] = QUESTION_CONTEXT
    doc["published"] = question["updated"] if kind == "Update" else question["published"]
    # Every member of the electorate is a recipient (local ones are skipped by the outbox).
    return [Outgoing(doc, Audience(actor_uris=tuple(to)))]


@renders("proposal.opened")
def render_proposal_opened(rc: RenderContext, event: Event) -> list[Outgoing]:
    return _question_activity(rc, event, "Create")


@renders("proposal.closed")
def render_proposal_closed(rc: RenderContext, event: Event) -> list[Outgoing]:
    return _question_activity(rc, event, "Update")


@renders("vote.cast")
def render_vote(rc: RenderContext, event: Event) -> list[Outgoing]:
    vote = governance.get_vote(rc.conn, event.subject_id or "")
    voter = get_actor(rc.conn, event.actor_id)
    if vote is None or voter is None or vote.note_uri is None:
        return []
    proposal = governance.get_proposal(rc.conn, vote.proposal_id)
    coop = get_actor(rc.conn, proposal.coop_actor_id) if proposal else None
    if proposal is None or coop is None or proposal.local:
        return []
    note = vote_note(vote.note_uri, voter, vote.option, proposal.uri, coop.uri, vote.created_at)
    create = _activity(_activity_uri(rc.uris, event), "Create", voter.uri, note, [coop.uri])
    return [Outgoing(create, Audience(actor_uris=(coop.uri,)))]
