"""Reputation of any actor, local or remote, computed from the reviews about it.

What counts (docs/decisions/0007-reputation.md):
- only published reviews whose proof and agreement were verified here (`reviews.verified`);
- not from a blocked instance (a `block` domain policy, subdomains included) nor from an actor
  blocked by the instance actor or by one of our coops (moderation blocks; a subject's own
  block of a reviewer does not hide what that reviewer said about them);
- between the same reviewer and the same subject, once per 30 days: a review written less than
  30 days after the last one that counted is left out, so a friendly pair cannot pump a score
  with many small agreements;
- reviews about the actor's former identities (an honoured Move, an imported archive:
  `identity_links`) count for the new one.

The Bayesian mean pulls a small number of reviews towards a prior: with C = 5 pseudo-reviews
at m = 3.5, `(C * m + sum of ratings) / (C + n)`. A newcomer with one 5/5 shows 3.75, not 5.0;
after 20 reviews averaging 4.8 it shows 4.54. The plain mean is shown beside it.

`summarise()` and `counted()` are pure (tests give them rows directly); `reputation()` reads
the rows.
"""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

from fedcoop import clock
from fedcoop.gigs import skills as skill_list

PRIOR_MEAN: Final = 3.5
PRIOR_WEIGHT: Final = 5
REPEAT_WINDOW: Final = timedelta(days=30)
MAX_IDENTITY_HOPS: Final = 8


@dataclass(frozen=True)
class Rated:
    """One review as the maths sees it."""

    reviewer_id: str
    reviewer_host: str
    rating: int
    written_at: datetime
    criteria: dict[str, int] = field(default_factory=dict)
    skills: tuple[str, ...] = ()


@dataclass(frozen=True)
class Average:
    count: int
    mean: float | None


@dataclass(frozen=True)
class SkillAverage:
    skill_uri: str
    label: str
    count: int
    mean: float


@dataclass(frozen=True)
class Reputation:
    count: int
    mean: float | None
    bayesian_mean: float
    criteria: dict[str, Average]
    skills: list[SkillAverage]
    counterparts: int
    instances: int
    first_review_at: str | None
    last_review_at: str | None

    def as_dict(self) -> dict[str, Any]:
        """The documented JSON shape (native API and the actor document's `reputation`)."""
        return {
            "count": self.count,
            "mean": _round(self.mean),
            "bayesianMean": _round(self.bayesian_mean),
            "prior": {"mean": PRIOR_MEAN, "weight": PRIOR_WEIGHT},
            "counterparts": self.counterparts,
            "instances": self.instances,
            "firstReview": self.first_review_at,
            "lastReview": self.last_review_at,
            "criteria": {
                name: {"count": avg.count, "mean": _round(avg.mean)}
                for name, avg in sorted(self.criteria.items())
            },
            "skills": [
                {"skill": s.skill_uri, "name": s.label, "count": s.count, "mean": _round(s.mean)}
                for s in self.skills
            ],
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def bayesian_mean(count: int, total: float) -> float:
    return (PRIOR_WEIGHT * PRIOR_MEAN + total) / (PRIOR_WEIGHT + count)


def counted(rated: Iterable[Rated]) -> list[Rated]:
    """The reviews that count: per reviewer, oldest first, one per 30-day window."""
    by_reviewer: dict[str, list[Rated]] = defaultdict(list)
    for item in rated:
        by_reviewer[item.reviewer_id].append(item)
    kept: list[Rated] = []
    for items in by_reviewer.values():
        last: datetime | None = None
        for item in sorted(items, key=lambda r: r.written_at):
            if last is None or item.written_at - last >= REPEAT_WINDOW:
                kept.append(item)
                last = item.written_at
    return sorted(kept, key=lambda r: r.written_at)


def summarise(rated: Sequence[Rated], skill_labels: dict[str, str] | None = None) -> Reputation:
    """Reputation from reviews that already count (see `counted`)."""
    labels = skill_labels or {}
    count = len(rated)
    total = float(sum(r.rating for r in rated))
    per_criterion: dict[str, list[int]] = defaultdict(list)
    per_skill: dict[str, list[int]] = defaultdict(list)
    for item in rated:
        for name, value in item.criteria.items():
            per_criterion[name].append(value)
        for skill in item.skills:
            per_skill[skill].append(item.rating)
    skills = [
        SkillAverage(uri, labels.get(uri, uri), len(values), sum(values) / len(values))
        for uri, values in per_skill.items()
    ]
    skills.sort(key=lambda s: (-s.count, s.label))
    return Reputation(
        count=count,
        mean=total / count if count else None,
        bayesian_mean=bayesian_mean(count, total),
        criteria={
            name: Average(len(values), sum(values) / len(values))
            for name, values in per_criterion.items()
        },
        skills=skills,
        counterparts=len({r.reviewer_id for r in rated}),
        instances=len({r.reviewer_host for r in rated}),
        first_review_at=clock.iso(rated[0].written_at) if rated else None,
        last_review_at=clock.iso(rated[-1].written_at) if rated else None,
    )


# reading ------------------------------------------------------------------------------------


def identity_ids(conn: sqlite3.Connection, actor_id: str) -> list[str]:
    """`actor_id` and every former identity linked to it (old -> new, followed backwards)."""
    found = [actor_id]
    frontier = [actor_id]
    for _ in range(MAX_IDENTITY_HOPS):
        if not frontier:
            break
        marks = ",".join("?" * len(frontier))
        rows = conn.execute(
            f"SELECT old_actor_id FROM identity_links WHERE new_actor_id IN ({marks})",
            tuple(frontier),
        ).fetchall()
        frontier = [r[0] for r in rows if r[0] not in found]
        found.extend(frontier)
    return found


def _split_port(host: str) -> tuple[str, str | None]:
    if host.startswith("["):
        end = host.find("]")
        rest = host[end + 1 :]
        return host[: end + 1], rest[1:] if rest.startswith(":") else None
    name, sep, port = host.partition(":")
    return name, port if sep else None


def host_is_blocked(host: str, blocked_domains: Iterable[str]) -> bool:
    """The federation policy's rule (hosts are stored normalised): a domain covers its
    subdomains, a rule with a port only that port, an IP address only itself."""
    name, port = _split_port(host.lower())
    for domain in blocked_domains:
        d_name, d_port = _split_port(domain)
        if d_port is not None and d_port != port:
            continue
        if name == d_name:
            return True
        is_ip = name.startswith("[") or name.replace(".", "").isdigit()
        if not is_ip and name.endswith("." + d_name):
            return True
    return False


def _moderation_blocked(conn: sqlite3.Connection) -> set[str]:
    rows = conn.execute(
        "SELECT actor_blocks.blocked_id FROM actor_blocks JOIN actors ON "
        "actors.id = actor_blocks.blocker_id WHERE actors.local = 1 "
        "AND actors.type IN ('Application', 'Group')"
    ).fetchall()
    return {r[0] for r in rows}


def _blocked_domains(conn: sqlite3.Connection) -> list[str]:
    rows = conn.execute("SELECT domain FROM domain_policies WHERE policy = 'block'").fetchall()
    return [r[0] for r in rows]


def countable_reviews(conn: sqlite3.Connection, subject_ids: Sequence[str]) -> list[Rated]:
    """Verified, published reviews about `subject_ids`, minus blocked reviewers."""
    if not subject_ids:
        return []
    marks = ",".join("?" * len(subject_ids))
    rows = conn.execute(
        "SELECT reviews.reviewer_id, actors.host, reviews.rating, reviews.criteria, "
        "reviews.skills, reviews.written_at FROM reviews JOIN actors ON "
        f"actors.id = reviews.reviewer_id WHERE reviews.subject_id IN ({marks}) "
        "AND reviews.state = 'published' AND reviews.verified = 1",
        tuple(subject_ids),
    ).fetchall()
    blocked_actors = _moderation_blocked(conn)
    blocked_domains = _blocked_domains(conn)
    out = []
    for row in rows:
        if row[0] in blocked_actors or row[0] in subject_ids:
            continue
        if host_is_blocked(row[1], blocked_domains):
            continue
        out.append(
            Rated(
                reviewer_id=row[0],
                reviewer_host=row[1],
                rating=int(row[2]),
                criteria={str(k): int(v) for k, v in json.loads(row[3]).items()},
                skills=tuple(json.loads(row[4])),
                written_at=clock.parse_iso(row[5]),
            )
        )
    return out


def reputation(conn: sqlite3.Connection, actor_id: str) -> Reputation:
    """The reputation of `actor_id` (with its former identities), as this instance sees it."""
    rated = counted(countable_reviews(conn, identity_ids(conn, actor_id)))
    skill_uris = tuple(sorted({s for r in rated for s in r.skills}))
    return summarise(rated, skill_list.labels_for(conn, skill_uris))
