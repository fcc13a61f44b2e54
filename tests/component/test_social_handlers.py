"""The social graph and notes through the real inbox: signed activities in, domain rows out.

A fake remote instance (real keys, real signatures) sends activities to one fedcoop app's
inbox; the inbox worker applies them with the real handlers; the outbox worker renders what
the domain published. Each rule about who may act on what is tested by trying it as someone
else: the activity is refused and nothing changes.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from fedcoop.accounts import accounts
from fedcoop.accounts.actors import Actor, get_actor_by_uri, get_local_actor, update_profile
from fedcoop.activitypub.vocab import PUBLIC
from fedcoop.config import Settings
from fedcoop.db.inbox_queries import StoredItem, get_item_by_activity
from fedcoop.federation.context import FederationContext
from fedcoop.federation.inbox_worker import InboxWorker
from fedcoop.federation.outbox import OutboxWorker
from fedcoop.social import blocks, follows, notes, notifications, timelines
from fedcoop.social.paging import Page
from fedcoop.web.state import FEDERATION, WORKERS
from tests.support.fake_remote import FakeRemote, RemoteActor, deliver, signed_headers

AS2 = {"Accept": "application/activity+json"}


class Instance:
    """One fedcoop app under test, with helpers to feed its inbox and read what it did."""

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

    async def remote(self, actor: RemoteActor) -> Actor:
        found = await self.read(lambda c: get_actor_by_uri(c, actor.uri))
        assert found is not None
        return found

    async def receive(
        self, sender: RemoteActor, activity: dict[str, Any], path: str = "/inbox"
    ) -> StoredItem | None:
        """Deliver a signed activity, apply it, and return its inbox item (None: not stored)."""
        resp = await deliver(self.client, self.settings.base_url, path, sender, activity)
        assert resp.status == 202, await resp.text()
        while await InboxWorker(self.ctx).run_once():
            pass
        return await self.read(lambda c: get_item_by_activity(c, activity["id"]))

    async def published(self) -> list[dict[str, Any]]:
        """Run the outbox, then every activity it stored, oldest first."""
        while await OutboxWorker(self.ctx).run_once():
            pass
        rows = await self.read(
            lambda c: c.execute("SELECT body FROM activities ORDER BY id").fetchall()
        )
        return [json.loads(r[0]) for r in rows]

    async def deliveries(self, activity_id: str) -> list[str]:
        rows = await self.read(
            lambda c: c.execute(
                "SELECT deliveries.inbox FROM deliveries JOIN activities "
                "ON activities.id = deliveries.activity_id WHERE activities.uri = ?",
                (activity_id,),
            ).fetchall()
        )
        return sorted(r[0] for r in rows)


@pytest.fixture
async def remote(aiohttp_server: Any) -> FakeRemote:
    return await FakeRemote.start(aiohttp_server)


@pytest.fixture
async def here(aiohttp_client: Any, settings: Settings) -> Instance:
    from fedcoop.app import make_app

    client = await aiohttp_client(make_app(settings))
    # These tests drive the workers step by step: the background ones must not race them.
    await client.app[WORKERS].stop()
    return Instance(client, settings)


def applied(item: StoredItem | None) -> str:
    assert item is not None
    assert item.state == "processed", (item.state, item.outcome)
    assert item.outcome is not None
    return item.outcome


def refused(item: StoredItem | None) -> str:
    assert item is not None
    assert item.state == "failed", (item.state, item.outcome)
    assert item.outcome is not None and item.outcome.startswith("rejected:")
    return item.outcome


async def followed_by_bob(here: Instance, bob: RemoteActor, name: str = "alice") -> str:
    local = await here.local(name)
    follow = bob.activity("Follow", local.uri)
    assert applied(await here.receive(bob, follow)) == "applied: follow accepted"
    return str(follow["id"])


# follows -----------------------------------------------------------------------------------


async def test_remote_follow_of_a_person_is_accepted_and_answered(
    here: Instance, remote: FakeRemote
) -> None:
    # Given bob on a remote server
    bob = remote.add_actor("bob")
    # when he follows alice, who approves followers automatically
    follow_id = await followed_by_bob(here, bob)
    # then he is her follower, she is told, and an Accept of his Follow goes to him alone
    alice = await here.local("alice")
    bob_row = await here.remote(bob)
    assert await here.read(lambda c: follows.is_following(c, bob_row.id, alice.id))
    account = await here.read(lambda c: accounts.get_account_by_actor(c, alice.id))
    kinds = [
        n.kind for n in await here.read(lambda c: notifications.list_notifications(c, account.id))
    ]
    assert kinds == ["follow"]
    (accept,) = [a for a in await here.published() if a["type"] == "Accept"]
    assert accept["actor"] == alice.uri and accept["to"] == [bob.uri]
    assert accept["object"] == {
        "id": follow_id,
        "type": "Follow",
        "actor": bob.uri,
        "object": alice.uri,
    }
    assert accept["id"].startswith(here.settings.base_url + "/activities/")
    assert await here.deliveries(accept["id"]) == [remote.url("/inbox")]


async def test_coop_accepts_and_manual_person_holds_the_request(
    here: Instance, remote: FakeRemote
) -> None:
    bob = remote.add_actor("bob")
    # Given a coop, and a member who approves followers by hand
    await here.write(
        lambda c: accounts.create_account(c, here.ctx.uris, "mia", "a long password 1")
    )
    mia = await here.local("mia")
    await here.write(lambda c: update_profile(c, mia.id, manually_approves=True))
    velo = await here.local("velo")
    # when bob follows both
    assert applied(await here.receive(bob, bob.activity("Follow", velo.uri))) == (
        "applied: follow accepted"
    )
    asked = bob.activity("Follow", mia.uri)
    assert applied(await here.receive(bob, asked)) == "applied: follow pending"
    # then the coop's follow stands, mia's waits, and only the coop has answered
    assert [a["type"] for a in await here.published()] == ["Accept"]
    bob_row = await here.remote(bob)
    ((request, requester),) = await here.read(lambda c: follows.pending_requests(c, mia.id))
    assert requester.uri == bob.uri and request.activity_uri == asked["id"]
    # when mia accepts, bob hears it
    await here.write(lambda c: follows.accept_follow(c, mia.id, request.id))
    assert await here.read(lambda c: follows.is_following(c, bob_row.id, mia.id))
    accepts = [a for a in await here.published() if a["type"] == "Accept"]
    assert accepts[-1]["object"]["id"] == asked["id"] and accepts[-1]["actor"] == mia.uri


async def test_local_follow_of_remote_is_sent_and_accepted_only_by_the_followee(
    here: Instance, remote: FakeRemote
) -> None:
    bob, carol = remote.add_actor("bob"), remote.add_actor("carol")
    alice = await here.local("alice")
    await here.ctx.fetcher.get_actor(bob.uri)
    await here.ctx.fetcher.get_actor(carol.uri)
    bob_row = await here.remote(bob)
    # Given alice follows bob: a Follow goes out, and the follow is pending
    follow = await here.write(lambda c: follows.follow(c, alice.id, bob_row.id))
    assert follow.state == "pending"
    (sent,) = await here.published()
    assert sent == {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": here.ctx.uris.object("follows", follow.id),
        "type": "Follow",
        "actor": alice.uri,
        "object": bob.uri,
        "to": [bob.uri],
    }
    # when carol claims to accept it
    forged = carol.activity("Accept", {"id": sent["id"], "type": "Follow", "actor": alice.uri})
    refused(await here.receive(carol, forged))
    # then nothing changed
    assert (await here.read(lambda c: follows.get_follow(c, follow.id))).state == "pending"
    # when bob accepts it, naming the Follow by id only inside the Accept
    accept = bob.activity("Accept", {"id": sent["id"], "type": "Follow", "actor": alice.uri})
    assert applied(await here.receive(bob, accept)) == "applied: follow accepted"
    assert await here.read(lambda c: follows.is_following(c, alice.id, bob_row.id))
    # and when alice unfollows, an Undo of that same Follow goes to bob
    assert await here.write(lambda c: follows.unfollow(c, alice.id, bob_row.id))
    undo = (await here.published())[-1]
    assert undo["type"] == "Undo" and undo["object"]["id"] == sent["id"]
    assert undo["to"] == [bob.uri]


async def test_reject_from_the_followee_removes_the_follow(
    here: Instance, remote: FakeRemote
) -> None:
    bob = remote.add_actor("bob")
    alice = await here.local("alice")
    bob_row = await here.ctx.fetcher.get_actor(bob.uri)
    follow = await here.write(lambda c: follows.follow(c, alice.id, bob_row.id))
    follow_uri = here.ctx.uris.object("follows", follow.id)
    reject = bob.activity("Reject", {"id": follow_uri, "type": "Follow", "actor": alice.uri})
    assert applied(await here.receive(bob, reject)) == "applied: follow rejected"
    assert await here.read(lambda c: follows.get_follow(c, follow.id)) is None


async def test_undo_follow_only_by_the_follower(here: Instance, remote: FakeRemote) -> None:
    bob, carol = remote.add_actor("bob"), remote.add_actor("carol")
    alice = await here.local("alice")
    follow_id = await followed_by_bob(here, bob)
    bob_row = await here.remote(bob)
    follow = {"id": follow_id, "type": "Follow", "actor": bob.uri, "object": alice.uri}
    # When carol tries to undo bob's Follow (embedded, or by its id)
    refused(await here.receive(carol, carol.activity("Undo", follow)))
    refused(await here.receive(carol, carol.activity("Undo", follow_id)))
    # then bob still follows alice
    assert await here.read(lambda c: follows.is_following(c, bob_row.id, alice.id))
    # when bob undoes it, he no longer does
    assert applied(await here.receive(bob, bob.activity("Undo", follow))) == (
        "applied: follow undone"
    )
    assert not await here.read(lambda c: follows.is_following(c, bob_row.id, alice.id))
    # and an Undo of something never seen is ignored, saying so
    assert applied(await here.receive(bob, bob.activity("Undo", follow))) == (
        "ignored: no such follow"
    )
    unknown = bob.activity("Undo", remote.url("/activities/never-seen"))
    assert applied(await here.receive(bob, unknown)) == "ignored: unknown activity"


# blocks ------------------------------------------------------------------------------------


async def test_remote_block_ends_follows_and_only_the_blocker_lifts_it(
    here: Instance, remote: FakeRemote
) -> None:
    bob, carol = remote.add_actor("bob"), remote.add_actor("carol")
    alice = await here.local("alice")
    await followed_by_bob(here, bob)
    bob_row = await here.remote(bob)
    await here.write(lambda c: follows.follow(c, alice.id, bob_row.id))
    # When bob blocks alice
    block = bob.activity("Block", alice.uri)
    assert applied(await here.receive(bob, block)) == "applied: block recorded"
    # then no follow remains either way
    assert await here.read(lambda c: follows.find_follow(c, bob_row.id, alice.id)) is None
    assert await here.read(lambda c: follows.find_follow(c, alice.id, bob_row.id)) is None
    assert await here.read(lambda c: blocks.is_blocked(c, bob_row.id, alice.id))
    # and alice cannot follow him while it stands
    from fedcoop.errors import Forbidden

    with pytest.raises(Forbidden):
        await here.write(lambda c: follows.follow(c, alice.id, bob_row.id))
    # when carol tries to lift it, it stays; when bob does, it goes
    refused(await here.receive(carol, carol.activity("Undo", {**block, "actor": bob.uri})))
    assert await here.read(lambda c: blocks.is_blocked(c, bob_row.id, alice.id))
    assert applied(await here.receive(bob, bob.activity("Undo", block))) == "applied: block undone"
    assert not await here.read(lambda c: blocks.is_blocked(c, bob_row.id, alice.id))


async def test_local_block_is_published_and_silences_the_blocked(
    here: Instance, remote: FakeRemote
) -> None:
    bob = remote.add_actor("bob")
    alice = await here.local("alice")
    await followed_by_bob(here, bob)
    bob_row = await here.remote(bob)
    made = await here.write(lambda c: blocks.block(c, alice.id, bob_row.id))
    block = (await here.published())[-1]
    assert block["type"] == "Block" and block["object"] == bob.uri
    assert block["id"] == here.ctx.uris.object("blocks", made.id)
    # A Follow from the blocked actor is ignored, and so are his mentions
    assert applied(await here.receive(bob, bob.activity("Follow", alice.uri))) == "ignored: blocked"
    mention = bob.note("hey", to=[alice.uri])
    mention["tag"] = [{"type": "Mention", "href": alice.uri}]
    await here.receive(bob, bob.create(mention))
    account = await here.read(lambda c: accounts.get_account_by_actor(c, alice.id))
    assert await here.read(lambda c: notifications.list_notifications(c, account.id)) == []
    # and unblocking publishes an Undo of that Block
    await here.write(lambda c: blocks.unblock(c, alice.id, bob_row.id))
    undo = (await here.published())[-1]
    assert undo["type"] == "Undo" and undo["object"]["id"] == block["id"]


# notes -------------------------------------------------------------------------------------


async def test_note_from_followed_actor_reaches_the_home_timeline_once(
    here: Instance, remote: FakeRemote
) -> None:
    bob = remote.add_actor("bob")
    alice = await here.local("alice")
    bob_row = await here.ctx.fetcher.get_actor(bob.uri)
    follow = await here.write(lambda c: follows.follow(c, alice.id, bob_row.id))
    await here.write(lambda c: follows.mark_accepted(c, bob_row.id, follow_id=follow.id))
    # When bob posts publicly (with a script in it), and the same note comes again
    note = bob.note('hello <script>alert(1)</script><a href="javascript:x()">l</a>')
    create = bob.create(note)
    assert applied(await here.receive(bob, create)) == "applied: note stored"
    again = bob.create(note)
    assert applied(await here.receive(bob, again)) == "ignored: note already stored"
    # then alice sees it once, sanitised
    (seen,) = await here.read(lambda c: timelines.home(c, alice.id))
    assert seen.uri == note["id"] and seen.visibility == "public"
    assert "script" not in seen.content and "javascript" not in seen.content
    # and a note by someone nobody here follows or is named in is not stored
    stranger = remote.add_actor("stranger")
    unrelated = stranger.create()
    assert applied(await here.receive(stranger, unrelated)) == (
        "ignored: the note concerns nobody here"
    )


async def test_reply_and_mention_notify_and_thread(here: Instance, remote: FakeRemote) -> None:
    bob = remote.add_actor("bob")
    alice = await here.local("alice")
    await here.ctx.fetcher.get_actor(bob.uri)
    posted = await here.write(
        lambda c: notes.post_note(c, here.ctx.uris, alice.id, "What do you think?")
    )
    # When bob replies to alice's note, and mentions her in another
    reply = bob.note("I agree")
    reply["inReplyTo"] = posted.uri
    assert applied(await here.receive(bob, bob.create(reply))) == "applied: note stored"
    mention = bob.note("@alice look", to=[alice.uri])
    mention["tag"] = [{"type": "Mention", "href": alice.uri, "name": "@alice"}]
    assert applied(await here.receive(bob, bob.create(mention))) == "applied: note stored"
    # then the reply threads under her note, and she has two notifications
    (threaded,) = await here.read(lambda c: notes.replies(c, posted.id))
    assert threaded.uri == reply["id"]
    account = await here.read(lambda c: accounts.get_account_by_actor(c, alice.id))
    found = await here.read(lambda c: notifications.list_notifications(c, account.id))
    assert sorted(n.kind for n in found) == ["mention", "mention"]
    # and the direct mention shows in her home timeline, not in the public one
    home = [n.uri for n in await here.read(lambda c: timelines.home(c, alice.id))]
    assert mention["id"] in home
    public = [n.uri for n in await here.read(lambda c: timelines.public(c))]
    assert mention["id"] not in public and reply["id"] in public


async def test_update_and_delete_only_by_the_author(here: Instance, remote: FakeRemote) -> None:
    bob, carol = remote.add_actor("bob"), remote.add_actor("carol")
    alice = await here.local("alice")
    note = bob.note("original", to=[alice.uri])
    await here.receive(bob, bob.create(note))
    # When carol (same server) sends an Update and a Delete of bob's note
    forged = {**note, "attributedTo": carol.uri, "content": "<p>forged</p>"}
    refused(await here.receive(carol, carol.activity("Update", forged)))
    refused(await here.receive(carol, carol.activity("Delete", note["id"])))
    # then the note is as bob wrote it
    stored = await here.read(lambda c: notes.get_note_by_uri(c, note["id"]))
    assert stored is not None and "original" in stored.content and not stored.deleted
    # when bob edits it, it changes
    edited = {**note, "content": "<p>edited</p>", "updated": "2030-01-01T00:00:00Z"}
    assert applied(await here.receive(bob, bob.activity("Update", edited))) == (
        "applied: note updated"
    )
    stored = await here.read(lambda c: notes.get_note_by_uri(c, note["id"]))
    assert stored.content == "<p>edited</p>" and stored.edited_at == "2030-01-01T00:00:00.000Z"
    # when bob deletes it, a tombstone stays, and a replayed Create is dropped at the door
    tombstone = {"id": note["id"], "type": "Tombstone"}
    assert applied(await here.receive(bob, bob.activity("Delete", tombstone))) == (
        "applied: note deleted"
    )
    stored = await here.read(lambda c: notes.get_note_by_uri(c, note["id"]))
    assert stored.deleted and stored.content == ""
    assert await here.receive(bob, bob.create(note)) is None
    # and deleting what was never seen is ignored, though remembered
    ghost = remote.url("/notes/ghost")
    assert applied(await here.receive(bob, bob.activity("Delete", ghost))) == (
        "ignored: unknown note (tombstone kept)"
    )
    assert await here.receive(bob, bob.create({**bob.note(), "id": ghost})) is None


async def test_local_notes_are_rendered_for_their_audience(
    here: Instance, remote: FakeRemote
) -> None:
    bob, carol = remote.add_actor("bob"), remote.add_actor("carol")
    alice = await here.local("alice")
    await followed_by_bob(here, bob)
    await here.ctx.fetcher.get_actor(carol.uri)
    carol_handle = f"@carol@{remote.host}"
    # When alice posts to her followers, mentioning carol
    carol_row = await here.remote(carol)
    posted = await here.write(
        lambda c: notes.post_note(
            c,
            here.ctx.uris,
            alice.id,
            f"hi {carol_handle}",
            visibility="followers",
            remote_mentions=[carol_row],
        )
    )
    # then the Create is addressed to her followers and carol, never to the public
    create = next(a for a in await here.published() if a["type"] == "Create")
    assert create["to"] == [alice.followers]
    assert create["cc"] == [carol.uri]
    assert create["object"]["tag"] == [
        {"type": "Mention", "href": carol.uri, "name": f"@carol@{remote.host}"}
    ]
    assert 'class="u-url mention"' in create["object"]["content"]
    # and it is delivered once to the remote server both live on (shared inbox)
    assert await here.deliveries(create["id"]) == [remote.url("/inbox")]
    # and anonymous readers cannot fetch it
    path = "/notes/" + posted.id
    assert (await here.client.get(path, headers=AS2)).status == 404
    assert (await here.client.get(path)).status == 404
    # When she deletes it, a Delete with a Tombstone goes to the same audience
    await here.write(lambda c: notes.delete_note(c, posted.id, alice.id))
    delete = (await here.published())[-1]
    assert delete["type"] == "Delete" and delete["object"]["type"] == "Tombstone"
    assert delete["to"] == [alice.followers] and delete["cc"] == [carol.uri]


async def test_public_note_document_page_and_tombstone(here: Instance) -> None:
    alice = await here.local("alice")
    posted = await here.write(
        lambda c: notes.post_note(c, here.ctx.uris, alice.id, "Hello <world> https://e.example/")
    )
    path = "/notes/" + posted.id
    # An ActivityPub client gets the Note
    resp = await here.client.get(path, headers=AS2)
    assert resp.status == 200 and resp.content_type == "application/activity+json"
    doc = await resp.json(content_type=None)
    assert doc["id"] == posted.uri and doc["to"] == [PUBLIC]
    assert doc["content"].startswith('<p>Hello &lt;world&gt; <a href="https://e.example/"')
    # a browser gets a page with the text escaped once
    page = await here.client.get(path)
    assert page.status == 200 and "text/html" in page.content_type
    html = await page.text()
    assert "Hello &lt;world&gt;" in html and "<world>" not in html
    # and its Create is public in the outbox, at its own id
    create = next(a for a in await here.published() if a["type"] == "Create")
    create_path = create["id"].removeprefix(here.settings.base_url)
    assert (await here.client.get(create_path, headers=AS2)).status == 200
    # after deletion both get 410, AS2 clients with the Tombstone
    await here.write(lambda c: notes.delete_note(c, posted.id, alice.id))
    await here.published()
    gone = await here.client.get(path, headers=AS2)
    assert gone.status == 410
    assert (await gone.json(content_type=None))["type"] == "Tombstone"
    assert (await here.client.get(path)).status == 410
    assert (await here.client.get("/notes/not-an-id")).status == 404
    # and the Create that carried its text is no longer served, nor listed in the outbox
    assert (await here.client.get(create_path, headers=AS2)).status == 404
    outbox = await here.client.get("/users/alice/outbox?page=true", headers=AS2)
    items = (await outbox.json(content_type=None))["orderedItems"]
    assert create["id"] not in [item["id"] for item in items]


async def test_followers_only_note_is_served_to_a_signed_follower_only(
    aiohttp_client: Any, make_instance: Any, remote: FakeRemote
) -> None:
    from fedcoop.app import make_app

    # Given an instance with authorized fetch, and alice's followers-only note
    settings = make_instance(extra={"federation": {"authorized_fetch": True}})
    client = await aiohttp_client(make_app(settings))
    await client.app[WORKERS].stop()  # the test drives the workers itself
    here = Instance(client, settings)
    bob, carol = remote.add_actor("bob"), remote.add_actor("carol")
    alice = await here.local("alice")
    await followed_by_bob(here, bob)
    posted = await here.write(
        lambda c: notes.post_note(c, here.ctx.uris, alice.id, "for you", visibility="followers")
    )
    path = "/notes/" + posted.id

    def signed_by(actor: RemoteActor) -> dict[str, str]:
        headers = signed_headers("GET", settings.base_url + path, None, actor.key_id, actor.rsa_key)
        return headers | AS2

    # when her follower asks with a signed GET, he gets it
    resp = await here.client.get(path, headers=signed_by(bob))
    assert resp.status == 200
    assert (await resp.json(content_type=None))["id"] == posted.uri
    # when someone else asks, signed or not, it is not there for them
    assert (await here.client.get(path, headers=signed_by(carol))).status == 404
    assert (await here.client.get(path, headers=AS2)).status == 401


# actors ------------------------------------------------------------------------------------


async def test_actor_update_only_by_itself_and_delete_removes_what_it_sent(
    here: Instance, remote: FakeRemote
) -> None:
    bob = remote.add_actor("bob")
    alice = await here.local("alice")
    await followed_by_bob(here, bob)
    note = bob.note("bye", to=[alice.uri])
    await here.receive(bob, bob.create(note))
    # When bob updates his profile, the cached copy changes
    renamed = {**bob.document(), "name": "Robert"}
    assert applied(await here.receive(bob, bob.activity("Update", renamed))) == (
        "applied: actor refreshed"
    )
    assert (await here.remote(bob)).display_name == "Robert"
    # When bob deletes himself, his note becomes a tombstone and his follow is gone
    assert applied(await here.receive(bob, bob.activity("Delete", bob.uri))) == (
        "applied: actor removed"
    )
    assert await here.read(lambda c: notes.get_note_by_uri(c, note["id"])) is None
    tombstoned = await here.read(
        lambda c: c.execute("SELECT uri FROM tombstones ORDER BY uri").fetchall()
    )
    assert {r[0] for r in tombstoned} >= {note["id"], bob.uri}
    assert await here.read(lambda c: follows.count_followers(c, alice.id)) == 0
    assert await here.read(lambda c: get_actor_by_uri(c, bob.uri)) is None


async def test_profile_update_of_a_local_actor_is_published_to_followers(
    here: Instance, remote: FakeRemote
) -> None:
    from fedcoop.social.profiles import update_profile as publish_profile

    bob = remote.add_actor("bob")
    await followed_by_bob(here, bob)
    alice = await here.local("alice")
    await here.write(lambda c: publish_profile(c, alice.id, display_name="Alice B."))
    update = (await here.published())[-1]
    assert update["type"] == "Update" and update["object"]["id"] == alice.uri
    assert update["object"]["name"] == "Alice B." and "@context" not in update["object"]
    assert await here.deliveries(update["id"]) == [remote.url("/inbox")]
    # an unchanged profile publishes nothing more
    await here.write(lambda c: publish_profile(c, alice.id, display_name="Alice B."))
    assert (await here.published())[-1]["id"] == update["id"]


async def test_home_timeline_pages_by_id(here: Instance) -> None:
    alice = await here.local("alice")
    posted = []
    for i in range(5):
        posted.append(
            await here.write(lambda c, i=i: notes.post_note(c, here.ctx.uris, alice.id, f"n{i}"))
        )
    ids = [n.id for n in posted]
    first = await here.read(lambda c: timelines.home(c, alice.id, Page(limit=2)))
    assert [n.id for n in first] == [ids[4], ids[3]]
    older = await here.read(lambda c: timelines.home(c, alice.id, Page(max_id=ids[3], limit=2)))
    assert [n.id for n in older] == [ids[2], ids[1]]
    newer = await here.read(lambda c: timelines.home(c, alice.id, Page(min_id=ids[0], limit=2)))
    assert [n.id for n in newer] == [ids[2], ids[1]]
    since = await here.read(lambda c: timelines.home(c, alice.id, Page(since_id=ids[0], limit=2)))
    assert [n.id for n in since] == [ids[4], ids[3]]
