"""The demo's marketplace: a dozen believable gigs per coop, applications and agreements
between its members, and one application that crosses instances by federation.

`seed_gigs` runs before the servers start, on each instance's own database, once (an instance
whose admin has posted gigs is left alone). Gigs start in the coming weeks, so the dates are
relative to the first run. `seed_gig_federation` runs once the servers listen: a member of the
second instance follows the first coop, the coop posts a gig, the member applies to it from
home through the marketplace service, and the poster accepts; the demo's own background
workers carry the Follow, the Proposal, the Offer and the Accept. Every wait is bounded: a demo
that cannot federate still starts, and says so.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol, TypeVar

from fedcoop import clock
from fedcoop.accounts.actors import Actor, get_local_actor
from fedcoop.app import build_federation, open_database
from fedcoop.config import load_settings
from fedcoop.db.migrations import apply_migrations
from fedcoop.federation.context import FederationContext
from fedcoop.federation.marketplace import Marketplace
from fedcoop.gigs import agreements, applications, offers, skills
from fedcoop.gigs.offers import GigDraft
from fedcoop.social import follows
from fedcoop.social.text import render_text
from fedcoop.uris import Uris

T = TypeVar("T")
WAIT_SECONDS = 30.0

LYON = {
    "Croix-Rousse, Lyon": (45.7745, 4.8320),
    "Part-Dieu, Lyon": (45.7606, 4.8590),
    "Vieux Lyon": (45.7622, 4.8270),
    "La Guillotière, Lyon": (45.7540, 4.8430),
    "Villeurbanne": (45.7719, 4.8902),
    "Confluence, Lyon": (45.7430, 4.8180),
    "Monplaisir, Lyon": (45.7450, 4.8700),
    "Bellecour, Lyon": (45.7578, 4.8320),
}
LILLE = {
    "Wazemmes, Lille": (50.6280, 3.0500),
    "Vieux-Lille": (50.6400, 3.0630),
    "Fives, Lille": (50.6330, 3.0900),
    "Euralille, Lille": (50.6370, 3.0750),
    "Roubaix": (50.6942, 3.1746),
    "Villeneuve-d'Ascq": (50.6233, 3.1450),
    "Moulins, Lille": (50.6230, 3.0680),
}
PLACES = {**LYON, **LILLE}


@dataclass(frozen=True)
class GigSeed:
    title: str
    text: str
    skill: str
    unit: str
    price: str
    available: str
    minimum: str
    place: str | None  # None: remote work
    in_days: int
    hour: int
    hours: int
    poster: int = -1  # -1: the coop's admin, for the coop; n: its n-th member, on their own
    purpose: str = "request"


_g = GigSeed  # the catalogue below is a table: one gig per line

# fmt: off
CATALOGUE: dict[str, tuple[GigSeed, ...]] = {
    "velocoop": (
        _g("Saturday market deliveries by cargo bike", "Fruit and vegetable crates from the Croix-Rousse market to about twenty homes. Cargo bike provided if you have none.", "cargo-bike-courier", "hour", "18", "12", "3", "Croix-Rousse, Lyon", 5, 8, 4),
        _g("Lunch rush courier, Part-Dieu offices", "Sandwiches and salads from three partner kitchens to offices around the station, 11:30 to 14:00.", "bike-courier", "hour", "16", "10", "2", "Part-Dieu, Lyon", 3, 11, 3),
        _g("Pharmacy rounds for housebound neighbours", "Prescriptions from two pharmacies in Monplaisir to elderly customers. Discretion and patience matter more than speed.", "bike-courier", "hour", "17", "6", "2", "Monplaisir, Lyon", 8, 9, 3),
        _g("Move a bakery's oven parts with the cargo trike", "Three heavy boxes (about 60 kg in all) from Vieux Lyon to a workshop in Confluence.", "moving-help", "task", "65", "1", "1", "Vieux Lyon", 10, 14, 2),
        _g("Van delivery of second-hand furniture", "Pick up a sofa and two bookcases donated to the solidarity shop, deliver to three families.", "van-delivery", "hour", "22", "6", "3", "Villeurbanne", 12, 9, 5),
        _g("Fix the coop's fleet: brakes and chains", "Twelve cargo bikes need brake pads and chains before winter. Tools and parts are at the depot.", "bike-repair", "hour", "28", "16", "4", "La Guillotière, Lyon", 6, 9, 8),
        _g("Childcare during the general assembly", "Look after four to six children (3 to 9 years) in the room next to the assembly. Games provided.", "childcare", "hour", "14", "3", "3", "Bellecour, Lyon", 14, 18, 3),
        _g("New delivery-zone map for our website", "Update the interactive map of delivery zones (Leaflet) and the price table on the coop's site.", "web-development", "task", "450", "1", "1", None, 9, 9, 8),
        _g("Night deliveries for a brewery", "Kegs and crates to six bars on the Presqu'île, Thursday to Saturday evenings.", "cargo-bike-courier", "hour", "20", "18", "3", "Bellecour, Lyon", 4, 19, 3),
        _g("Photograph our riders for the new flyer", "Half a day of portraits and action shots around the depot and the Rhône quays.", "photography", "task", "220", "1", "1", "Confluence, Lyon", 16, 10, 4),
        _g("Repair the depot's electric gate", "The motor of the sliding gate stops half way. Needs a qualified electrician.", "electrical-repair", "hour", "45", "4", "2", "La Guillotière, Lyon", 7, 8, 4),
        _g("Cargo-bike repairs on weekends", "I repair cargo bikes (Bullitt, Urban Arrow, Long John) at your door in Lyon and Villeurbanne.", "bike-repair", "hour", "30", "10", "1", "Villeurbanne", 2, 10, 6, poster=1, purpose="offer"),
    ),
    "cleanlille": (
        _g("Weekly cleaning of a family flat in Wazemmes", "Three-room flat, every Tuesday morning. Products and equipment on site.", "home-cleaning", "hour", "18", "12", "3", "Wazemmes, Lille", 3, 9, 3),
        _g("End-of-tenancy clean, Vieux-Lille studio", "Deep clean of a 30 m² studio before the inventory: kitchen, bathroom, windows.", "home-cleaning", "task", "140", "1", "1", "Vieux-Lille", 6, 8, 6),
        _g("Evening office cleaning, Euralille", "Open-plan office of 400 m², Monday to Friday from 19:00. Team of two.", "office-cleaning", "hour", "19", "40", "10", "Euralille, Lille", 5, 19, 3),
        _g("Clean the community hall after the solidarity dinner", "About 120 guests. Tables, floors and the kitchen, Sunday morning.", "office-cleaning", "task", "110", "2", "1", "Fives, Lille", 11, 9, 4),
        _g("After-school childcare, two children", "Pick up two children (6 and 8) from school at 16:30, snack, homework, until 19:00.", "childcare", "hour", "13.50", "15", "5", "Moulins, Lille", 4, 16, 3),
        _g("Companionship and help for an elderly neighbour", "Shopping, a walk and light housework for Mrs Lemaire, twice a week.", "elder-care", "hour", "16", "8", "2", "Roubaix", 7, 14, 2),
        _g("Window cleaning for a bakery", "Shop front and first-floor windows, once a month, ladder provided.", "home-cleaning", "task", "75", "3", "1", "Vieux-Lille", 9, 7, 2),
        _g("Replace a leaking kitchen tap", "The mixer tap in the coop's shared kitchen drips. Parts can be bought on the way.", "plumbing", "hour", "42", "3", "1", "Wazemmes, Lille", 5, 10, 2),
        _g("Garden tidy-up before winter", "Cut back hedges, rake leaves and clear the vegetable patch of a shared garden.", "gardening", "hour", "18", "8", "2", "Villeneuve-d'Ascq", 13, 9, 4),
        _g("Help us move to the new depot", "Boxes, shelves and two washing machines from Fives to Moulins. Van rented.", "moving-help", "hour", "20", "24", "4", "Fives, Lille", 15, 8, 6),
        _g("Cook for the members' Friday lunch", "Vegetarian lunch for about 25 people in the coop kitchen; budget for ingredients refunded.", "cooking", "task", "160", "1", "1", "Moulins, Lille", 8, 9, 4),
        _g("Eco-friendly deep cleaning, on request", "I clean homes and small offices with only plant-based products. Lille and the metropolis.", "home-cleaning", "hour", "20", "20", "2", "Lille", 1, 9, 8, poster=0, purpose="offer"),
    ),
    "linguacoop": (
        _g("Translate a bakery's website, French to English", "About 2,400 words: menu, opening hours, the story of the bakery.", "translation", "task", "260", "1", "1", None, 10, 9, 8),
        _g("Proofread a grant application (French)", "Twelve pages for a regional culture grant; deadline in two weeks.", "proofreading", "hour", "25", "4", "2", None, 6, 9, 4),
        _g("Subtitles for a documentary, Spanish to French", "A 52-minute documentary about housing cooperatives; timed .srt provided.", "translation", "hour", "32", "20", "5", None, 12, 9, 8),
        _g("Build a booking page for a repair café", "Simple booking form, no JavaScript required, hosted on the café's own server.", "web-development", "day", "380", "3", "1", None, 14, 9, 8),
        _g("Accessibility audit of a small shop site", "Check a 15-page site against WCAG 2.2 AA and write a short report with fixes.", "web-development", "hour", "50", "10", "4", None, 9, 9, 5),
        _g("Interpreting at a tenants' meeting, Arabic and French", "Two hours of consecutive interpreting at a neighbourhood meeting.", "translation", "hour", "40", "2", "2", "La Guillotière, Lyon", 5, 18, 2),
        _g("Translate a rental contract, Polish to French", "Six pages; an ordinary translation, no sworn translation needed.", "translation", "task", "120", "1", "1", None, 4, 9, 4),
        _g("French lessons for newly arrived riders", "Two evenings a week, vocabulary of the job and everyday French; small groups.", "tutoring", "hour", "22", "16", "2", "Part-Dieu, Lyon", 7, 18, 2),
        _g("Design a logo for a cleaning cooperative", "Three proposals, then one round of changes; vector files delivered.", "graphic-design", "task", "300", "1", "1", None, 11, 9, 8),
        _g("Label 5,000 street photos for a cycling study", "Mark bike lanes, obstacles and parked cars in a web tool; paid per hour.", "data-labelling", "hour", "15", "40", "4", None, 3, 9, 6),
        _g("Fix the newsletter template of a bike coop", "The emails render badly in some clients; two hours of HTML and CSS.", "web-development", "hour", "45", "2", "2", None, 2, 14, 2),
        _g("German and English translations, any subject", "Literary and technical translation into French, with references from three publishers.", "translation", "hour", "35", "30", "2", None, 1, 9, 8, poster=2, purpose="offer"),
    ),
}
# fmt: on


class DemoPlace(Protocol):  # fedcoop.demo.DemoInstance, without importing it back
    @property
    def data_dir(self) -> Path: ...

    @property
    def coop(self) -> Any: ...


def _draft(seed: GigSeed, uris: Uris, start: datetime) -> GigDraft:
    when = (start + timedelta(days=seed.in_days)).replace(hour=seed.hour, minute=0, second=0)
    place = PLACES.get(seed.place or "")
    return GigDraft(
        purpose=seed.purpose,
        title=seed.title,
        description=render_text(seed.text, lambda _handle: None),
        unit=seed.unit,
        price=Decimal(seed.price),
        currency="EUR",
        available=Decimal(seed.available),
        minimum=Decimal(seed.minimum),
        remote=seed.place is None,
        place_name=seed.place,
        latitude=place[0] if place else None,
        longitude=place[1] if place else None,
        starts_at=clock.iso_seconds(when),
        ends_at=clock.iso_seconds(when + timedelta(hours=seed.hours)),
        skills=(skills.skill_uri(uris, seed.skill),),
    )


def _post_all(conn: sqlite3.Connection, uris: Uris, place: DemoPlace) -> list[offers.Gig]:
    coop = get_local_actor(conn, place.coop.name)
    admin = get_local_actor(conn, place.coop.admin)
    members = [get_local_actor(conn, name) for name, _ in place.coop.members]
    assert coop is not None and admin is not None and all(members)
    start = clock.now()
    posted = []
    for seed in CATALOGUE[place.coop.name]:
        poster = admin if seed.poster < 0 else members[seed.poster % len(members)]
        assert poster is not None
        coop_id = coop.id if poster is admin else None
        posted.append(
            offers.create_gig(
                conn, uris, poster_id=poster.id, coop_id=coop_id, draft=_draft(seed, uris, start)
            )
        )
    return posted


def _deals(conn: sqlite3.Connection, uris: Uris, place: DemoPlace, gigs: list[offers.Gig]) -> None:
    """Between the coop's members: one agreement completed and paid, one under way, one
    application waiting for an answer, one declined."""
    admin = get_local_actor(conn, place.coop.admin)
    members = [get_local_actor(conn, name) for name, _ in place.coop.members]
    assert admin is not None and len(members) >= 3 and all(members)
    worker = [m.id for m in members if m is not None]
    coop_gigs = [g for g in gigs if g.poster_id == admin.id]

    def apply(gig: offers.Gig, who: str, note: str) -> applications.Application:
        return applications.apply(
            conn, uris, gig_id=gig.id, worker_id=who, quantity=gig.minimum, cover_note=note
        )

    done = apply(coop_gigs[0], worker[0], "I did this round last month, happy to do it again.")
    agreement = agreements.accept(conn, uris, done.id, admin.id).agreement
    assert agreement is not None
    agreements.record_completion(conn, uris, agreement.id, worker[0])
    agreements.record_payment(conn, uris, agreement.id, admin.id)
    going = apply(coop_gigs[1], worker[1], "Free all week, I know the area well.")
    agreements.accept(conn, uris, going.id, admin.id)
    apply(coop_gigs[2], worker[2], "I can start earlier if needed.")
    declined = apply(coop_gigs[3], worker[1], "Only available in the afternoon.")
    applications.reject(conn, declined.id, admin.id, "We need someone in the morning, sorry.")


def seed_gigs(place: DemoPlace) -> int:
    """Post the coop's catalogue and its deals, once; returns how many gigs were posted."""
    if place.coop.name not in CATALOGUE:
        return 0
    settings = load_settings(place.data_dir)
    uris = Uris(settings.instance.scheme, settings.instance.domain)
    db = open_database(settings)

    def seed(conn: sqlite3.Connection) -> int:
        apply_migrations(conn)
        admin = get_local_actor(conn, place.coop.admin)
        if admin is None or offers.gigs_by_poster(conn, admin.id, limit=1):
            return 0  # seeded on an earlier run
        skills.ensure_shipped(conn, uris)
        gigs = _post_all(conn, uris, place)
        if len(place.coop.members) >= 3:
            _deals(conn, uris, place, gigs)
        return len(gigs)

    try:
        return db.write_sync(seed)
    finally:
        db.close()


# across instances --------------------------------------------------------------------------


@dataclass
class _Site:
    place: DemoPlace
    ctx: FederationContext

    @property
    def market(self) -> Marketplace:
        return Marketplace(self.ctx.db, self.ctx.uris)

    async def local(self, name: str) -> Actor:
        found = await self.ctx.db.read(lambda conn: get_local_actor(conn, name))
        assert found is not None, name
        return found


@contextlib.asynccontextmanager
async def _sites(places: Sequence[DemoPlace]) -> AsyncIterator[list[_Site]]:
    sites: list[_Site] = []
    try:
        for place in places:
            settings = load_settings(place.data_dir)
            db = open_database(settings)
            db.start()
            ctx = build_federation(
                settings, db, Uris(settings.instance.scheme, settings.instance.domain)
            )
            await ctx.http.start()
            sites.append(_Site(place, ctx))
        yield sites
    finally:
        for site in sites:
            await site.ctx.http.close()
            site.ctx.db.close()


async def _until(what: str, check: Callable[[], Awaitable[T | None]]) -> T:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        found = await check()
        if found:
            return found
        await asyncio.sleep(0.3)
    raise TimeoutError(f"demo: {what} did not happen within {WAIT_SECONDS:.0f} s")


def _applied_across(conn: sqlite3.Connection, worker_id: str) -> bool:
    for application in applications.applications_by_worker(conn, worker_id):
        gig = offers.get_gig(conn, application.gig_id)
        if gig is not None and not gig.local:
            return True
    return False


async def _apply_across(home: _Site, host: _Site) -> None:
    """A member at `home` follows `host`'s coop, which posts a gig; the member applies from
    home and the coop's admin accepts: Follow, Proposal, Offer and Accept all federate."""
    worker = await home.local(home.place.coop.members[-1][0])
    if await home.ctx.db.read(lambda c: _applied_across(c, worker.id)):
        return  # seeded on an earlier run
    coop = await host.local(host.place.coop.name)
    admin = await host.local(host.place.coop.admin)
    coop_there = await home.ctx.fetcher.get_actor(coop.uri)
    await home.ctx.db.write(lambda c: follows.follow(c, worker.id, coop_there.id))
    await _until(
        "the follow of the first coop",
        lambda: home.ctx.db.read(lambda c: follows.is_following(c, worker.id, coop_there.id)),
    )
    seed = GigSeed(
        "Deliver leaflets for the open day, any neighbourhood",
        "Two hundred leaflets in letterboxes around the depot. Bring a friend.",
        skill="bike-courier",
        unit="hour",
        price="15",
        available="8",
        minimum="2",
        place="Part-Dieu, Lyon",
        in_days=6,
        hour=10,
        hours=3,
    )
    posted = await host.market.post_gig(admin.id, coop.id, _draft(seed, host.ctx.uris, clock.now()))
    gig = await _until(
        "the gig's arrival",
        lambda: home.ctx.db.read(lambda c: offers.get_gig_by_uri(c, posted.gig.uri)),
    )
    note = "I can come from Lille by train, I know Lyon well."
    mine = await home.market.apply(worker.id, gig.id, Decimal("2"), note)
    offered = await _until(
        "the Offer's arrival",
        lambda: host.ctx.db.read(
            lambda c: applications.get_application_by_uri(c, mine.application.uri)
        ),
    )
    accepted = await host.market.accept_application(admin.id, offered.id)
    await _until(
        "the Agreement's arrival",
        lambda: home.ctx.db.read(
            lambda c: agreements.get_agreement_by_uri(c, accepted.agreement.uri)
        ),
    )


async def seed_gig_federation(places: Sequence[DemoPlace]) -> None:
    """One application across instances, once; needs the demo's servers running."""
    eligible = [p for p in places if p.coop.name in CATALOGUE and p.coop.members]
    if len(eligible) < 2:
        return
    try:
        async with _sites(eligible[:2]) as (host, home):
            await asyncio.wait_for(_apply_across(home, host), timeout=4 * WAIT_SECONDS)
    except (TimeoutError, OSError, AssertionError, LookupError) as exc:
        print(f"(the sample application across instances was not seeded: {exc})", flush=True)
