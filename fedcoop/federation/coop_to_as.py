"""Cooperatives on the wire: memberships and proposals -> AS2, and remote Questions -> drafts.

- A membership is a FEP-5219 `Relationship{subject: person, object: coop, relationship: role}`
  with the id `COOP/affiliations/<membership id>`, signed by the coop (FEP-8b32
  `eddsa-jcs-2022`, the coop's Ed25519 key). The proof's `created` is the membership's last
  change, so rendering it twice gives the same document (Ed25519 signatures are
  deterministic): the Add, the affiliations collection and the object's own URL agree.
- A proposal is a `Question` (`oneOf`, `endTime`, `closed`, `votersCount`) attributed to the
  coop, addressed to its members; `replies.totalItems` per option is the tally. fedcoop's own
  terms (`fedcoop:` namespace, defined inline) carry the kind, quorum, threshold, the size of
  the electorate and, once closed, the decision, so that every instance shows the same result.
- A vote is `Note{name: OPTION, inReplyTo: QUESTION, attributedTo: VOTER, to: COOP}`, which is
  what Mastodon sends for a poll vote.
"""

from __future__ import annotations

import html
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from fedcoop import clock
from fedcoop.accounts.actors import Actor
from fedcoop.activitypub.documents import as_list, first_id, first_str, types_of
from fedcoop.activitypub.keys import load_ed25519_private_key_pem
from fedcoop.activitypub.proofs import sign_document
from fedcoop.activitypub.vocab import AS_CONTEXT, DATA_INTEGRITY_CONTEXT
from fedcoop.federation.sanitize import plain_text, sanitize_html
from fedcoop.gigs import governance
from fedcoop.gigs.decisions import Decision
from fedcoop.gigs.governance import Proposal
from fedcoop.gigs.remote_proposals import RemoteProposalDraft

RELATIONSHIP_CONTEXT: Final[list[Any]] = [AS_CONTEXT, DATA_INTEGRITY_CONTEXT]
GOVERNANCE_TERMS: Final[dict[str, Any]] = {
    "toot": "http://joinmastodon.org/ns#",
    "votersCount": "toot:votersCount",
    "fedcoop": "https://fedcoop.org/ns#",
    "proposalKind": "fedcoop:proposalKind",
    "quorum": "fedcoop:quorum",
    "threshold": "fedcoop:threshold",
    "electorate": "fedcoop:electorate",
    "decision": "fedcoop:decision",
    "outcome": "fedcoop:outcome",
    "winningOption": "fedcoop:winningOption",
    "quorumMet": "fedcoop:quorumMet",
    "thresholdMet": "fedcoop:thresholdMet",
    "effect": "fedcoop:effect",
}
QUESTION_CONTEXT: Final[list[Any]] = [AS_CONTEXT, GOVERNANCE_TERMS]
ROLES: Final = ("member", "moderator", "admin", "outcast")
MAX_OPTIONS: Final = 20


def relationship_uri(coop_uri: str, membership_id: str) -> str:
    return f"{coop_uri}/affiliations/{membership_id}"


def signed_relationship(
    coop: Actor, subject_uri: str, role: str, membership_id: str, changed_at: str, ed_pem: str
) -> dict[str, Any]:
    """The coop-signed Relationship of one membership (FEP-5219 + FEP-8b32)."""
    moment = clock.parse_iso(changed_at)
    doc = {
        "@context": RELATIONSHIP_CONTEXT,
        "id": relationship_uri(coop.uri, membership_id),
        "type": "Relationship",
        "attributedTo": coop.uri,
        "subject": subject_uri,
        "object": coop.uri,
        "relationship": role,
        "published": clock.iso_seconds(moment),
    }
    assert coop.ed25519_key_id is not None
    return sign_document(doc, load_ed25519_private_key_pem(ed_pem), coop.ed25519_key_id, moment)


def relationship_parts(doc: Any) -> tuple[str, str, str] | None:
    """(subject, coop, role) of a Relationship document, or None when it is not one."""
    if not isinstance(doc, dict) or "Relationship" not in types_of(doc):
        return None
    subject = first_id(doc.get("subject"))
    coop = first_id(doc.get("object"))
    role = next((r for r in as_list(doc.get("relationship")) if r in ROLES), None)
    if subject is None or coop is None or role is None:
        return None
    return subject, coop, role


# proposals ----------------------------------------------------------------------------------


def _wire_time(value: str) -> str:
    return clock.iso_seconds(clock.parse_iso(value))


def decision_to_as(decision: Decision) -> dict[str, Any]:
    return {
        "type": "fedcoop:Decision",
        "outcome": decision.outcome,
        "winningOption": decision.winning_option,
        "quorumMet": decision.quorum_met,
        "thresholdMet": decision.threshold_met,
        "electorate": decision.electorate,
        "effect": decision.effect,
        "published": _wire_time(decision.decided_at),
    }


def question_to_as(
    proposal: Proposal,
    coop: Actor,
    tally: dict[str, int],
    *,
    to: list[str],
    url: str,
    decision: Decision | None = None,
    context: bool = True,
) -> dict[str, Any]:
    body = html.escape(proposal.body).replace("\n", "<br>")
    doc: dict[str, Any] = {
        "id": proposal.uri,
        "type": "Question",
        "attributedTo": coop.uri,
        "audience": coop.uri,
        "name": proposal.title,
        "content": f"<p>{body}</p>" if body else "",
        "url": url,
        "published": _wire_time(proposal.opens_at),
        "updated": _wire_time(proposal.updated_at),
        "endTime": _wire_time(proposal.ends_at),
        "oneOf": [
            {
                "type": "Note",
                "name": option,
                "replies": {"type": "Collection", "totalItems": tally.get(option, 0)},
            }
            for option in proposal.options
        ],
        "votersCount": sum(tally.values()),
        "to": to,
        "proposalKind": proposal.kind,
        "quorum": str(proposal.quorum),
        "threshold": proposal.threshold,
        "electorate": proposal.electorate_size,
    }
    if context:
        doc = {"@context": QUESTION_CONTEXT, **doc}
    if proposal.closed_at is not None:
        doc["closed"] = _wire_time(proposal.closed_at)
        if decision is not None:
            doc["decision"] = decision_to_as(decision)
    return doc


def vote_note(
    note_uri: str, voter: Actor, option: str, question_uri: str, coop_uri: str, published: str
) -> dict[str, Any]:
    return {
        "id": note_uri,
        "type": "Note",
        "name": option,
        "inReplyTo": question_uri,
        "attributedTo": voter.uri,
        "to": [coop_uri],
        "published": _wire_time(published),
    }


class QuestionRefused(ValueError):
    """Not a Question fedcoop can keep as a proposal; the message says why."""


def _share(value: Any, default: Decimal) -> Decimal:
    try:
        share = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return default
    return share if share.is_finite() and Decimal(0) <= share <= Decimal(1) else default


def _time(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        return clock.iso(clock.parse_iso(value))
    except ValueError:
        return None


def _count(value: Any) -> int:
    return value if isinstance(value, int) and value >= 0 else 0


def as_to_proposal_draft(obj: dict[str, Any], now: datetime) -> RemoteProposalDraft:
    """A coop's `Question` -> the copy kept here (sanitised, capped, counts checked)."""
    if "Question" not in types_of(obj):
        raise QuestionRefused("not a Question")
    uri = obj.get("id")
    if not isinstance(uri, str):
        raise QuestionRefused("a Question needs an id")
    options: list[str] = []
    tally: dict[str, int] = {}
    for item in as_list(obj.get("oneOf"))[:MAX_OPTIONS]:
        name = plain_text(first_str(item.get("name")) or "", 100) if isinstance(item, dict) else ""
        if name and name not in options:
            options.append(name)
            replies = item.get("replies")
            tally[name] = _count(replies.get("totalItems")) if isinstance(replies, dict) else 0
    if len(options) < 2:
        raise QuestionRefused("a proposal needs at least two options (oneOf)")
    ends_at = _time(obj.get("endTime"))
    if ends_at is None:
        raise QuestionRefused("a proposal needs an endTime")
    closed_value = obj.get("closed")
    closed_at = _time(closed_value) or (clock.iso(now) if closed_value is True else None)
    decision = obj.get("decision") if closed_at else None
    kind = obj.get("proposalKind")
    threshold = obj.get("threshold")
    return RemoteProposalDraft(
        uri=uri,
        title=plain_text(first_str(obj.get("name")) or "", governance.MAX_TITLE),
        body=sanitize_html(first_str(obj.get("content")) or ""),
        options=tuple(options),
        ends_at=ends_at,
        kind=kind if isinstance(kind, str) and kind in governance.KINDS else "text",
        quorum=_share(obj.get("quorum"), governance.DEFAULT_QUORUM),
        threshold=threshold if threshold in ("simple", "two_thirds") else "simple",
        electorate_size=_count(obj.get("electorate")),
        tally=tally,
        voters_count=_count(obj.get("votersCount")) or sum(tally.values()),
        closed_at=closed_at,
        decision=_decision_fields(decision) if isinstance(decision, dict) else None,
    )


def _decision_fields(decision: dict[str, Any]) -> dict[str, Any]:
    effect = first_str(decision.get("effect"))
    return {
        "outcome": decision.get("outcome"),
        "winningOption": first_str(decision.get("winningOption")),
        "quorumMet": decision.get("quorumMet") is True,
        "thresholdMet": decision.get("thresholdMet") is True,
        "effect": plain_text(effect, 500) if effect else "",
    }
