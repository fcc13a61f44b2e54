"""The reputation maths: Bayesian mean, per criterion and skill, and the anti-gaming rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from fedcoop.gigs.reputation import (
    PRIOR_MEAN,
    PRIOR_WEIGHT,
    Rated,
    bayesian_mean,
    counted,
    host_is_blocked,
    summarise,
)

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def rated(
    reviewer: str = "r1",
    rating: int = 5,
    *,
    days: float = 0,
    host: str = "a.example",
    criteria: dict[str, int] | None = None,
    skills: tuple[str, ...] = (),
) -> Rated:
    return Rated(reviewer, host, rating, T0 + timedelta(days=days), criteria or {}, skills)


def test_no_reviews_show_the_prior() -> None:
    rep = summarise([])
    assert rep.count == 0
    assert rep.mean is None
    assert rep.bayesian_mean == PRIOR_MEAN
    assert rep.first_review_at is None and rep.last_review_at is None


def test_one_perfect_review_is_pulled_towards_the_prior() -> None:
    # (5 * 3.5 + 5) / (5 + 1) = 3.75
    rep = summarise([rated(rating=5)])
    assert rep.mean == 5.0
    assert rep.bayesian_mean == pytest.approx(3.75)


def test_many_reviews_outweigh_the_prior() -> None:
    reviews = [rated(f"r{i}", 5 if i % 5 else 4, days=i) for i in range(20)]  # mean 4.8
    rep = summarise(counted(reviews))
    assert rep.count == 20
    assert rep.mean == pytest.approx(4.8)
    assert rep.bayesian_mean == pytest.approx((PRIOR_WEIGHT * PRIOR_MEAN + 96) / 25)
    assert rep.bayesian_mean == pytest.approx(4.54)


def test_bayesian_mean_formula() -> None:
    assert bayesian_mean(0, 0) == PRIOR_MEAN
    assert bayesian_mean(5, 5.0) == pytest.approx((17.5 + 5) / 10)


def test_means_per_criterion_and_per_skill() -> None:
    rep = summarise(
        [
            rated("r1", 4, criteria={"quality": 5, "reliability": 3}, skills=("s:bike",)),
            rated("r2", 2, days=1, criteria={"quality": 3}, skills=("s:bike", "s:van")),
        ],
        {"s:bike": "Bike courier", "s:van": "Van delivery"},
    )
    assert rep.criteria["quality"].count == 2
    assert rep.criteria["quality"].mean == pytest.approx(4.0)
    assert rep.criteria["reliability"].mean == pytest.approx(3.0)
    by_skill = {s.skill_uri: s for s in rep.skills}
    assert by_skill["s:bike"].count == 2 and by_skill["s:bike"].mean == pytest.approx(3.0)
    assert by_skill["s:van"].label == "Van delivery" and by_skill["s:van"].mean == 2.0
    assert rep.skills[0].skill_uri == "s:bike"  # most reviewed first


def test_distinct_counterparts_instances_and_dates() -> None:
    rep = summarise(
        counted(
            [
                rated("r1", host="a.example", days=0),
                rated("r2", host="a.example", days=40),
                rated("r3", host="b.example", days=80),
            ]
        )
    )
    assert (rep.counterparts, rep.instances) == (3, 2)
    assert rep.first_review_at == "2026-03-01T12:00:00.000Z"
    assert rep.last_review_at == "2026-05-20T12:00:00.000Z"


def test_repeated_reviews_by_one_reviewer_count_once_per_30_days() -> None:
    # Given one friendly reviewer pumping the score with many small agreements
    burst = [rated("pal", 5, days=d) for d in (0, 1, 2, 29)]
    later = [rated("pal", 5, days=30), rated("pal", 5, days=45), rated("pal", 5, days=61)]
    honest = [rated("other", 2, days=3)]
    # when the reviews are counted
    kept = counted(burst + later + honest)
    # then each 30-day window of the pair counts once, the first review of the window
    assert [(r.reviewer_id, (r.written_at - T0).days) for r in kept] == [
        ("pal", 0),
        ("other", 3),
        ("pal", 30),
        ("pal", 61),
    ]


def test_repeats_are_counted_per_pair_not_globally() -> None:
    kept = counted([rated("r1", days=0), rated("r2", days=0), rated("r3", days=1)])
    assert len(kept) == 3


@pytest.mark.parametrize(
    ("host", "blocked", "expected"),
    [
        ("evil.example", ["evil.example"], True),
        ("sub.evil.example", ["evil.example"], True),
        ("notevil.example", ["evil.example"], False),
        ("evil.example:8443", ["evil.example"], True),
        ("127.0.0.1:8002", ["127.0.0.1:8001"], False),
        ("127.0.0.1:8001", ["127.0.0.1:8001"], True),
        ("10.0.0.1", ["0.0.1"], False),  # an address only matches itself
        ("good.example", [], False),
    ],
)
def test_blocked_hosts_follow_the_federation_policy_rules(
    host: str, blocked: list[str], expected: bool
) -> None:
    assert host_is_blocked(host, blocked) is expected


def test_as_dict_is_the_documented_shape() -> None:
    rep = summarise([rated("r1", 4, criteria={"quality": 4}, skills=("s:x",))], {"s:x": "X"})
    doc = rep.as_dict()
    assert doc["count"] == 1
    assert doc["mean"] == 4.0
    assert doc["bayesianMean"] == pytest.approx(3.58)
    assert doc["prior"] == {"mean": PRIOR_MEAN, "weight": PRIOR_WEIGHT}
    assert doc["criteria"] == {"quality": {"count": 1, "mean": 4.0}}
    assert doc["skills"] == [{"skill": "s:x", "name": "X", "count": 1, "mean": 4.0}]
    assert set(doc) == {
        "count",
        "mean",
        "bayesianMean",
        "prior",
        "counterparts",
        "instances",
        "firstReview",
        "lastReview",
        "criteria",
        "skills",
    }
