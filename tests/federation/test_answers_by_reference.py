"""Accept and Reject that name a Follow by its id only (no embedded Follow), as some servers
send them: the follow is answered, and only by the actor it was sent to."""

from __future__ import annotations

import pytest

from fedcoop.social import follows
from tests.support.federation import Federation

pytestmark = pytest.mark.federation


async def test_accept_of_a_follow_by_reference(federation: Federation) -> None:
    a, b, c = federation["A"], federation["B"], federation["C"]
    bob = await b.local("bob")
    carol = await c.local("carol")
    # carol requires approval, so bob's follow stays pending until an answer comes
    await c.write(
        lambda conn: conn.execute(
            "UPDATE actors SET manually_approves = 1 WHERE id = ?", (carol.id,)
        )
    )
    carol_on_b = await b.ctx.fetcher.get_actor(carol.uri, refresh=True)
    made = await b.write(lambda conn: follows.follow(conn, bob.id, carol_on_b.id))
    await federation.settle()
    follow_uri = b.ctx.uris.object("follows", made.id)

    # alice on A, who was not followed, answers bob's Follow by reference: nothing changes
    alice = await a.local("alice")
    forged = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "type": "Accept",
        "id": f"{a.base_url}/activities/forged-accept",
        "actor": alice.uri,
        "object": follow_uri,
    }
    assert await a.post_signed(alice.id, bob.inbox or "", forged) == 202
    await federation.settle()
    assert (
        await b.read(lambda conn: follows.find_follow(conn, bob.id, carol_on_b.id))
    ).state == "pending"  # type: ignore[union-attr]

    # carol accepts it by reference: bob now follows carol
    accept = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "type": "Accept",
        "id": f"{c.base_url}/activities/accept-by-ref",
        "actor": carol.uri,
        "object": follow_uri,
    }
    assert await c.post_signed(carol.id, bob.inbox or "", accept) == 202
    await federation.settle()
    assert await b.read(lambda conn: follows.is_following(conn, bob.id, carol_on_b.id))
