"""Coop membership and member governance on a real database (no federation involved).

The instance hosts the coop velo (admin alice); bob, carol and dan are local people.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from fedcoop import clock
from fedcoop.accounts import accounts, coops
from fedcoop.app import open_database
from fedcoop.db import Database
from fedcoop.db.jobs import IllegalTransition
from fedcoop.errors import Conflict, Forbidden, ValidationError
from fedcoop.gigs import (
    admission,
    decisions,
    governance,
    membership,
    policy_actions,
    remote_proposals,
)
from fedcoop.gigs.governance import ProposalDraft
from fedcoop.gigs.membership import MembershipStates
from fedcoop.social import domain_policies
from fedcoop.uris import Uris


class World:
    def __init__(self, db: Database, uris: Uris, ids: dict[str, str]) -> None:
        self.db, self.uris, self.ids = db, uris, ids

    def __getitem__(self, name: str) -> str:
        return self.ids[name]

    def do(self, fn: Any) -> Any:
        return self.db.write_sync(fn)

    def events(self, kind: str) -> list[sqlite3.Row]:
        return self.db.read_sync(
            lambda c: c.execute("SELECT * FROM events WHERE kind = ?", (kind,)).fetchall()
        )

    def set_admission(self, mode: str) -> None:
        self.do(
            lambda c: c.execute(
                "UPDATE coops SET admission = ? WHERE actor_id = ?", (mode, self["velo"])
            )
        )

    def join(self, who: str) -> admission.JoinOutcome:
        return self.do(lambda c: admission.ask_to_join(c, self.uris, self["velo"], self[who]))

    def make_member(self, who: str) -> None:
        self.set_admission("open")
        self.join(who)
        self.set_admission("approval")


@pytest.fixture
def world(settings: Any) -> Iterator[World]:
    db = open_database(settings)
    db.start()
    uris = Uris(settings.instance.scheme, settings.instance.domain)

    def setup(conn: sqlite3.Connection) -> dict[str, str]:
        alice = accounts.get_account_by_username(conn, "alice")
        coop = coops.get_coop(conn, "velo")
        assert alice and coop
        people = {"alice": alice.actor_id, "velo": coop.actor.id}
        for name in ("bob", "carol", "dan"):
            people[name] = accounts.create_account(conn, uris, name, f"password-{name}-1").actor_id
        return people

    yield World(db, uris, db.write_sync(setup))
    db.close()


def in_days(days: float) -> Any:
    return clock.now() + timedelta(days=days)


def propose(world: World, author: str = "alice", **over: Any) -> governance.Proposal:
    fields: dict[str, Any] = {"kind": "text", "title": "Buy a second cargo bike?"}
    fields.update(over)
    fields.setdefault("ends_at", in_days(3))
    draft = ProposalDraft(**fields)
    return world.do(
        lambda c: governance.open_proposal(
            c, world.uris, world["velo"], draft, author_id=world[author]
        )
    )


def vote(world: World, proposal_id: str, who: str, option: str, **kw: Any) -> Any:
    return world.do(
        lambda c: governance.cast_vote(c, world.uris, proposal_id, world[who], option, **kw)
    )


def close(world: World, proposal_id: str) -> decisions.Decision:
    later = in_days(100)
    return world.do(lambda c: decisions.close_proposal(c, proposal_id, now=later))


# admission -----------------------------------------------------------------------------------


def test_open_admission_admits_at_once_and_publishes_it(world: World) -> None:
    world.set_admission("open")
    outcome = world.join("bob")
    assert outcome.decided == "admitted" and outcome.membership.state == "active"
    assert [r["subject_id"] for r in world.events("membership.accepted")] == [outcome.membership.id]


def test_approval_waits_for_an_admin_and_only_an_admin_decides(world: World) -> None:
    outcome = world.join("bob")
    assert (outcome.decided, outcome.membership.state) == ("waiting for an admin", "pending")
    assert not world.events("membership.accepted")
    # carol, not an admin, cannot admit bob
    with pytest.raises(Forbidden):
        world.do(lambda c: membership.admit(c, outcome.membership.id, by_actor_id=world["carol"]))
    admitted = world.do(
        lambda c: membership.admit(c, outcome.membership.id, by_actor_id=world["alice"])
    )
    assert admitted.state == "active"
    assert world.do(lambda c: membership.is_member(c, world["velo"], world["bob"]))


def test_closed_admission_refuses_and_says_so(world: World) -> None:
    world.set_admission("closed")
    outcome = world.join("bob")
    assert (outcome.decided, outcome.membership.state) == ("refused", "rejected")
    assert len(world.events("membership.rejected")) == 1
    assert not world.do(lambda c: membership.is_member(c, world["velo"], world["bob"]))


def test_vote_admission_opens_one_admit_proposal(world: World) -> None:
    world.set_admission("vote")
    first = world.join("bob")
    again = world.join("bob")
    assert first.decided == "put to a vote" and again.proposal_id == first.proposal_id
    proposal = world.do(lambda c: governance.require_proposal(c, first.proposal_id))
    assert proposal.kind == "admit" and proposal.options == ["Yes", "No"]
    assert proposal.electorate_size == 1  # alice alone is a member


def test_leaving_and_asking_again_reuse_the_row(world: World) -> None:
    world.make_member("bob")
    left = world.do(lambda c: membership.member_leaves(c, world["velo"], world["bob"]))
    assert left is not None and left.state == "left"
    again = world.join("bob")
    assert again.membership.id == left.id and again.membership.state == "pending"


def test_the_last_admin_cannot_leave_or_be_demoted(world: World) -> None:
    with pytest.raises(Conflict):
        world.do(lambda c: membership.member_leaves(c, world["velo"], world["alice"]))
    with pytest.raises(Conflict):
        world.do(
            lambda c: membership.set_role(
                c, world["velo"], world["alice"], "member", by_actor_id=world["alice"]
            )
        )


def test_the_membership_graph_refuses_undeclared_moves() -> None:
    with pytest.raises(IllegalTransition):
        MembershipStates.check("rejected", "active")
    with pytest.raises(IllegalTransition):
        MembershipStates.check("left", "removed")


# proposals and votes --------------------------------------------------------------------------


def test_only_members_may_propose_and_drafts_are_checked(world: World) -> None:
    with pytest.raises(Forbidden):
        propose(world, author="bob")
    with pytest.raises(ValidationError) as err:
        ProposalDraft(kind="fee", title="Raise the fee", ends_at=in_days(1), rate=Decimal("1.5"))
    assert err.value.field == "rate"
    with pytest.raises(ValidationError) as err:
        ProposalDraft(kind="block", title="Block", ends_at=in_days(1), options=("A", "B"))
    assert err.value.field == "options"


def test_one_member_one_vote_first_vote_counts(world: World) -> None:
    world.make_member("bob")
    proposal = propose(world, options=("Yes", "No"))
    assert vote(world, proposal.id, "bob", "Yes").counted
    # a second vote from bob, in either direction, is refused and changes nothing
    second = vote(world, proposal.id, "bob", "No")
    assert (second.counted, second.reason) == (False, "already voted")
    tally = world.db.read_sync(lambda c: governance.current_tally(c, proposal))
    assert tally == {"Yes": 1, "No": 0}


def test_the_electorate_is_fixed_when_the_vote_opens(world: World) -> None:
    world.make_member("bob")
    proposal = propose(world, options=("Yes", "No"))
    world.make_member("carol")  # joins after the vote opened
    late = vote(world, proposal.id, "carol", "Yes")
    assert not late.counted and late.reason.startswith("not eligible")
    outsider = vote(world, proposal.id, "dan", "Yes")
    assert not outsider.counted
    # bob leaves after the vote opened: he was eligible when it opened, so his vote counts
    world.do(lambda c: membership.member_leaves(c, world["velo"], world["bob"]))
    assert vote(world, proposal.id, "bob", "No").counted


def test_votes_after_the_end_or_for_unknown_options_are_refused(world: World) -> None:
    proposal = propose(world, options=("Yes", "No"))
    after = vote(world, proposal.id, "alice", "Yes", now=in_days(4))
    assert (after.counted, after.reason) == (False, "voting has ended")
    assert not vote(world, proposal.id, "alice", "Maybe").counted
    assert world.db.read_sync(lambda c: governance.vote_of(c, proposal.id, world["alice"])) is None


def test_closing_writes_the_decision_and_publishes_the_tally(world: World) -> None:
    world.make_member("bob")
    world.make_member("carol")
    proposal = propose(world, options=("Tuesday", "Thursday"))
    vote(world, proposal.id, "alice", "Thursday")
    vote(world, proposal.id, "bob", "Thursday")
    decision = close(world, proposal.id)
    assert (decision.outcome, decision.winning_option) == ("adopted", "Thursday")
    assert (decision.votes_cast, decision.electorate, decision.turnout_percent) == (2, 3, 67)
    assert [r["subject_id"] for r in world.events("proposal.closed")] == [proposal.id]
    log = world.db.read_sync(lambda c: decisions.decisions_log(c, world["velo"]))
    assert [p.id for _, p in log] == [proposal.id]
    # a closed proposal takes no more votes
    assert not vote(world, proposal.id, "carol", "Tuesday").counted


def test_the_closer_closes_only_what_is_due(world: World) -> None:
    soon = propose(world, ends_at=clock.now() + timedelta(minutes=2))
    later = propose(world, ends_at=in_days(2))
    closed = world.do(lambda c: decisions.close_due(c, clock.now() + timedelta(hours=1)))
    assert [d.proposal_id for d in closed] == [soon.id]
    still = world.db.read_sync(lambda c: governance.require_proposal(c, later.id))
    assert still.is_open


def test_an_adopted_admission_admits_and_a_rejected_one_refuses(world: World) -> None:
    world.set_admission("vote")
    bob = world.join("bob")
    carol = world.join("carol")
    assert bob.proposal_id and carol.proposal_id
    vote(world, bob.proposal_id, "alice", "Yes")
    vote(world, carol.proposal_id, "alice", "No")
    assert close(world, bob.proposal_id).effect == "admitted as a member"
    assert close(world, carol.proposal_id).effect == "request refused"
    assert world.do(lambda c: membership.is_member(c, world["velo"], world["bob"]))
    found = world.do(lambda c: membership.find_membership(c, world["velo"], world["carol"]))
    assert found is not None and found.state == "rejected"


def test_adopted_rate_rules_and_removal_are_applied(world: World) -> None:
    world.make_member("bob")
    fee = propose(world, kind="fee", title="Fee to 4%", rate=Decimal("0.04"))
    rules = propose(world, kind="rules", title="New rules", rules="Be kind. Ride safe.")
    removal = propose(world, kind="remove", title="Remove bob", subject_actor_id=world["bob"])
    for p in (fee, rules, removal):
        vote(world, p.id, "alice", "Yes")
    for p in (fee, rules, removal):
        close(world, p.id)
    row = world.db.read_sync(
        lambda c: c.execute(
            "SELECT fee_rate, rules FROM coops WHERE actor_id = ?", (world["velo"],)
        ).fetchone()
    )
    assert (Decimal(row["fee_rate"]), row["rules"]) == (Decimal("0.04"), "Be kind. Ride safe.")
    assert not world.do(lambda c: membership.is_member(c, world["velo"], world["bob"]))
    assert len(world.events("membership.removed")) == 1


def test_a_rejected_proposal_changes_nothing(world: World) -> None:
    world.make_member("bob")
    fee = propose(world, kind="solidarity", title="Fund to 10%", rate=Decimal("0.1"))
    vote(world, fee.id, "alice", "No")
    vote(world, fee.id, "bob", "No")
    assert close(world, fee.id).outcome == "rejected"
    row = world.db.read_sync(
        lambda c: c.execute(
            "SELECT solidarity_rate FROM coops WHERE actor_id = ?", (world["velo"],)
        ).fetchone()
    )
    assert Decimal(row[0]) == 0


def test_a_block_decision_waits_for_an_admin_to_apply_it(world: World) -> None:
    world.make_member("bob")
    block = propose(world, kind="block", title="Block spam.example", domain="spam.example")
    vote(world, block.id, "alice", "Yes")
    vote(world, block.id, "bob", "Yes")
    decision = close(world, block.id)
    (action,) = world.db.read_sync(
        lambda c: policy_actions.list_actions(c, world["velo"], state="pending")
    )
    assert action.decision_id == decision.id and (action.domain, action.policy) == (
        "spam.example",
        "block",
    )
    # nothing is blocked until an admin applies it; bob (a member) cannot
    assert world.db.read_sync(lambda c: domain_policies.get_policy(c, "spam.example")) is None
    with pytest.raises(Forbidden):
        world.do(lambda c: policy_actions.apply(c, action.id, world["bob"]))
    world.do(lambda c: policy_actions.apply(c, action.id, world["alice"]))
    applied = world.db.read_sync(lambda c: domain_policies.get_policy(c, "spam.example"))
    assert applied is not None and applied.policy == "block"


def test_a_remote_copy_keeps_the_published_tally_and_decision(world: World) -> None:
    from fedcoop.social.remote_actors import RemoteActorRecord, upsert_remote_actor

    record = RemoteActorRecord(
        uri="https://far.example/coops/rail",
        type="Group",
        username="rail",
        host="far.example",
        inbox="https://far.example/coops/rail/inbox",
    )
    rail = world.do(lambda c: upsert_remote_actor(c, record, keys_may_change=True))
    draft = remote_proposals.RemoteProposalDraft(
        uri="https://far.example/proposals/1",
        title="Night shifts?",
        body="",
        options=("Yes", "No"),
        ends_at="2030-01-01T00:00:00.000Z",
        kind="text",
    )
    copy = world.do(lambda c: remote_proposals.store_remote_proposal(c, rail.id, draft))
    assert copy.is_open and not copy.local
    closed = remote_proposals.RemoteProposalDraft(
        **{
            **draft.__dict__,
            "tally": {"Yes": 2, "No": 1},
            "voters_count": 3,
            "closed_at": "2030-01-01T00:00:00.000Z",
            "decision": {
                "outcome": "adopted",
                "winningOption": "Yes",
                "quorumMet": True,
                "thresholdMet": True,
            },
        },
    )
    world.do(lambda c: remote_proposals.store_remote_proposal(c, rail.id, closed))
    decision = world.db.read_sync(lambda c: decisions.get_decision(c, copy.id))
    assert decision is not None and (decision.outcome, decision.tally) == (
        "adopted",
        {"Yes": 2, "No": 1},
    )
    assert json.loads(
        world.db.read_sync(
            lambda c: c.execute("SELECT tally FROM proposals WHERE id = ?", (copy.id,)).fetchone()
        )[0]
    ) == {"Yes": 2, "No": 1}


def test_an_outcast_asking_again_is_refused_and_told_nothing(world: World) -> None:
    world.make_member("bob")
    world.do(
        lambda c: membership.set_role(
            c, world["velo"], world["bob"], "outcast", by_actor_id=world["alice"]
        )
    )
    accepted_before = len(world.events("membership.accepted"))
    world.set_admission("open")
    outcome = world.join("bob")
    assert outcome.decided == "refused" and outcome.membership.role == "outcast"
    assert len(world.events("membership.accepted")) == accepted_before
    assert not world.do(lambda c: membership.is_member(c, world["velo"], world["bob"]))
