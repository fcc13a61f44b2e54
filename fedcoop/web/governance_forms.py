"""Proposal input from an HTML form or a JSON body -> a `ProposalDraft`, with 422 errors that
name the field. Shared by the proposals page and `POST /api/fedcoop/v1/coops/{name}/proposals`.

Fields: `kind`, `title`, `body`; `options` (free text only: a list, or one option per line);
`ends_at` (ISO 8601) or `days` (the voting period, default 7); `quorum` (`0.5` or `50%`,
default 50%); `threshold` (`simple` or `two_thirds`); `subject` (a handle or actor URL, for
admit/remove); `rate` (`0.04` or `4%`, for fee/solidarity); `domain` (for federate/block,
normalised here); `rules` (for rules).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from fedcoop import clock
from fedcoop.activitypub.hosts import HostError, normalise_host
from fedcoop.errors import ValidationError
from fedcoop.federation.context import FederationContext
from fedcoop.federation.coop_services import resolve_actor
from fedcoop.gigs import governance
from fedcoop.gigs.governance import ProposalDraft, parse_share

MAX_DAYS = 90


def _text(fields: dict[str, Any], name: str) -> str:
    value = fields.get(name, "")
    return value.strip() if isinstance(value, str) else str(value)


def _options(fields: dict[str, Any]) -> tuple[str, ...] | None:
    raw = fields.get("options")
    if raw is None or raw == "":
        return None
    items = raw if isinstance(raw, list) else str(raw).splitlines()
    return tuple(str(o).strip() for o in items if str(o).strip())


def _ends_at(fields: dict[str, Any], now: datetime) -> datetime:
    if fields.get("ends_at"):
        try:
            return clock.parse_iso(_text(fields, "ends_at"))
        except ValueError:
            raise ValidationError("an ISO 8601 date and time", field="ends_at") from None
    days_text = _text(fields, "days") or "7"
    try:
        days = float(days_text)
    except ValueError:
        raise ValidationError("a number of days", field="days") from None
    if not 0 < days <= MAX_DAYS:
        raise ValidationError(f"between a few minutes and {MAX_DAYS} days", field="days")
    return now + timedelta(days=days)


async def proposal_draft(
    ctx: FederationContext, fields: dict[str, Any], *, now: datetime | None = None
) -> ProposalDraft:
    moment = now or clock.now()
    kind = _text(fields, "kind") or "text"
    subject_id = None
    if kind in ("admit", "remove"):
        ref = _text(fields, "subject")
        actor = await resolve_actor(ctx, ref) if ref else None
        if actor is None:
            raise ValidationError("no one answers to that name", field="subject")
        subject_id = actor.id
    domain = None
    if kind in ("federate", "block"):
        try:
            domain = normalise_host(_text(fields, "domain"))
        except HostError:
            raise ValidationError("an instance name such as example.org", field="domain") from None
    rate = parse_share(_text(fields, "rate"), "rate") if kind in ("fee", "solidarity") else None
    options = _options(fields) if kind == "text" else None
    return ProposalDraft(
        kind=kind,
        title=_text(fields, "title"),
        body=_text(fields, "body"),
        ends_at=_ends_at(fields, moment),
        options=options or governance.YES_NO,
        quorum=parse_share(_text(fields, "quorum") or "50%", "quorum"),
        threshold=_text(fields, "threshold") or "simple",
        subject_actor_id=subject_id,
        rate=rate,
        domain=domain,
        rules=_text(fields, "rules") if kind == "rules" else None,
    )
