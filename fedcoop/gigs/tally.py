"""Counting a vote: turnout, quorum, threshold and the outcome, as one pure function.

Rules (documented in FEDERATION.md and on the proposal page):
- turnout = votes cast / members in the electorate (fixed when the vote opened);
- the quorum is met when turnout >= the proposal's quorum (a share, e.g. 0.5); an empty
  electorate meets only a zero quorum;
- the leading option meets the threshold when its votes are more than half of the votes cast
  (`simple`) or at least two thirds of them (`two_thirds`); a tie for the lead meets nothing;
- outcome: `no_quorum` when the quorum is missed; otherwise `adopted` when an option met the
  threshold (for yes/no proposals: only when that option is "Yes"), else `rejected`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Final

YES: Final = "Yes"
NO: Final = "No"
THRESHOLDS: Final = ("simple", "two_thirds")


@dataclass(frozen=True)
class Result:
    tally: dict[str, int]
    votes_cast: int
    electorate: int
    quorum_met: bool
    threshold_met: bool
    winning_option: str | None
    outcome: str  # adopted | rejected | no_quorum

    @property
    def turnout(self) -> Decimal:
        if self.electorate == 0:
            return Decimal(0)
        return Decimal(self.votes_cast) / Decimal(self.electorate)


def turnout_percent(votes_cast: int, electorate: int) -> int:
    return 0 if electorate == 0 else round(100 * votes_cast / electorate)


def count(
    options: Sequence[str],
    tally: Mapping[str, int],
    *,
    electorate: int,
    quorum: Decimal,
    threshold: str,
    yes_no: bool,
) -> Result:
    if threshold not in THRESHOLDS:
        raise ValueError(f"unknown threshold {threshold!r}")
    counts = {option: int(tally.get(option, 0)) for option in options}
    cast = sum(counts.values())
    quorum_met = Decimal(cast) >= quorum * Decimal(electorate) if electorate > 0 else quorum <= 0
    leader: str | None = None
    if cast > 0:
        best = max(counts.values())
        leaders = [o for o, n in counts.items() if n == best]
        leader = leaders[0] if len(leaders) == 1 else None
    threshold_met = False
    if leader is not None:
        share = Decimal(counts[leader]) / Decimal(cast)
        threshold_met = share > Decimal(1) / 2 if threshold == "simple" else share * 3 >= 2
    winner = leader if threshold_met else None
    if not quorum_met:
        outcome = "no_quorum"
    elif winner is not None and (not yes_no or winner == YES):
        outcome = "adopted"
    else:
        outcome = "rejected"
    return Result(counts, cast, electorate, quorum_met, threshold_met, winner, outcome)
