"""The declared lifecycles of gigs, applications and agreements."""

from __future__ import annotations

from fedcoop.db.jobs import StateGraph


class GigStates(StateGraph):
    name = "gig"
    initial = "open"
    transitions = {
        # filled -> open: an agreement was cancelled and capacity came back.
        "open": frozenset({"filled", "closed", "withdrawn", "expired"}),
        "filled": frozenset({"open", "closed", "withdrawn", "expired"}),
        "closed": frozenset({"open", "withdrawn"}),
        "withdrawn": frozenset(),
        "expired": frozenset(),
    }


class ApplicationStates(StateGraph):
    name = "application"
    initial = "pending"
    transitions = {
        "pending": frozenset({"accepted", "rejected", "withdrawn"}),
        "accepted": frozenset(),
        "rejected": frozenset(),
        "withdrawn": frozenset(),
    }


class AgreementStates(StateGraph):
    name = "agreement"
    initial = "active"
    transitions = {
        "active": frozenset({"delivered", "cancelled", "disputed"}),
        "delivered": frozenset({"completed", "disputed"}),
        "disputed": frozenset({"active", "delivered", "completed", "cancelled"}),
        "completed": frozenset(),
        "cancelled": frozenset(),
    }


# Wire names of agreement statuses (Update(Agreement) preview Note; Mitra reads "Paid").
AGREEMENT_STATUS_NAMES = {
    "active": "InProgress",
    "delivered": "Delivered",
    "completed": "Completed",
    "cancelled": "Cancelled",
    "disputed": "Disputed",
}
