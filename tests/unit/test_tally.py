"""Counting votes: quorum, simple and two-thirds thresholds, ties, yes/no outcomes."""

from __future__ import annotations

from decimal import Decimal

import pytest

from fedcoop.gigs.tally import count

YES_NO = ["Yes", "No"]


def test_simple_majority_of_a_quorate_vote_adopts() -> None:
    result = count(
        YES_NO,
        {"Yes": 3, "No": 2},
        electorate=8,
        quorum=Decimal("0.5"),
        threshold="simple",
        yes_no=True,
    )
    assert (result.outcome, result.winning_option, result.votes_cast) == ("adopted", "Yes", 5)
    assert result.quorum_met and result.threshold_met
    assert result.turnout == Decimal(5) / 8


def test_missing_quorum_decides_nothing_even_when_unanimous() -> None:
    result = count(
        YES_NO, {"Yes": 3}, electorate=8, quorum=Decimal("0.5"), threshold="simple", yes_no=True
    )
    assert result.outcome == "no_quorum" and not result.quorum_met
    assert result.tally == {"Yes": 3, "No": 0}


def test_quorum_is_reached_at_exactly_the_share() -> None:
    result = count(
        YES_NO, {"Yes": 4}, electorate=8, quorum=Decimal("0.5"), threshold="simple", yes_no=True
    )
    assert result.quorum_met and result.outcome == "adopted"


@pytest.mark.parametrize(
    ("yes", "no", "outcome"),
    [(2, 1, "adopted"), (3, 2, "rejected"), (5, 3, "rejected"), (6, 3, "adopted")],
)
def test_two_thirds_needs_at_least_two_thirds_of_the_votes_cast(
    yes: int, no: int, outcome: str
) -> None:
    result = count(
        YES_NO,
        {"Yes": yes, "No": no},
        electorate=yes + no,
        quorum=Decimal("0.5"),
        threshold="two_thirds",
        yes_no=True,
    )
    assert result.outcome == outcome


def test_a_tie_meets_no_threshold() -> None:
    result = count(
        YES_NO,
        {"Yes": 2, "No": 2},
        electorate=4,
        quorum=Decimal("0.5"),
        threshold="simple",
        yes_no=True,
    )
    assert result.outcome == "rejected" and result.winning_option is None


def test_a_winning_no_rejects_a_yes_no_proposal() -> None:
    result = count(
        YES_NO,
        {"Yes": 1, "No": 3},
        electorate=4,
        quorum=Decimal("0.5"),
        threshold="simple",
        yes_no=True,
    )
    assert (result.outcome, result.winning_option) == ("rejected", "No")


def test_free_text_adopts_the_option_that_meets_the_threshold() -> None:
    options = ["Tuesday", "Thursday", "Saturday"]
    result = count(
        options,
        {"Thursday": 4, "Saturday": 1},
        electorate=6,
        quorum=Decimal("0.5"),
        threshold="simple",
        yes_no=False,
    )
    assert (result.outcome, result.winning_option) == ("adopted", "Thursday")
    plurality = count(
        options,
        {"Tuesday": 2, "Thursday": 3, "Saturday": 2},
        electorate=7,
        quorum=Decimal("0.5"),
        threshold="simple",
        yes_no=False,
    )
    assert plurality.outcome == "rejected"  # 3 of 7 is a plurality, not a majority


def test_an_empty_electorate_meets_only_a_zero_quorum() -> None:
    assert (
        count(
            YES_NO, {}, electorate=0, quorum=Decimal("0.5"), threshold="simple", yes_no=True
        ).outcome
        == "no_quorum"
    )
