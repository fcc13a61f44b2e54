"""The marketplace domain on a real database: gigs, applications, agreements, the board."""

from __future__ import annotations

import asyncio
import sqlite3
from decimal import Decimal
from typing import Any

import pytest

from fedcoop.accounts import accounts, coops
from fedcoop.app import open_database
from fedcoop.errors import Conflict, Forbidden, ValidationError
from fedcoop.gigs import agreements, applications, board, offers, skills
from fedcoop.gigs.offers import GigDraft
from fedcoop.uris import Uris


def draft(**over: Any) -> GigDraft:
    base: dict[str, Any] = dict(
        purpose="request",
        title="Cargo-bike deliveries, Saturday market",
        description="<p>Riders with their own cargo bike.</p>",
        unit="hour",
        price=Decimal("18"),
        currency="EUR",
        available=Decimal("8"),
        minimum=Decimal("2"),
        place_name="Place Saint-Bruno, Grenoble",
        latitude=45.188,
        longitude=5.711,
        starts_at="2026-12-05T08:00:00Z",
        ends_at="2026-12-05T16:00:00Z",
    )
    base.update(over)
    return GigDraft(**base)


@pytest.fixture
def world(settings: Any) -> Any:
    db = open_database(settings)
    db.start()
    uris = Uris(settings.instance.scheme, settings.instance.domain)

    def setup(conn: sqlite3.Connection) -> dict[str, Any]:
        skills.ensure_shipped(conn, uris)
        alice = accounts.get_account_by_username(conn, "alice")
        bob = accounts.create_account(conn, uris, "bob", "password-bob-1")
        carol = accounts.create_account(conn, uris, "carol", "password-carol-1")
        coop = coops.get_coop(conn, "velo")
        assert alice and coop
        return {
            "alice": alice.actor_id,
            "bob": bob.actor_id,
            "carol": carol.actor_id,
            "coop": coop.actor.id,
        }

    people = db.write_sync(setup)
    yield db, uris, people
    db.close()


def test_draft_validation() -> None:
    with pytest.raises(ValidationError) as err:
        draft(available=Decimal("7.5"))
    assert err.value.field == "available"
    with pytest.raises(ValidationError) as err:
        draft(minimum=Decimal("9"))
    assert err.value.field == "minimum"
    with pytest.raises(ValidationError) as err:
        draft(title="  ")
    assert err.value.field == "title"
    with pytest.raises(ValidationError) as err:
        draft(ends_at="2026-12-05T07:00:00Z")
    assert err.value.field == "ends_at"


async def test_apply_checks_quantities(world: Any) -> None:
    db, uris, p = world
    gig = await db.write(
        lambda c: offers.create_gig(c, uris, poster_id=p["alice"], coop_id=p["coop"], draft=draft())
    )
    assert gig.remaining == Decimal("8") and gig.state == "open"

    def apply(who: str, quantity: str, amount: str | None = None) -> Any:
        return lambda c: applications.apply(
            c,
            uris,
            gig_id=gig.id,
            worker_id=p[who],
            quantity=Decimal(quantity),
            offered_amount=Decimal(amount) if amount else None,
        )

    with pytest.raises(ValidationError):  # not a whole number of hours
        await db.write(apply("bob", "2.5"))
    with pytest.raises(ValidationError):  # under the minimum
        await db.write(apply("bob", "1"))
    with pytest.raises(Conflict):  # more than is available
        await db.write(apply("bob", "9"))
    with pytest.raises(ValidationError):  # amount is not price x quantity
        await db.write(apply("bob", "4", "70"))
    with pytest.raises(Forbidden):  # the poster cannot apply to their own gig
        await db.write(apply("alice", "4"))
    app = await db.write(apply("bob", "4", "72"))
    assert app.amount == Decimal("72") and app.state == "pending"
    with pytest.raises(Conflict):  # one pending application per worker and gig
        await db.write(apply("bob", "2"))
    rows = await db.read(lambda c: c.execute("SELECT count(*) FROM applications").fetchone()[0])
    assert rows == 1  # nothing half-written by the refused attempts


async def test_racing_acceptances_for_the_last_slot(world: Any) -> None:
    db, uris, p = world
    gig = await db.write(
        lambda c: offers.create_gig(
            c,
            uris,
            poster_id=p["alice"],
            coop_id=p["coop"],
            draft=draft(available=Decimal("4"), minimum=Decimal("4")),
        )
    )
    a1 = await db.write(
        lambda c: applications.apply(
            c, uris, gig_id=gig.id, worker_id=p["bob"], quantity=Decimal("4")
        )
    )
    a2 = await db.write(
        lambda c: applications.apply(
            c, uris, gig_id=gig.id, worker_id=p["carol"], quantity=Decimal("4")
        )
    )
    outcomes = await asyncio.gather(
        db.write(lambda c: agreements.accept(c, uris, a1.id, p["alice"])),
        db.write(lambda c: agreements.accept(c, uris, a2.id, p["alice"])),
    )
    assert sorted(o.accepted for o in outcomes) == [False, True]
    refused = next(o for o in outcomes if not o.accepted)
    assert refused.application.state == "rejected"
    count = await db.read(lambda c: c.execute("SELECT count(*) FROM agreements").fetchone()[0])
    assert count == 1
    after = await db.read(lambda c: offers.get_gig(c, gig.id))
    assert after is not None and after.state == "filled" and after.remaining == 0
    kinds = await db.read(lambda c: [r[0] for r in c.execute("SELECT kind FROM events")])
    assert "application.rejected" in kinds and "application.accepted" in kinds


async def test_only_the_poster_accepts_and_terms_freeze(world: Any) -> None:
    db, uris, p = world
    gig = await db.write(
        lambda c: offers.create_gig(c, uris, poster_id=p["alice"], coop_id=p["coop"], draft=draft())
    )
    app = await db.write(
        lambda c: applications.apply(
            c, uris, gig_id=gig.id, worker_id=p["bob"], quantity=Decimal("4")
        )
    )
    with pytest.raises(Forbidden):
        await db.write(lambda c: agreements.accept(c, uris, app.id, p["carol"]))
    outcome = await db.write(lambda c: agreements.accept(c, uris, app.id, p["alice"]))
    agreement = outcome.agreement
    assert agreement is not None
    assert agreement.terms()["quantity"] == "4" and agreement.terms()["amount"] == "72"
    with pytest.raises(Conflict):
        await db.write(
            lambda c: offers.update_gig(c, gig.id, p["alice"], draft(price=Decimal("10")))
        )
    bigger = await db.write(
        lambda c: offers.update_gig(c, gig.id, p["alice"], draft(available=Decimal("12")))
    )
    assert bigger.remaining == Decimal("8")


async def test_lifecycle_to_completed_with_receipt(world: Any) -> None:
    db, uris, p = world
    gig = await db.write(
        lambda c: offers.create_gig(c, uris, poster_id=p["alice"], coop_id=p["coop"], draft=draft())
    )
    app = await db.write(
        lambda c: applications.apply(
            c, uris, gig_id=gig.id, worker_id=p["bob"], quantity=Decimal("2")
        )
    )
    agreement = (await db.write(lambda c: agreements.accept(c, uris, app.id, p["alice"]))).agreement
    assert agreement is not None
    with pytest.raises(Forbidden):
        await db.write(lambda c: agreements.record_completion(c, uris, agreement.id, p["alice"]))
    delivered = await db.write(
        lambda c: agreements.record_completion(c, uris, agreement.id, p["bob"])
    )
    assert delivered.state == "delivered"
    done = await db.write(lambda c: agreements.record_payment(c, uris, agreement.id, p["alice"]))
    assert done.state == "completed" and done.paid and done.receipt_uri
    kinds = await db.read(lambda c: [r[0] for r in c.execute("SELECT kind FROM events")])
    assert kinds[-2:] == ["agreement.payment", "agreement.receipt"]
    notes = await db.read(
        lambda c: [r[0] for r in c.execute("SELECT kind FROM notifications ORDER BY id")]
    )
    assert "application" in notes and "application_accepted" in notes
    assert "agreement_completion" in notes and "agreement_payment" in notes


async def test_cancellation_gives_capacity_back(world: Any) -> None:
    db, uris, p = world
    gig = await db.write(
        lambda c: offers.create_gig(
            c,
            uris,
            poster_id=p["alice"],
            coop_id=p["coop"],
            draft=draft(available=Decimal("4"), minimum=Decimal("4")),
        )
    )
    app = await db.write(
        lambda c: applications.apply(
            c, uris, gig_id=gig.id, worker_id=p["bob"], quantity=Decimal("4")
        )
    )
    agreement = (await db.write(lambda c: agreements.accept(c, uris, app.id, p["alice"]))).agreement
    assert agreement is not None
    await db.write(lambda c: agreements.change_status(c, agreement.id, p["bob"], "cancelled"))
    after = await db.read(lambda c: offers.get_gig(c, gig.id))
    assert after is not None and after.state == "open" and after.remaining == 4


async def test_board_search_and_filters(world: Any) -> None:
    db, uris, p = world
    courier = skills.skill_uri(uris, "cargo-bike-courier")
    translation = skills.skill_uri(uris, "translation")

    def seed(c: sqlite3.Connection) -> None:
        offers.create_gig(
            c, uris, poster_id=p["alice"], coop_id=p["coop"], draft=draft(skills=(courier,))
        )
        offers.create_gig(
            c,
            uris,
            poster_id=p["alice"],
            coop_id=p["coop"],
            draft=draft(
                title="Translate a website to Portuguese",
                description="<p>Remote work</p>",
                remote=True,
                place_name=None,
                latitude=None,
                longitude=None,
                price=Decimal("30"),
                skills=(translation,),
            ),
        )
        offers.create_gig(
            c,
            uris,
            poster_id=p["alice"],
            coop_id=p["coop"],
            draft=draft(
                title="Deliveries in Lyon",
                place_name="Lyon",
                latitude=45.76,
                longitude=4.84,
                price=Decimal("12"),
                visibility="members",
            ),
        )

    await db.write(seed)

    async def titles(**q: Any) -> list[str]:
        found = await db.read(lambda c: board.search(c, board.BoardQuery(**q)))
        return [g.title for g in found]

    assert len(await titles()) == 2  # the members-only gig is hidden from strangers
    assert len(await titles(viewer_id=p["alice"])) == 3
    assert await titles(words="cargo bike") == ["Cargo-bike deliveries, Saturday market"]
    assert await titles(words="portug") == ["Translate a website to Portuguese"]  # prefix
    assert await titles(skill=translation) == ["Translate a website to Portuguese"]
    assert await titles(remote_only=True) == ["Translate a website to Portuguese"]
    assert await titles(min_hourly=Decimal("20"), currency="EUR") == [
        "Translate a website to Portuguese"
    ]
    near = await titles(near=(45.19, 5.72), within_km=10, viewer_id=p["alice"])
    assert near == ["Cargo-bike deliveries, Saturday market"]
    by_pay = await titles(sort="pay", viewer_id=p["alice"])
    assert by_pay[0] == "Translate a website to Portuguese"
    assert by_pay[-1] == "Deliveries in Lyon"
    # user text never reaches FTS5 syntax
    assert await titles(words='" OR * NEAR(') == []
    with pytest.raises(ValidationError):
        board.BoardQuery(sort="distance")
