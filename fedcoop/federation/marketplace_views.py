"""What a marketplace page or JSON answer shows, loaded inside the service's one read or write:
gigs with their poster, coop and skill labels; applications and agreements with their parties;
notifications with a local link. Also who may see a gig (its visibility), in one place.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from fedcoop.accounts import coops
from fedcoop.accounts.actors import Actor, get_actor
from fedcoop.errors import NotFound
from fedcoop.gigs import agreements, applications, listings, offers, skills
from fedcoop.gigs.agreements import Agreement
from fedcoop.gigs.applications import Application
from fedcoop.gigs.offers import Gig
from fedcoop.social import follows
from fedcoop.social.notifications import Notification


@dataclass(frozen=True)
class GigView:
    gig: Gig
    poster: Actor
    coop: Actor | None
    skills: dict[str, str]  # skill URI -> label, in the gig's order


@dataclass(frozen=True)
class ApplicationView:
    application: Application
    gig: Gig
    worker: Actor
    agreement_id: str | None  # the local agreement, once accepted


@dataclass(frozen=True)
class AgreementView:
    agreement: Agreement
    poster: Actor
    worker: Actor
    gig: Gig | None  # None when the gig was withdrawn since

    def role_of(self, actor_id: str) -> str | None:
        if actor_id == self.agreement.worker_id:
            return "worker"
        if actor_id == self.agreement.poster_id:
            return "poster"
        return None


@dataclass(frozen=True)
class NotificationView:
    notification: Notification
    sender: Actor | None
    link: str | None  # a path on this site, or None


@dataclass(frozen=True)
class GigPage:
    """The gig page: the gig, what the viewer applied for, and for its poster the applicants."""

    view: GigView
    mine: list[ApplicationView]
    received: list[ApplicationView]


def _actor(conn: sqlite3.Connection, actor_id: str) -> Actor:
    actor = get_actor(conn, actor_id)
    if actor is None:  # foreign keys make this unreachable; say so rather than crash
        raise NotFound("that actor is gone")
    return actor


def can_see(conn: sqlite3.Connection, gig: Gig, viewer_id: str | None) -> bool:
    """The board's visibility rule for one gig: public to all, followers-only to followers
    of the poster or the coop, members-only to the coop's members; always to the poster."""
    if gig.deleted_at:
        return False
    if gig.visibility == "public" or viewer_id == gig.poster_id:
        return True
    if viewer_id is None:
        return False
    if gig.visibility == "followers":
        return any(
            follows.is_following(conn, viewer_id, followee)
            for followee in (gig.poster_id, gig.coop_id)
            if followee
        )
    return gig.coop_id is not None and gig.coop_id in member_coop_ids(conn, viewer_id)


def member_coop_ids(conn: sqlite3.Connection, actor_id: str) -> set[str]:
    return {coop.actor.id for coop, _role in coops.memberships_of(conn, actor_id)}


def visible_gig(conn: sqlite3.Connection, gig_id: str, viewer_id: str | None) -> Gig:
    """The gig, or 404 for one that does not exist, was withdrawn, or is not for this viewer
    (the same answer, so a members-only gig's existence is not revealed)."""
    gig = offers.get_gig(conn, gig_id)
    if gig is None or not can_see(conn, gig, viewer_id):
        raise NotFound("There is no such gig here.")
    return gig


def gig_view(conn: sqlite3.Connection, gig: Gig) -> GigView:
    coop = get_actor(conn, gig.coop_id) if gig.coop_id else None
    return GigView(gig, _actor(conn, gig.poster_id), coop, skills.labels_for(conn, gig.skills))


def application_view(conn: sqlite3.Connection, application: Application) -> ApplicationView:
    gig = offers.get_gig(conn, application.gig_id)
    if gig is None:
        raise NotFound("no such gig")
    agreement_id = None
    if application.state == "accepted":
        agreement_id = listings.agreement_id_for_application(conn, application.id)
    return ApplicationView(application, gig, _actor(conn, application.worker_id), agreement_id)


def agreement_view(conn: sqlite3.Connection, agreement: Agreement) -> AgreementView:
    gig = offers.get_gig(conn, agreement.gig_id) if agreement.gig_id else None
    return AgreementView(
        agreement, _actor(conn, agreement.poster_id), _actor(conn, agreement.worker_id), gig
    )


def gig_page(conn: sqlite3.Connection, gig: Gig, viewer_id: str | None) -> GigPage:
    mine: list[ApplicationView] = []
    received: list[ApplicationView] = []
    if viewer_id is not None:
        for application in applications.applications_for_gig(conn, gig.id):
            if viewer_id == gig.poster_id:
                received.append(application_view(conn, application))
            elif application.worker_id == viewer_id:
                mine.append(application_view(conn, application))
    return GigPage(gig_view(conn, gig), mine, received)


def notification_link(conn: sqlite3.Connection, notification: Notification) -> str | None:
    """Where a notification leads on this site: the agreement or the gig it is about."""
    payload = notification.payload
    if notification.kind.startswith("agreement_") or notification.kind == "application_accepted":
        agreement_id = payload.get("agreement_id")
        if not isinstance(agreement_id, str) and notification.subject_uri:
            found = agreements.get_agreement_by_uri(conn, notification.subject_uri)
            agreement_id = found.id if found else None
        if isinstance(agreement_id, str):
            return f"/agreements/{agreement_id}"
    if notification.kind == "application":
        return "/me/applications/received"
    gig_id = payload.get("gig_id")
    if isinstance(gig_id, str):
        return f"/gigs/{gig_id}"
    if notification.note_id:
        return f"/notes/{notification.note_id}"
    return None


def notification_view(conn: sqlite3.Connection, notification: Notification) -> NotificationView:
    sender = get_actor(conn, notification.from_actor_id) if notification.from_actor_id else None
    return NotificationView(notification, sender, notification_link(conn, notification))
