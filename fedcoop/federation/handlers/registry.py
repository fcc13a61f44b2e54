"""The routing table of the inbox worker: (activity type, object type) -> handler.

`object_type` is the type of the embedded object, or None when the object is a bare URI (a
Follow of an actor, an Undo of an activity id). A handler returns the outcome recorded on
the inbox item ("applied", or "ignored: <why>"); it raises `Reject` for an activity that
breaks a rule (recorded as failed, never retried) and any other exception to be retried.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fedcoop.federation.context import FederationContext


@dataclass(frozen=True)
class InboxItem:
    id: str
    activity_uri: str
    activity_type: str
    object_type: str | None
    actor_uri: str
    signer_uri: str
    recipient: str | None
    activity: dict[str, Any]
    attempts: int


class Reject(Exception):
    """The activity breaks a rule: record it as failed with this reason, do not retry."""


Handler = Callable[["FederationContext", InboxItem], Awaitable[str]]


@dataclass
class Registry:
    routes: dict[tuple[str, str | None], Handler] = field(default_factory=dict)

    def handles(
        self, activity_type: str, *object_types: str | None
    ) -> Callable[[Handler], Handler]:
        def register(fn: Handler) -> Handler:
            for object_type in object_types or (None,):
                key = (activity_type, object_type)
                if key in self.routes:
                    raise ValueError(f"two handlers for {key}")
                self.routes[key] = fn
            return fn

        return register

    def find(self, activity_type: str, object_type: str | None) -> Handler | None:
        # An exact (type, object type) route wins; then a route for any object ("*").
        return self.routes.get((activity_type, object_type)) or self.routes.get(
            (activity_type, "*")
        )


REGISTRY = Registry()
handles = REGISTRY.handles
