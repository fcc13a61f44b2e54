"""Cooperative activities through the real inbox, and the bad input that must change nothing.

One fedcoop instance (coop velo, admin alice, local person bob) and a fake remote instance with
real keys: dan and eve (people) and rail (a coop). Each rule is tested by breaking it: an Add
or Remove from anyone but the coop, a Relationship with a missing or wrong proof, a vote after
the end time, a Join to a closed coop.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from fedcoop import clock
from fedcoop.accounts import accounts
from fedcoop.accounts.actors import Actor, get_actor_by_uri, get_local_actor
from fedcoop.activitypub.multikey import public_key_from_multibase
from fedcoop.activitypub.proofs import sign_document, verify_document
from fedcoop.activitypub.vocab import AS_CONTEXT, DATA_INTEGRITY_CONTEXT
from fedcoop.config import Settings
from fedcoop.db.inbox_queries import StoredItem, get_item_by_activity
from fedcoop.federation.affiliations import shown_memberships
from fedcoop.federation.context import FederationContext
from fedcoop.federation.inbox_worker import InboxWorker
from fedcoop.federation.outbox import OutboxWorker
from fedcoop.gigs import governance, membership
from fedcoop.gigs.governance import ProposalDraft
from fedcoop.web.state import FEDERATION, WORKERS
from tests.support.fake_remote import FakeRemote, RemoteActor, deliver


class Instance:
    def __init__(self, client: Any, settings: Settings) -> None:
        self.client = client
        self.settings = settings
        self.ctx: FederationContext = client.server.app[FEDERATION]

    async def read(self, fn: Any) -> Any:
        return await self.ctx.db.read(fn)

    async def write(self, fn: Any) -> Any:
        return await self.ctx.db.write(fn)

    async def local(self, name: str) -> Actor:
        found = await self.read(lambda c: get_local_actor(c, name))
        assert found is not None
        return found

    async def known(self, uri: str) -> Actor:
        found = await self.read(lambda c: get_actor_by_uri(c, uri))
        assert found is not None
        return found

    async def receive(self, sender: RemoteActor, activity: dict[str, Any]) -> StoredItem:
        resp = await deliver(self.client, self.settings.base_url, "/inbox", sender, activity)
        assert resp.status == 202, await resp.text()
        while await InboxWorker(self.ctx).run_once():
            pass
        item = await self.read(lambda c: get_item_by_activity(c, activity["id"]))
        assert item is not None
        return item

    async def published(self) -> list[dict[str, Any]]:
        while await OutboxWorker(self.ctx).run_once():
            pass
        rows = await self.read(
            lambda c: c.execute("SELECT body FROM activities ORDER BY id").fetchall()
        )
        return [json.loads(r[0]) for r in rows]

    async def set_admission(self, mode: str) -> None:
        velo = await self.local("velo")
        await self.write(
            lambda c: c.execute(
                "UPDATE coops SET admission = ? WHERE actor_id = ?", (mode, velo.id)
            )
        )


@pytest.fixture
async def instance(client: Any, settings: Settings) -> Instance:
    await client.app[WORKERS].stop()  # the tests drive the workers themselves
    inst = Instance(client, settings)
    await inst.write(
        lambda c: accounts.create_account(c, inst.ctx.uris, "bob", "a long password 1")
    )
    return inst


@pytest.fixture
async def remote(aiohttp_server: Any) -> FakeRemote:
    return await FakeRemote.start(aiohttp_server)


def make_coop(remote: FakeRemote, name: str) -> RemoteActor:
    """A remote actor served as a Group with an affiliations collection."""
    coop = remote.add_actor(name)
    remote.put(
        coop.uri,
        {**coop.document(), "type": "Group", "affiliations": coop.uri + "/affiliations"},
    )
    return coop


def relationship(
    coop: RemoteActor, subject: str, role: str = "member", *, signer: RemoteActor | None = None
) -> dict[str, Any]:
    doc = {
        "@context": [AS_CONTEXT, DATA_INTEGRITY_CONTEXT],
        "id": coop.uri + "/affiliations/1",
        "type": "Relationship",
        "attributedTo": coop.uri,
        "subject": subject,
        "object": coop.uri,
        "relationship": role,
    }
    by = signer or coop
    return sign_document(doc, by.ed_key, by.ed_key_id, clock.now())


async def bob_asks_rail(inst: Instance, rail: RemoteActor) -> tuple[Actor, Actor]:
    bob = await inst.local("bob")
    rail_here = await inst.ctx.fetcher.get_actor(rail.uri)
    await inst.write(lambda c: membership.send_join(c, inst.ctx.uris, bob.id, rail_here.id))
    return bob, rail_here


async def bob_in_rail(inst: Instance, rail_here: Actor) -> membership.Membership:
    bob = await inst.local("bob")
    found = await inst.read(lambda c: membership.find_membership(c, rail_here.id, bob.id))
    assert found is not None
    return found


# joining a local coop ---------------------------------------------------------------------------


async def test_a_join_to_a_closed_coop_is_answered_with_reject(
    instance: Instance, remote: FakeRemote
) -> None:
    dan = remote.add_actor("dan")
    velo = await instance.local("velo")
    await instance.set_admission("closed")
    # When dan asks to join velo, which is closed to new members
    join = dan.activity("Join", velo.uri, to=[velo.uri])
    item = await instance.receive(dan, join)
    assert item.outcome == "applied: join refused"
    # then he is not a member, and velo answers with a Reject of his Join
    dan_here = await instance.known(dan.uri)
    assert not await instance.read(lambda c: membership.is_member(c, velo.id, dan_here.id))
    (reject,) = [a for a in await instance.published() if a["type"] == "Reject"]
    assert reject["actor"] == velo.uri and reject["to"] == [dan.uri]
    assert reject["object"]["id"] == join["id"] and reject["object"]["type"] == "Join"


async def test_an_approved_join_is_answered_with_accept_and_a_signed_add(
    instance: Instance, remote: FakeRemote
) -> None:
    dan = remote.add_actor("dan")
    velo, alice = await instance.local("velo"), await instance.local("alice")
    join = dan.activity("Join", velo.uri, to=[velo.uri])
    assert (await instance.receive(dan, join)).outcome == "applied: join waiting for an admin"
    assert not [a for a in await instance.published() if a["type"] in ("Accept", "Add")]
    ((request, _),) = await instance.read(lambda c: membership.pending_requests(c, velo.id))
    await instance.write(lambda c: membership.admit(c, request.id, by_actor_id=alice.id))
    published = await instance.published()
    (accept,) = [a for a in published if a["type"] == "Accept"]
    (add,) = [a for a in published if a["type"] == "Add"]
    assert accept["object"]["id"] == join["id"]
    assert add["target"] == velo.uri + "/affiliations"
    assert add["object"]["subject"] == dan.uri and add["object"]["relationship"] == "member"
    assert velo.ed25519_multibase is not None
    verify_document(add["object"], public_key_from_multibase(velo.ed25519_multibase))


async def test_undo_of_a_join_withdraws_the_request(instance: Instance, remote: FakeRemote) -> None:
    dan = remote.add_actor("dan")
    velo = await instance.local("velo")
    join = dan.activity("Join", velo.uri, to=[velo.uri])
    await instance.receive(dan, join)
    undo = dan.activity("Undo", {k: v for k, v in join.items() if k != "@context"})
    assert (await instance.receive(dan, undo)).outcome == "applied: left the coop"
    assert not await instance.read(lambda c: membership.pending_requests(c, velo.id))


# a remote coop's Add and Remove at a member's home ---------------------------------------------


async def test_an_add_from_anyone_but_the_coop_changes_nothing(
    instance: Instance, remote: FakeRemote
) -> None:
    rail, eve = make_coop(remote, "rail"), remote.add_actor("eve")
    bob, rail_here = await bob_asks_rail(instance, rail)
    # eve sends an Add naming rail as the coop (signed by rail's key would not help her)
    add = eve.activity("Add", relationship(rail, bob.uri), target=rail.uri + "/affiliations")
    item = await instance.receive(eve, add)
    assert item.state == "failed" and "only the coop itself" in (item.outcome or "")
    assert (await bob_in_rail(instance, rail_here)).state == "pending"


@pytest.mark.parametrize("flaw", ["missing", "signed by someone else", "altered after signing"])
async def test_an_add_without_a_valid_proof_is_not_a_membership(
    instance: Instance, remote: FakeRemote, flaw: str
) -> None:
    rail, eve = make_coop(remote, "rail"), remote.add_actor("eve")
    bob, rail_here = await bob_asks_rail(instance, rail)
    doc = relationship(rail, bob.uri, signer=eve if flaw == "signed by someone else" else None)
    if flaw == "missing":
        doc.pop("proof")
    if flaw == "altered after signing":
        doc["relationship"] = "admin"
    item = await instance.receive(rail, rail.activity("Add", doc))
    assert item.state == "failed" and "proves nothing" in (item.outcome or "")
    assert (await bob_in_rail(instance, rail_here)).state == "pending"
    assert rail.uri not in {m.coop.uri for m in await shown_memberships(instance.ctx, bob)}


async def test_the_coops_own_signed_add_makes_a_membership_and_only_it_removes_it(
    instance: Instance, remote: FakeRemote
) -> None:
    rail, eve = make_coop(remote, "rail"), remote.add_actor("eve")
    bob, rail_here = await bob_asks_rail(instance, rail)
    signed = relationship(rail, bob.uri)
    item = await instance.receive(rail, rail.activity("Add", signed))
    assert item.outcome == "applied: membership as member"
    assert (await bob_in_rail(instance, rail_here)).state == "active"
    # a Remove from eve is refused; bob stays a member
    removal = {k: v for k, v in signed.items() if k not in ("proof", "@context")}
    refused = await instance.receive(eve, eve.activity("Remove", removal))
    assert refused.state == "failed"
    assert (await bob_in_rail(instance, rail_here)).state == "active"
    # rail's own Remove ends it
    done = await instance.receive(rail, rail.activity("Remove", removal))
    assert done.outcome == "applied: membership removed"
    assert (await bob_in_rail(instance, rail_here)).state == "removed"


async def test_an_unsolicited_add_is_ignored(instance: Instance, remote: FakeRemote) -> None:
    rail = make_coop(remote, "rail")
    bob = await instance.local("bob")
    item = await instance.receive(rail, rail.activity("Add", relationship(rail, bob.uri)))
    assert item.outcome == "ignored: this person never asked to join that coop"
    assert not await shown_memberships(instance.ctx, bob)


# showing memberships ---------------------------------------------------------------------------


@pytest.mark.parametrize("valid", [True, False])
async def test_a_remote_persons_claims_count_only_when_the_coop_vouches(
    instance: Instance, remote: FakeRemote, valid: bool
) -> None:
    rail, eve = make_coop(remote, "rail"), remote.add_actor("eve")
    claim = relationship(rail, eve.uri)
    remote.put(eve.uri, {**eve.document(), "affiliations": eve.uri + "/affiliations"})
    remote.put(
        eve.uri + "/affiliations",
        {"id": eve.uri + "/affiliations", "type": "OrderedCollection", "orderedItems": [claim]},
    )
    listed = claim if valid else relationship(rail, eve.uri, signer=eve)
    remote.put(
        rail.uri + "/affiliations",
        {"id": rail.uri + "/affiliations", "type": "OrderedCollection", "orderedItems": [listed]},
    )
    eve_here = await instance.ctx.fetcher.get_actor(eve.uri)
    shown = await shown_memberships(instance.ctx, eve_here)
    assert ([m.coop.uri for m in shown] == [rail.uri]) is valid


# votes --------------------------------------------------------------------------------------


async def test_votes_by_note_reply_count_once_and_not_after_the_end(
    instance: Instance, remote: FakeRemote
) -> None:
    dan, eve, fay = remote.add_actor("dan"), remote.add_actor("eve"), remote.add_actor("fay")
    velo, alice = await instance.local("velo"), await instance.local("alice")
    await instance.set_admission("open")
    await instance.receive(dan, dan.activity("Join", velo.uri))
    await instance.receive(fay, fay.activity("Join", velo.uri))
    draft = ProposalDraft(
        kind="text", title="Night shifts?", ends_at=clock.now() + timedelta(hours=1)
    )
    proposal = await instance.write(
        lambda c: governance.open_proposal(c, instance.ctx.uris, velo.id, draft, author_id=alice.id)
    )
    # the Question goes to dan, a remote member
    (create,) = [a for a in await instance.published() if a["type"] == "Create"]
    assert dan.uri in create["to"] and create["object"]["type"] == "Question"

    def vote(voter: RemoteActor, option: str) -> dict[str, Any]:
        note = {
            "id": voter.new_id("notes"),
            "type": "Note",
            "name": option,
            "inReplyTo": proposal.uri,
            "attributedTo": voter.uri,
            "to": [velo.uri],
        }
        return voter.create(note, to=[velo.uri])

    assert (await instance.receive(dan, vote(dan, "Yes"))).outcome == "applied: vote counted"
    second = await instance.receive(dan, vote(dan, "No"))
    assert second.outcome == "ignored: vote refused, already voted"
    outsider = await instance.receive(eve, vote(eve, "No"))
    assert (outsider.outcome or "").startswith("ignored: vote refused, not eligible")
    # when the end time has passed, fay's vote is refused even before the closer ran
    await instance.write(
        lambda c: c.execute(
            "UPDATE proposals SET ends_at = ? WHERE id = ?",
            (clock.iso(clock.now() - timedelta(minutes=1)), proposal.id),
        )
    )
    late = await instance.receive(fay, vote(fay, "No"))
    assert late.outcome == "ignored: vote refused, voting has ended"
    tally = await instance.read(
        lambda c: governance.current_tally(c, governance.require_proposal(c, proposal.id))
    )
    assert tally == {"Yes": 1, "No": 0}
    # and no vote was stored as a note
    assert not await instance.read(
        lambda c: c.execute(
            "SELECT 1 FROM notes WHERE in_reply_to_uri = ?", (proposal.uri,)
        ).fetchall()
    )


async def test_a_reject_naming_our_join_by_id_counts_only_from_that_coop(
    instance: Instance, remote: FakeRemote
) -> None:
    rail, eve = make_coop(remote, "rail"), remote.add_actor("eve")
    _, rail_here = await bob_asks_rail(instance, rail)
    join_uri = (await bob_in_rail(instance, rail_here)).join_uri
    assert join_uri is not None
    refused = await instance.receive(eve, eve.activity("Reject", join_uri))
    assert refused.state == "failed"
    assert (await bob_in_rail(instance, rail_here)).state == "pending"
    answered = await instance.receive(rail, rail.activity("Reject", join_uri))
    assert answered.outcome == "applied: join rejected"
    assert (await bob_in_rail(instance, rail_here)).state == "rejected"
