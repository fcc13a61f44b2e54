"""The marketplace service that the HTML pages and the JSON API both call (DESIGN.md walk (c)).

Each operation is one `db.write` or `db.read`: the domain writes its rows, notifications and
events in that transaction, and the outbox federates the events (an application to a remote
gig leaves as an `Offer` from the worker's own instance). Callers pass the acting member's
actor id; permission rules live in the domain, and visibility in `marketplace_views`.

Accepting is the one operation whose refusal is also a change: when the gig has no capacity
left the domain rejects the application (and a `Reject` goes out), so that transaction commits
and only then is the caller answered 409.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from fedcoop import clock
from fedcoop.accounts import coops
from fedcoop.accounts.accounts import Account
from fedcoop.accounts.actors import local_private_keys
from fedcoop.db import Database
from fedcoop.errors import Conflict, Forbidden, NotFound, ValidationError
from fedcoop.federation.agreement_to_as import agreement_to_as, signed_agreement
from fedcoop.federation.gig_to_as import gig_to_note, gig_to_proposal
from fedcoop.federation.marketplace_views import (
    AgreementView,
    ApplicationView,
    GigPage,
    GigView,
    NotificationView,
    agreement_view,
    application_view,
    gig_page,
    gig_view,
    member_coop_ids,
    notification_view,
    visible_gig,
)
from fedcoop.gigs import agreements, applications, board, listings, notices, offers, skills
from fedcoop.gigs.board import BoardQuery
from fedcoop.gigs.offers import GigDraft
from fedcoop.social import notifications
from fedcoop.social.paging import Page
from fedcoop.uris import Uris

GIG_STATES = ("open", "closed", "withdrawn")
AGREEMENT_STATUSES = ("cancelled", "disputed")
MAX_REASON = 500


@dataclass(frozen=True)
class BoardPage:
    gigs: list[GigView]
    next_max_id: str | None  # None: no further page (or a sort that has no cursor)


@dataclass(frozen=True)
class Marketplace:
    db: Database
    uris: Uris

    # skills --------------------------------------------------------------------------------

    def _skills_ready(self, conn: sqlite3.Connection) -> None:
        """The shipped skill list exists before anything relies on it (idempotent)."""
        if not skills.list_skills(conn, local_only=True):
            skills.ensure_shipped(conn, self.uris)

    async def skill_list(self) -> list[skills.Skill]:
        found = await self.db.read(skills.list_skills)
        if not any(s.local for s in found):
            await self.db.write(self._skills_ready)
            found = await self.db.read(skills.list_skills)
        return found

    async def add_skill(self, account: Account, slug: str, label: str) -> skills.Skill:
        if not account.is_admin:
            raise Forbidden("only an admin can add skills")
        return await self.db.write(lambda conn: skills.add_skill(conn, self.uris, slug, label))

    def _check_skills(self, conn: sqlite3.Connection, chosen: tuple[str, ...]) -> None:
        self._skills_ready(conn)
        known = {s.uri for s in skills.list_skills(conn)}
        unknown = [s for s in chosen if s not in known]
        if unknown:
            raise ValidationError(f"unknown skill {unknown[0]}", field="skills")

    # gigs ----------------------------------------------------------------------------------

    async def member_coops(self, actor_id: str) -> list[tuple[coops.Coop, str]]:
        """(coop, role) pairs: the coops a member may post a gig for."""
        return await self.db.read(lambda conn: coops.memberships_of(conn, actor_id))

    async def coop_list(self) -> list[coops.Coop]:
        """This instance's coops, for the board's coop filter."""
        return await self.db.read(coops.list_coops)

    async def post_gig(self, actor_id: str, coop_id: str | None, draft: GigDraft) -> GigView:
        def work(conn: sqlite3.Connection) -> GigView:
            if coop_id is not None and coop_id not in member_coop_ids(conn, actor_id):
                raise ValidationError("you can post only for a coop you belong to", field="coop_id")
            self._check_skills(conn, draft.skills)
            gig = offers.create_gig(
                conn, self.uris, poster_id=actor_id, coop_id=coop_id, draft=draft
            )
            return gig_view(conn, gig)

        return await self.db.write(work)

    async def edit_gig(self, actor_id: str, gig_id: str, draft: GigDraft) -> GigView:
        def work(conn: sqlite3.Connection) -> GigView:
            visible_gig(conn, gig_id, actor_id)
            self._check_skills(conn, draft.skills)
            return gig_view(conn, offers.update_gig(conn, gig_id, actor_id, draft))

        return await self.db.write(work)

    async def set_gig_state(self, actor_id: str, gig_id: str, state: str) -> GigView:
        """Close, reopen or withdraw a gig (its poster only)."""
        if state not in GIG_STATES:
            raise ValidationError(f"must be one of {', '.join(GIG_STATES)}", field="state")

        def work(conn: sqlite3.Connection) -> GigView:
            visible_gig(conn, gig_id, actor_id)
            return gig_view(conn, offers.set_state(conn, gig_id, actor_id, state))

        return await self.db.write(work)

    async def gig(self, gig_id: str, viewer_id: str | None) -> GigView:
        return await self.db.read(lambda conn: gig_view(conn, visible_gig(conn, gig_id, viewer_id)))

    async def gig_page(self, gig_id: str, viewer_id: str | None) -> GigPage:
        return await self.db.read(
            lambda conn: gig_page(conn, visible_gig(conn, gig_id, viewer_id), viewer_id)
        )

    async def gig_document(self, gig_id: str, viewer_id: str | None, *, note: bool) -> Any:
        """The Proposal (or its companion Note) of a local gig, for ActivityPub clients; a
        remote gig's document is its origin's to serve."""

        def load(conn: sqlite3.Connection) -> Any:
            view = gig_view(conn, visible_gig(conn, gig_id, viewer_id))
            if not view.gig.local:
                raise NotFound("This gig lives on another instance.")
            render = gig_to_note if note else gig_to_proposal
            return render(view.gig, view.poster, view.coop, view.skills, self.uris.base)

        return await self.db.read(load)

    async def board(self, query: BoardQuery) -> BoardPage:
        def load(conn: sqlite3.Connection) -> BoardPage:
            found = board.search(conn, query)
            views = [gig_view(conn, g) for g in found]
            more = query.sort == "date" and len(found) == query.limit
            return BoardPage(views, found[-1].id if more and found else None)

        return await self.db.read(load)

    async def gigs_posted(self, actor_id: str) -> list[GigView]:
        return await self.db.read(
            lambda conn: [gig_view(conn, g) for g in offers.gigs_by_poster(conn, actor_id)]
        )

    # applications --------------------------------------------------------------------------

    async def apply(
        self, actor_id: str, gig_id: str, quantity: Decimal, cover_note: str
    ) -> ApplicationView:
        def work(conn: sqlite3.Connection) -> ApplicationView:
            gig = visible_gig(conn, gig_id, actor_id)
            application = applications.apply(
                conn,
                self.uris,
                gig_id=gig.id,
                worker_id=actor_id,
                quantity=quantity,
                cover_note=cover_note,
            )
            return application_view(conn, application)

        return await self.db.write(work)

    def _application_for(
        self, conn: sqlite3.Connection, application_id: str, actor_id: str
    ) -> applications.Application:
        """The application, if `actor_id` is its worker or the gig's poster; else 404."""
        application = applications.get_application(conn, application_id)
        gig = offers.get_gig(conn, application.gig_id) if application else None
        if (
            application is None
            or gig is None
            or actor_id
            not in (
                application.worker_id,
                gig.poster_id,
            )
        ):
            raise NotFound("There is no such application here.")
        return application

    async def application(self, actor_id: str, application_id: str) -> ApplicationView:
        return await self.db.read(
            lambda conn: application_view(
                conn, self._application_for(conn, application_id, actor_id)
            )
        )

    async def withdraw_application(self, actor_id: str, application_id: str) -> ApplicationView:
        def work(conn: sqlite3.Connection) -> ApplicationView:
            self._application_for(conn, application_id, actor_id)
            return application_view(conn, applications.withdraw(conn, application_id, actor_id))

        return await self.db.write(work)

    async def reject_application(
        self, actor_id: str, application_id: str, reason: str = ""
    ) -> ApplicationView:
        if len(reason) > MAX_REASON:
            raise ValidationError(f"at most {MAX_REASON} characters", field="reason")

        def work(conn: sqlite3.Connection) -> ApplicationView:
            self._application_for(conn, application_id, actor_id)
            done = applications.reject(conn, application_id, actor_id, reason.strip())
            return application_view(conn, done)

        return await self.db.write(work)

    async def accept_application(self, actor_id: str, application_id: str) -> AgreementView:
        """Accept; 409 (after the rejection is committed) when no capacity is left."""

        def work(conn: sqlite3.Connection) -> AgreementView | None:
            self._application_for(conn, application_id, actor_id)
            outcome = agreements.accept(conn, self.uris, application_id, actor_id)
            return agreement_view(conn, outcome.agreement) if outcome.agreement else None

        accepted = await self.db.write(work)
        if accepted is None:
            raise Conflict(
                "No capacity is left on this gig: the application was rejected.", field="quantity"
            )
        return accepted

    async def applications_sent(
        self, actor_id: str, *, before: str | None = None, limit: int = 20
    ) -> list[ApplicationView]:
        return await self.db.read(
            lambda conn: [
                application_view(conn, a)
                for a in listings.applications_by_worker(conn, actor_id, before=before, limit=limit)
            ]
        )

    async def applications_received(
        self, actor_id: str, *, before: str | None = None, limit: int = 20
    ) -> list[ApplicationView]:
        return await self.db.read(
            lambda conn: [
                application_view(conn, a)
                for a in listings.applications_received(conn, actor_id, before=before, limit=limit)
            ]
        )

    async def applications_for_gig(self, actor_id: str, gig_id: str) -> list[ApplicationView]:
        def load(conn: sqlite3.Connection) -> list[ApplicationView]:
            gig = visible_gig(conn, gig_id, actor_id)
            if gig.poster_id != actor_id:
                raise Forbidden("only the gig's poster sees its applications")
            return [
                application_view(conn, a) for a in applications.applications_for_gig(conn, gig.id)
            ]

        return await self.db.read(load)

    # agreements ----------------------------------------------------------------------------

    def _agreement_for(
        self, conn: sqlite3.Connection, agreement_id: str, actor_id: str | None
    ) -> agreements.Agreement:
        """The agreement, if `actor_id` is a party; 404 for anyone else (amounts are private)."""
        agreement = agreements.get_agreement(conn, agreement_id)
        if agreement is None or actor_id not in (agreement.poster_id, agreement.worker_id):
            raise NotFound("There is no such agreement here.")
        return agreement

    async def agreement(self, actor_id: str, agreement_id: str) -> AgreementView:
        return await self.db.read(
            lambda conn: agreement_view(conn, self._agreement_for(conn, agreement_id, actor_id))
        )

    async def agreement_document(self, agreement_id: str, viewer_id: str | None) -> Any:
        """A local agreement as AS2, signed by its poster (FEP-8b32), for a party only."""

        def load(conn: sqlite3.Connection) -> Any:
            view = agreement_view(conn, self._agreement_for(conn, agreement_id, viewer_id))
            if not view.agreement.local:
                raise NotFound("This agreement is held by another instance.")
            doc = agreement_to_as(view.agreement, view.agreement.gig_uri, view.poster, view.worker)
            _, ed25519_pem = local_private_keys(conn, view.poster.id)
            return signed_agreement(doc, view.poster, ed25519_pem, clock.now())

        return await self.db.read(load)

    async def agreements(
        self, actor_id: str, *, before: str | None = None, limit: int = 20
    ) -> list[AgreementView]:
        return await self.db.read(
            lambda conn: [
                agreement_view(conn, a)
                for a in listings.agreements_of(conn, actor_id, before=before, limit=limit)
            ]
        )

    async def record_completion(self, actor_id: str, agreement_id: str) -> AgreementView:
        def work(conn: sqlite3.Connection) -> AgreementView:
            self._agreement_for(conn, agreement_id, actor_id)
            done = agreements.record_completion(conn, self.uris, agreement_id, actor_id)
            return agreement_view(conn, done)

        return await self.db.write(work)

    async def record_payment(self, actor_id: str, agreement_id: str) -> AgreementView:
        def work(conn: sqlite3.Connection) -> AgreementView:
            self._agreement_for(conn, agreement_id, actor_id)
            done = agreements.record_payment(conn, self.uris, agreement_id, actor_id)
            return agreement_view(conn, done)

        return await self.db.write(work)

    async def set_agreement_status(
        self, actor_id: str, agreement_id: str, status: str
    ) -> AgreementView:
        """Cancel or dispute (either party)."""
        if status not in AGREEMENT_STATUSES:
            raise ValidationError(f"must be one of {', '.join(AGREEMENT_STATUSES)}", field="status")

        def work(conn: sqlite3.Connection) -> AgreementView:
            self._agreement_for(conn, agreement_id, actor_id)
            done = agreements.change_status(conn, agreement_id, actor_id, status)
            return agreement_view(conn, done)

        return await self.db.write(work)

    # notifications -------------------------------------------------------------------------

    async def notifications(
        self, account: Account, page: Page, *, marketplace_only: bool = False
    ) -> list[NotificationView]:
        kinds = notices.KINDS if marketplace_only else None

        def load(conn: sqlite3.Connection) -> list[NotificationView]:
            found = notifications.list_notifications(conn, account.id, page, kinds=kinds)
            return [notification_view(conn, n) for n in found]

        return await self.db.read(load)

    async def mark_notifications_read(self, account: Account) -> int:
        return await self.db.write(lambda conn: notifications.mark_read(conn, account.id))
