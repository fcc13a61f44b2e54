"""The demo's marketplace seed: a dozen valid gigs per coop with shipped skills and dates
ahead, deals between members in every state worth showing, and nothing twice."""

from __future__ import annotations

from pathlib import Path

import pytest

from fedcoop import clock
from fedcoop.app import open_database
from fedcoop.config import load_settings
from fedcoop.demo import COOPS, plan, seed
from fedcoop.demo_gigs import CATALOGUE, seed_gigs
from fedcoop.gigs import board, skills


def test_every_demo_coop_has_a_catalogue_of_about_a_dozen_gigs() -> None:
    assert {c.name for c in COOPS} <= set(CATALOGUE)
    shipped = {slug for slug, _ in skills.SHIPPED}
    for name, gigs in CATALOGUE.items():
        assert 10 <= len(gigs) <= 14, name
        assert {g.skill for g in gigs} <= shipped, name
        assert len({g.title for g in gigs}) == len(gigs), name


@pytest.mark.parametrize("index", range(len(COOPS)), ids=[c.name for c in COOPS])
def test_seeding_a_demo_instance_posts_its_gigs_and_deals_once(tmp_path: Path, index: int) -> None:
    # Given a demo instance with its coop, admin and members
    instance = plan(tmp_path, 18001, len(COOPS))[index]
    seed(instance)

    # When its gigs are seeded, twice
    first = seed_gigs(instance)
    second = seed_gigs(instance)

    # Then the whole catalogue was posted once, open on the board, starting in the future
    assert first == len(CATALOGUE[instance.coop.name]) and second == 0
    db = open_database(load_settings(instance.data_dir))
    try:
        found = db.read_sync(lambda c: board.search(c, board.BoardQuery(limit=100)))
        deals = db.read_sync(
            lambda c: (
                [tuple(r) for r in c.execute("SELECT state FROM applications ORDER BY state")],
                [tuple(r) for r in c.execute("SELECT state, paid FROM agreements ORDER BY state")],
            )
        )
    finally:
        db.close()
    # (a gig whose only slot went to an agreement is filled, and off the board)
    assert first - 1 <= len(found) <= first
    now = clock.now_iso()
    assert all(g.starts_at and g.starts_at > now and g.currency == "EUR" for g in found)
    # and its members hold an agreement done and paid, one under way, one application
    # waiting and one declined
    applications, agreements = deals
    assert applications == [("accepted",), ("accepted",), ("pending",), ("rejected",)]
    assert agreements == [("active", 0), ("completed", 1)]
