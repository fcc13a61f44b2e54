"""Member governance: proposals, their electorate and votes (closing: `decisions.py`).

A proposal of a LOCAL coop is one of `KINDS` (free text, admit or remove a member, change the
fee or the solidarity-fund rate, federate with or block an instance, amend the rules). It has
options (yes/no for every kind but free text), a voting period ending at `ends_at`, a quorum
(a share of the electorate) and a threshold (`simple` or `two_thirds`; see `tally.py`).

- The electorate (active members, outcasts excluded) is fixed when the vote opens and stored.
- One member, one vote: the FIRST vote counts; a later vote from the same member, a vote from
  anyone outside the electorate, for an unknown option, or after `ends_at` is refused and
  changes nothing (as Mastodon polls do; a changed mind is not supported).
- Closing, the decision record and its effects are in `decisions.py`.

A REMOTE coop's proposal is kept as a copy (`local = 0`, `remote_proposals.py`): a local
member votes on it here (the vote leaves as a Note reply, event `vote.cast`); nothing is
counted here for it.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from fedcoop import clock, ids
from fedcoop.accounts.actors import get_actor
from fedcoop.db.jobs import StateGraph
from fedcoop.errors import Conflict, Forbidden, NotFound, ValidationError
from fedcoop.gigs import membership, tally
from fedcoop.gigs.membership import Membership
from fedcoop.gigs.tally import NO, YES
from fedcoop.social.events import emit
from fedcoop.uris import Uris

KINDS: Final = ("text", "admit", "remove", "fee", "solidarity", "federate", "block", "rules")
KIND_LABELS: Final = {
    "text": "Free text",
    "admit": "Admit a member",
    "remove": "Remove a member",
    "fee": "Change the fee rate",
    "solidarity": "Change the solidarity-fund rate",
    "federate": "Federate with an instance",
    "block": "Block an instance",
    "rules": "Amend the rules",
}
YES_NO: Final = (YES, NO)
MAX_OPTIONS: Final = 10
MAX_OPTION_CHARS: Final = 100
MAX_TITLE: Final = 200
MAX_BODY: Final = 20_000
MIN_PERIOD: Final = timedelta(minutes=1)
MAX_PERIOD: Final = timedelta(days=90)
DEFAULT_PERIOD: Final = timedelta(days=7)
DEFAULT_QUORUM: Final = Decimal("0.5")
TABLE: Final = "proposals"


class ProposalStates(StateGraph):
    name = "proposal"
    initial = "open"
    transitions = {"open": frozenset({"closed"}), "closed": frozenset()}


@dataclass(frozen=True)
class ProposalDraft:
    """A validated proposal. `subject_actor_id` for admit/remove, `rate` for fee/solidarity,
    `domain` (normalised by the caller) for federate/block, `rules` for rules."""

    kind: str
    title: str
    ends_at: datetime
    body: str = ""
    options: tuple[str, ...] = YES_NO
    quorum: Decimal = DEFAULT_QUORUM
    threshold: str = "simple"
    subject_actor_id: str | None = None
    rate: Decimal | None = None
    domain: str | None = None
    rules: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValidationError(f"a kind is one of {', '.join(KINDS)}", field="kind")
        if not self.title.strip() or len(self.title) > MAX_TITLE:
            raise ValidationError(f"a title of 1 to {MAX_TITLE} characters", field="title")
        if len(self.body) > MAX_BODY:
            raise ValidationError(f"at most {MAX_BODY} characters", field="body")
        if self.threshold not in tally.THRESHOLDS:
            raise ValidationError("simple or two_thirds", field="threshold")
        if not Decimal(0) <= self.quorum <= Decimal(1):
            raise ValidationError("a quorum is a share between 0 and 1", field="quorum")
        self._check_options()
        self._check_parameters()

    def _check_options(self) -> None:
        if self.kind != "text" and self.options != YES_NO:
            raise ValidationError("this kind of proposal is decided by Yes or No", field="options")
        cleaned = [o.strip() for o in self.options]
        if not 2 <= len(cleaned) <= MAX_OPTIONS or len(set(cleaned)) != len(cleaned):
            raise ValidationError(f"2 to {MAX_OPTIONS} different options", field="options")
        if any(not o or len(o) > MAX_OPTION_CHARS for o in cleaned):
            raise ValidationError(f"options of 1 to {MAX_OPTION_CHARS} characters", field="options")

    def _check_parameters(self) -> None:
        if self.kind in ("admit", "remove") and not self.subject_actor_id:
            raise ValidationError("name the person", field="subject")
        if self.kind in ("fee", "solidarity") and (
            self.rate is None or not Decimal(0) <= self.rate <= Decimal(1)
        ):
            raise ValidationError("a rate is a share between 0 and 1", field="rate")
        if self.kind in ("federate", "block") and not self.domain:
            raise ValidationError("name the instance", field="domain")
        if self.kind == "rules" and not (self.rules or "").strip():
            raise ValidationError("give the new rules", field="rules")

    @property
    def params(self) -> dict[str, str]:
        out: dict[str, str] = {}
        if self.rate is not None:
            out["rate"] = str(self.rate)
        if self.domain:
            out["domain"] = self.domain
        if self.rules is not None:
            out["rules"] = self.rules
        return out


def parse_share(value: str, name: str) -> Decimal:
    """A share given as `0.05` or `5%`."""
    text = value.strip()
    try:
        share = Decimal(text[:-1]) / 100 if text.endswith("%") else Decimal(text)
    except InvalidOperation:
        raise ValidationError("a number such as 0.5 or 50%", field=name) from None
    if not share.is_finite() or not Decimal(0) <= share <= Decimal(1):
        raise ValidationError("a share between 0 and 1 (0% to 100%)", field=name)
    return share


@dataclass(frozen=True)
class Proposal:
    id: str
    uri: str
    coop_actor_id: str
    local: bool
    author_id: str | None
    kind: str
    title: str
    body: str
    options: list[str]
    params: dict[str, Any]
    subject_actor_id: str | None
    membership_id: str | None
    quorum: Decimal
    threshold: str
    opens_at: str
    ends_at: str
    state: str
    electorate_size: int
    tally: dict[str, int]
    voters_count: int
    closed_at: str | None
    created_at: str
    updated_at: str

    @property
    def is_open(self) -> bool:
        return self.state == "open"

    @property
    def kind_label(self) -> str:
        return KIND_LABELS.get(self.kind, self.kind)

    @property
    def yes_no(self) -> bool:
        return self.kind != "text"

    def accepts_votes_at(self, moment: datetime) -> bool:
        return self.is_open and clock.iso(moment) <= self.ends_at


def _proposal(row: sqlite3.Row | None) -> Proposal | None:
    if row is None:
        return None
    return Proposal(
        id=row["id"],
        uri=row["uri"],
        coop_actor_id=row["coop_actor_id"],
        local=bool(row["local"]),
        author_id=row["author_id"],
        kind=row["kind"],
        title=row["title"],
        body=row["body"],
        options=list(json.loads(row["options"])),
        params=dict(json.loads(row["params"])),
        subject_actor_id=row["subject_actor_id"],
        membership_id=row["membership_id"],
        quorum=Decimal(row["quorum"]),
        threshold=row["threshold"],
        opens_at=row["opens_at"],
        ends_at=row["ends_at"],
        state=row["state"],
        electorate_size=row["electorate_size"],
        tally={str(k): int(v) for k, v in json.loads(row["tally"]).items()},
        voters_count=row["voters_count"],
        closed_at=row["closed_at"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


# lookups ------------------------------------------------------------------------------------


def get_proposal(conn: sqlite3.Connection, proposal_id: str) -> Proposal | None:
    return _proposal(
        conn.execute("SELECT * FROM proposals WHERE id = ?", (proposal_id,)).fetchone()
    )


def get_proposal_by_uri(conn: sqlite3.Connection, uri: str) -> Proposal | None:
    return _proposal(conn.execute("SELECT * FROM proposals WHERE uri = ?", (uri,)).fetchone())


def require_proposal(conn: sqlite3.Connection, proposal_id: str) -> Proposal:
    found = get_proposal(conn, proposal_id)
    if found is None:
        raise NotFound("There is no such proposal.")
    return found


def list_proposals(
    conn: sqlite3.Connection, coop_actor_id: str, *, state: str | None = None, limit: int = 100
) -> list[Proposal]:
    """A coop's proposals, open ones first, then newest first."""
    where = "coop_actor_id = ?" + (" AND state = ?" if state else "")
    params: tuple[Any, ...] = (coop_actor_id, state) if state else (coop_actor_id,)
    rows = conn.execute(
        f"SELECT * FROM proposals WHERE {where} ORDER BY state = 'closed', id DESC LIMIT ?",
        (*params, limit),
    ).fetchall()
    return [p for p in (_proposal(r) for r in rows) if p is not None]


def open_admission_proposal(conn: sqlite3.Connection, membership_id: str) -> Proposal | None:
    return _proposal(
        conn.execute(
            "SELECT * FROM proposals WHERE membership_id = ? AND kind = 'admit' AND state = 'open'",
            (membership_id,),
        ).fetchone()
    )


def electorate_ids(conn: sqlite3.Connection, proposal_id: str) -> list[str]:
    rows = conn.execute(
        "SELECT actor_id FROM proposal_electorate WHERE proposal_id = ? ORDER BY actor_id",
        (proposal_id,),
    ).fetchall()
    return [str(r[0]) for r in rows]


def is_eligible(conn: sqlite3.Connection, proposal_id: str, actor_id: str) -> bool:
    return (
        conn.execute(
            "SELECT 1 FROM proposal_electorate WHERE proposal_id = ? AND actor_id = ?",
            (proposal_id, actor_id),
        ).fetchone()
        is not None
    )


def vote_of(conn: sqlite3.Connection, proposal_id: str, voter_id: str) -> str | None:
    row = conn.execute(
        "SELECT option FROM votes WHERE proposal_id = ? AND voter_id = ?", (proposal_id, voter_id)
    ).fetchone()
    return None if row is None else str(row[0])


@dataclass(frozen=True)
class Vote:
    id: str
    proposal_id: str
    voter_id: str
    option: str
    note_uri: str | None
    created_at: str


def get_vote(conn: sqlite3.Connection, vote_id: str) -> Vote | None:
    row = conn.execute("SELECT * FROM votes WHERE id = ?", (vote_id,)).fetchone()
    if row is None:
        return None
    return Vote(
        row["id"],
        row["proposal_id"],
        row["voter_id"],
        row["option"],
        row["note_uri"],
        row["created_at"],
    )


def current_tally(conn: sqlite3.Connection, proposal: Proposal) -> dict[str, int]:
    """Votes per option: counted here for a local proposal, as published for a remote one."""
    if not proposal.local:
        return {o: proposal.tally.get(o, 0) for o in proposal.options}
    rows = conn.execute(
        "SELECT option, count(*) FROM votes WHERE proposal_id = ? GROUP BY option", (proposal.id,)
    ).fetchall()
    counted = {str(r[0]): int(r[1]) for r in rows}
    return {o: counted.get(o, 0) for o in proposal.options}


def coop_rates(conn: sqlite3.Connection, coop_actor_id: str) -> tuple[Decimal, Decimal]:
    """(fee rate, solidarity-fund rate) of a local coop, as shares."""
    row = conn.execute(
        "SELECT fee_rate, solidarity_rate FROM coops WHERE actor_id = ?", (coop_actor_id,)
    ).fetchone()
    if row is None:
        return Decimal(0), Decimal(0)
    return Decimal(row[0]), Decimal(row[1])


# opening ------------------------------------------------------------------------------------


def open_proposal(
    conn: sqlite3.Connection,
    uris: Uris,
    coop_actor_id: str,
    draft: ProposalDraft,
    *,
    author_id: str | None,
    now: datetime | None = None,
    membership_id: str | None = None,
) -> Proposal:
    """Put a proposal to a local coop's members; `author_id` None: the coop itself (an
    admission vote). The electorate is the active members at this moment."""
    coop = membership.local_coop(conn, coop_actor_id)
    moment = now or clock.now()
    if author_id is not None and not membership.is_member(conn, coop_actor_id, author_id):
        raise Forbidden("Only members can put a proposal to the cooperative.")
    if not MIN_PERIOD <= draft.ends_at - moment <= MAX_PERIOD:
        raise ValidationError("a vote lasts from a minute to 90 days", field="ends_at")
    membership_id = _check_subject(conn, coop_actor_id, draft, membership_id)
    electorate = [actor.id for actor, _ in membership.active_members(conn, coop.actor.id)]
    proposal_id = ids.new_id()
    now_s = clock.iso(moment)
    conn.execute(
        """INSERT INTO proposals (id, uri, coop_actor_id, local, author_id, kind, title, body,
               options, params, subject_actor_id, membership_id, quorum, threshold, opens_at,
               ends_at, state, electorate_size, tally, voters_count, created_at, updated_at)
           VALUES (?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '{}', 0, ?, ?)""",
        (
            proposal_id,
            uris.object("proposals", proposal_id),
            coop_actor_id,
            author_id,
            draft.kind,
            draft.title.strip(),
            draft.body,
            json.dumps([o.strip() for o in draft.options]),
            json.dumps(draft.params),
            draft.subject_actor_id,
            membership_id,
            str(draft.quorum),
            draft.threshold,
            now_s,
            clock.iso(draft.ends_at),
            ProposalStates.initial,
            len(electorate),
            now_s,
            now_s,
        ),
    )
    conn.executemany(
        "INSERT INTO proposal_electorate (proposal_id, actor_id) VALUES (?, ?)",
        [(proposal_id, actor_id) for actor_id in electorate],
    )
    emit(conn, "proposal.opened", coop_actor_id, proposal_id)
    return require_proposal(conn, proposal_id)


def _check_subject(
    conn: sqlite3.Connection, coop_actor_id: str, draft: ProposalDraft, membership_id: str | None
) -> str | None:
    if draft.kind == "admit":
        assert draft.subject_actor_id is not None
        request = membership.find_membership(conn, coop_actor_id, draft.subject_actor_id)
        if request is None or request.state != "pending":
            raise ValidationError("this person has not asked to join", field="subject")
        if membership_id is None and open_admission_proposal(conn, request.id) is not None:
            raise Conflict("A vote on this request is already open.")
        return request.id
    if draft.kind == "remove":
        assert draft.subject_actor_id is not None
        if not membership.is_member(conn, coop_actor_id, draft.subject_actor_id):
            raise ValidationError("this person is not a member", field="subject")
    return membership_id


def admission_vote(
    conn: sqlite3.Connection,
    uris: Uris,
    coop_actor_id: str,
    request: Membership,
    *,
    now: datetime | None = None,
) -> Proposal:
    """The `admit` proposal for a pending request (opened once; asking again reuses it)."""
    existing = open_admission_proposal(conn, request.id)
    if existing is not None:
        return existing
    person = get_actor(conn, request.actor_id)
    handle = f"@{person.handle}" if person is not None else "a new member"
    moment = now or clock.now()
    draft = ProposalDraft(
        kind="admit",
        title=f"Admit {handle}",
        body=f"{handle} asked to join. Admit them as a member?",
        ends_at=moment + DEFAULT_PERIOD,
        subject_actor_id=request.actor_id,
    )
    return open_proposal(
        conn, uris, coop_actor_id, draft, author_id=None, now=moment, membership_id=request.id
    )


# voting -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VoteResult:
    counted: bool
    reason: str  # "counted", "sent", or why it was refused
    vote_id: str | None = None


def cast_vote(
    conn: sqlite3.Connection,
    uris: Uris,
    proposal_id: str,
    voter_id: str,
    option: str,
    *,
    note_uri: str | None = None,
    now: datetime | None = None,
) -> VoteResult:
    """One member's vote. On a local proposal it is counted (or refused, changing nothing);
    on a remote coop's proposal it is recorded here and sent to that coop (`vote.cast`)."""
    proposal = require_proposal(conn, proposal_id)
    moment = now or clock.now()
    option = option.strip()
    if not proposal.accepts_votes_at(moment):
        return VoteResult(False, "voting has ended")
    if option not in proposal.options:
        return VoteResult(False, "no such option")
    previous = vote_of(conn, proposal.id, voter_id)
    if previous is not None:
        # The first vote counts (as in Mastodon polls); a second one is refused.
        return VoteResult(False, "already voted")
    if (
        note_uri is not None
        and conn.execute("SELECT 1 FROM votes WHERE note_uri = ?", (note_uri,)).fetchone()
    ):
        return VoteResult(False, "already counted")
    if proposal.local and not is_eligible(conn, proposal.id, voter_id):
        return VoteResult(False, "not eligible: not a member when the vote opened")
    if not proposal.local:
        voter = get_actor(conn, voter_id)
        if voter is None or not voter.local:
            return VoteResult(False, "not a local member")
    vote_id = ids.new_id()
    if not proposal.local:
        note_uri = uris.object("votes", vote_id)
    conn.execute(
        "INSERT INTO votes (id, proposal_id, voter_id, option, note_uri, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (vote_id, proposal.id, voter_id, option, note_uri, clock.iso(moment)),
    )
    conn.execute(
        "UPDATE proposals SET voters_count = voters_count + 1, updated_at = ? WHERE id = ?",
        (clock.iso(moment), proposal.id),
    )
    if proposal.local:
        return VoteResult(True, "counted", vote_id)
    emit(conn, "vote.cast", voter_id, vote_id)
    return VoteResult(True, "sent", vote_id)


def proposals_for_member(conn: sqlite3.Connection, actor_id: str) -> list[Proposal]:
    """Open proposals of every coop (here or elsewhere) this local actor belongs to."""
    rows = conn.execute(
        "SELECT proposals.* FROM proposals JOIN memberships "
        "ON memberships.coop_actor_id = proposals.coop_actor_id "
        "WHERE memberships.actor_id = ? AND memberships.state = 'active' "
        "AND proposals.state = 'open' ORDER BY proposals.ends_at, proposals.id",
        (actor_id,),
    ).fetchall()
    return [p for p in (_proposal(r) for r in rows) if p is not None]
