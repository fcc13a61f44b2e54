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
    from fedcoop.accounts.actors import Actor
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
Hook = Callable[["FederationContext", InboxItem, Any, "Actor"], Awaitable[str | None]]
HOOK_POINTS = frozenset(
    {
        "create-note",  # a verified Create(Note), before it is stored as a note
        "undo-reference",  # Undo{object: id} that is not a Follow or Block of the sender's
        "accept-reference",  # Accept{object: id}
        "reject-reference",  # Reject{object: id}
        "delete-reference",  # Delete{object: id or Tombstone}, before the note rules
    }
)


@dataclass
class Registry:
    routes: dict[tuple[str, str | None], Handler] = field(default_factory=dict)
    # Features that ride on a generic activity register hooks instead of a second route:
    # a gig application or a coop vote is a Create(Note) reply, a review is a Create(Note)
    # with a rating, an Undo or Accept may name an Offer instead of a Follow. See `hook`.
    hooks: dict[str, list[Hook]] = field(default_factory=dict)

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

    def hook(self, point: str) -> Callable[[Hook], Hook]:
        """Register a hook at one of HOOK_POINTS.

        A hook gets (ctx, item, obj, sender) — `obj` is the verified embedded object for
        "create-note", or the referenced id for the "*-reference" points — and returns an
        outcome string when it handled the activity (the generic handler then stops), or None
        to let the generic handling go on. Hooks run in registration order.
        """
        if point not in HOOK_POINTS:
            raise ValueError(f"unknown hook point {point!r}")

        def register(fn: Hook) -> Hook:
            self.hooks.setdefault(point, []).append(fn)
            return fn

        return register

    async def run_hooks(
        self, point: str, ctx: FederationContext, item: InboxItem, obj: Any, sender: Actor
    ) -> str | None:
        for fn in self.hooks.get(point, []):
            outcome = await fn(ctx, item, obj, sender)
            if outcome is not None:
                return outcome
        return None

    def find(self, activity_type: str, object_type: str | None) -> Handler | None:
        # An exact (type, object type) route wins; then a route for any object ("*").
        return self.routes.get((activity_type, object_type)) or self.routes.get(
            (activity_type, "*")
        )


REGISTRY = Registry()
handles = REGISTRY.handles
hook = REGISTRY.hook
