"""Three real instances follow each other, post, reply, delete and go down, over loopback.

A hosts the coop velo and alice, B the coop rail and bob, C the coop bus and carol. Every
request between them is a real signed HTTP request; nothing is mocked. `settle()` runs each
instance's workers until the federation is quiet, so each scenario reads as: do something on
one instance, let it travel, look at the others.
"""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest

from fedcoop import clock
from fedcoop.accounts import accounts
from fedcoop.accounts.actors import update_profile
from fedcoop.federation import mentions
from fedcoop.social import follows, notes, notifications, timelines
from fedcoop.social.profiles import update_profile as publish_profile
from tests.support.federation import Federation, Node

pytestmark = pytest.mark.federation

AS2 = "application/activity+json"


async def bob_follows_alice(fed: Federation) -> None:
    a, b = fed["A"], fed["B"]
    bob = await b.local("bob")
    alice_on_b = await b.remote(a, "alice")
    await b.write(lambda c: follows.follow(c, bob.id, alice_on_b.id))
    await fed.settle()
    assert await b.read(lambda c: follows.is_following(c, bob.id, alice_on_b.id))


async def kinds_for(node: Node, username: str) -> list[tuple[str, str | None]]:
    """(kind, sender uri) of a local account's notifications, oldest first."""
    actor = await node.local(username)
    account = await node.read(lambda c: accounts.get_account_by_actor(c, actor.id))
    assert account is not None
    found = await node.read(lambda c: notifications.list_notifications(c, account.id))
    out = []
    for n in reversed(found):
        sender = await node.sql("SELECT uri FROM actors WHERE id = ?", n.from_actor_id)
        out.append((n.kind, sender[0][0] if sender else None))
    return out


async def get_as2(url: str) -> tuple[int, Any]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(url, headers={"Accept": AS2}) as resp,
    ):
        return resp.status, await resp.json(content_type=None)


async def published(node: Node, kind: str) -> dict[str, Any]:
    """The last activity of `kind` the node published (as stored in its outbox)."""
    rows = await node.sql("SELECT body FROM activities WHERE type = ? ORDER BY id DESC", kind)
    assert rows, f"{node.name} published no {kind}"
    body: dict[str, Any] = json.loads(rows[0][0])
    return body


# follows -----------------------------------------------------------------------------------


async def test_person_follows_a_remote_coop_and_sees_it_accepted(federation: Federation) -> None:
    a, b = federation["A"], federation["B"]
    bob = await b.local("bob")
    velo = await a.local("velo")
    # Given bob on B follows the coop velo on A
    velo_on_b = await b.ctx.fetcher.get_actor(velo.uri)
    follow = await b.write(lambda c: follows.follow(c, bob.id, velo_on_b.id))
    assert follow.state == "pending"
    # when the Follow and its Accept have travelled
    await federation.settle()
    # then B sees the follow accepted, and A lists bob among velo's followers
    accepted = await b.read(lambda c: follows.get_follow(c, follow.id))
    assert accepted is not None and accepted.state == "accepted"
    status, page = await get_as2(f"{a.base_url}/coops/velo/followers?page=true")
    assert status == 200 and page["orderedItems"] == [bob.uri]


async def test_follow_of_a_person_who_approves_waits_for_approval(federation: Federation) -> None:
    a, c = federation["A"], federation["C"]
    alice = await a.local("alice")
    carol = await c.local("carol")
    # Given carol on C approves her followers by hand
    await c.write(lambda conn: update_profile(conn, carol.id, manually_approves=True))
    carol_on_a = await a.remote(c, "carol")
    assert carol_on_a.manually_approves
    # when alice on A follows her
    follow = await a.write(lambda conn: follows.follow(conn, alice.id, carol_on_a.id))
    await federation.settle()
    # then the follow is pending on both sides, and carol has a request to answer
    assert (await a.read(lambda conn: follows.get_follow(conn, follow.id))).state == "pending"
    ((request, requester),) = await c.read(lambda conn: follows.pending_requests(conn, carol.id))
    assert requester.uri == alice.uri
    assert ("follow_request", alice.uri) in await kinds_for(c, "carol")
    # when carol accepts, A learns it
    await c.write(lambda conn: follows.accept_follow(conn, carol.id, request.id))
    await federation.settle()
    assert (await a.read(lambda conn: follows.get_follow(conn, follow.id))).state == "accepted"


# notes -------------------------------------------------------------------------------------


async def test_notes_replies_and_mentions_travel_both_ways(federation: Federation) -> None:
    a, b, c = federation["A"], federation["B"], federation["C"]
    alice, bob, carol = await a.local("alice"), await b.local("bob"), await c.local("carol")
    await bob_follows_alice(federation)
    # When alice posts publicly on A
    posted = await mentions.post_note(a.ctx, alice.id, "Hello from velo!")
    await federation.settle()
    # then bob's home timeline on B shows it
    (seen,) = [n for n in await b.read(lambda conn: timelines.home(conn, bob.id))]
    assert seen.uri == posted.uri and "Hello from velo!" in seen.content
    # When bob replies on B, mentioning alice by her handle
    reply = await mentions.post_note(
        b.ctx, bob.id, f"@alice@{a.domain} welcome!", in_reply_to_id=seen.id
    )
    await federation.settle()
    # then on A the reply threads under alice's note, and she is notified
    (threaded,) = await a.read(lambda conn: notes.replies(conn, posted.id))
    assert threaded.uri == reply.uri and "welcome!" in threaded.content
    assert ("mention", bob.uri) in await kinds_for(a, "alice")
    # When carol on C, who never met alice, mentions her (WebFinger finds her)
    mention = await mentions.post_note(c.ctx, carol.id, f"hi @alice@{a.domain}")
    await federation.settle()
    # then alice is notified of that too, and the note's Mention names her
    assert ("mention", carol.uri) in await kinds_for(a, "alice")
    stored = await a.read(lambda conn: notes.get_note_by_uri(conn, mention.uri))
    assert stored is not None
    mentioned = await a.read(lambda conn: notes.mentions(conn, stored.id))
    assert [m.uri for m in mentioned] == [alice.uri]


async def test_followers_only_note_reaches_followers_only(federation: Federation) -> None:
    a, b, c = federation["A"], federation["B"], federation["C"]
    alice, bob = await a.local("alice"), await b.local("bob")
    # Given bob on B follows alice, dave on B does not, nor does anyone on C
    dave = await b.write(
        lambda conn: accounts.create_account(conn, b.ctx.uris, "dave", "a long password 1")
    )
    await bob_follows_alice(federation)
    await c.remote(a, "alice")  # C knows alice, but does not follow her
    # When alice posts to her followers only
    posted = await mentions.post_note(a.ctx, alice.id, "members only", visibility="followers")
    await federation.settle()
    # then it went to B alone, where bob sees it and dave does not
    create = await published(a, "Create")
    assert create["object"]["id"] == posted.uri
    rows = await a.sql(
        "SELECT deliveries.host FROM deliveries JOIN activities "
        "ON activities.id = deliveries.activity_id WHERE activities.uri = ?",
        create["id"],
    )
    assert [r[0] for r in rows] == [b.domain]
    on_b = await b.read(lambda conn: notes.get_note_by_uri(conn, posted.uri))
    assert on_b is not None and on_b.visibility == "followers"
    assert [n.uri for n in await b.read(lambda conn: timelines.home(conn, bob.id))] == [posted.uri]
    assert await b.read(lambda conn: timelines.home(conn, dave.actor_id)) == []
    assert not await b.read(lambda conn: notes.can_see(conn, on_b, dave.actor_id))
    assert await b.read(lambda conn: timelines.public(conn)) == []
    assert await c.read(lambda conn: notes.get_note_by_uri(conn, posted.uri)) is None
    # and nobody unsigned can read it on A
    status, _ = await get_as2(posted.uri)
    assert status == 404


async def test_unfollow_stops_delivery(federation: Federation) -> None:
    a, b = federation["A"], federation["B"]
    alice, bob = await a.local("alice"), await b.local("bob")
    await bob_follows_alice(federation)
    # When bob unfollows alice
    alice_on_b = await b.remote(a, "alice")
    assert await b.write(lambda conn: follows.unfollow(conn, bob.id, alice_on_b.id))
    await federation.settle()
    assert await a.read(lambda conn: follows.count_followers(conn, alice.id)) == 0
    # then what alice posts next no longer reaches B
    posted = await mentions.post_note(a.ctx, alice.id, "anyone there?")
    await federation.settle()
    assert await a.sql("SELECT id FROM deliveries WHERE state != 'sent'") == []
    assert await b.read(lambda conn: notes.get_note_by_uri(conn, posted.uri)) is None


async def test_deleted_note_becomes_a_tombstone_and_stays_deleted(federation: Federation) -> None:
    a, b = federation["A"], federation["B"]
    alice = await a.local("alice")
    await bob_follows_alice(federation)
    posted = await mentions.post_note(a.ctx, alice.id, "soon gone")
    await federation.settle()
    create = await published(a, "Create")
    assert await b.read(lambda conn: notes.get_note_by_uri(conn, posted.uri)) is not None
    # When alice deletes the note
    await a.write(lambda conn: notes.delete_note(conn, posted.id, alice.id))
    await federation.settle()
    # then B keeps only a tombstone of it
    on_b = await b.read(lambda conn: notes.get_note_by_uri(conn, posted.uri))
    assert on_b is not None and on_b.deleted and on_b.content == ""
    assert await b.sql("SELECT uri FROM tombstones WHERE uri = ?", posted.uri)
    # When the Create is replayed to B (as sent, and under a fresh activity id)
    inbox = f"{b.base_url}/inbox"
    assert await a.post_signed(alice.id, inbox, create) == 202
    replay = {**create, "id": create["id"] + "-replayed"}
    assert await a.post_signed(alice.id, inbox, replay) == 202
    await federation.settle()
    # then the note stays deleted, and the replay was not even stored
    on_b = await b.read(lambda conn: notes.get_note_by_uri(conn, posted.uri))
    assert on_b is not None and on_b.deleted
    assert await b.sql("SELECT id FROM inbox_items WHERE activity_uri = ?", replay["id"]) == []
    # and A answers for the note with its Tombstone
    status, doc = await get_as2(posted.uri)
    assert status == 410 and doc["type"] == "Tombstone"


# actors ------------------------------------------------------------------------------------


async def test_profile_update_refreshes_the_cached_actor(federation: Federation) -> None:
    a, b = federation["A"], federation["B"]
    alice = await a.local("alice")
    await bob_follows_alice(federation)
    # When alice changes her display name on A
    await a.write(lambda conn: publish_profile(conn, alice.id, display_name="Alice of Velo"))
    await federation.settle()
    # then B's copy of her has it
    alice_on_b = await b.known(alice.uri)
    assert alice_on_b is not None and alice_on_b.display_name == "Alice of Velo"


# delivery ----------------------------------------------------------------------------------


async def test_delivery_to_an_instance_that_is_down_arrives_when_it_is_back(
    federation: Federation,
) -> None:
    a, b = federation["A"], federation["B"]
    alice, bob = await a.local("alice"), await b.local("bob")
    await bob_follows_alice(federation)
    # Given B is down
    await b.stop()
    # when alice posts
    posted = await mentions.post_note(a.ctx, alice.id, "are you there?")
    await federation.settle()
    # then the delivery waits for a retry
    ((state, attempts, error),) = await a.sql(
        "SELECT state, attempts, last_error FROM deliveries WHERE host = ? AND state != 'sent'",
        b.domain,
    )
    assert (state, attempts) == ("queued", 1) and error
    # When B is back and the retry time has come (rewound rather than waited for)
    await b.start()
    await a.write(
        lambda conn: conn.execute(
            "UPDATE deliveries SET next_attempt_at = ? WHERE state = 'queued'",
            (clock.now_iso(),),
        )
    )
    await federation.settle()
    # then the note arrives, and the delivery is done
    assert [n.uri for n in await b.read(lambda conn: timelines.home(conn, bob.id))] == [posted.uri]
    assert await a.sql("SELECT id FROM deliveries WHERE state != 'sent'") == []


async def test_duplicate_delivery_is_applied_once(federation: Federation) -> None:
    a, b = federation["A"], federation["B"]
    alice = await a.local("alice")
    await bob_follows_alice(federation)
    # Given alice mentions bob, and the Create has reached B
    posted = await mentions.post_note(a.ctx, alice.id, f"thanks @bob@{b.domain}")
    await federation.settle()
    create = await published(a, "Create")
    # when the same signed activity is POSTed again, twice
    inbox = f"{b.base_url}/users/bob/inbox"
    assert await a.post_signed(alice.id, inbox, create) == 202
    assert await a.post_signed(alice.id, inbox, create) == 202
    await federation.settle()
    # then B holds it once: one inbox item, one note, one notification
    assert len(await b.sql("SELECT id FROM inbox_items WHERE activity_uri = ?", create["id"])) == 1
    assert len(await b.sql("SELECT id FROM notes WHERE uri = ?", posted.uri)) == 1
    assert await kinds_for(b, "bob") == [("mention", alice.uri)]
