"""The outbox's table: event kind -> renderer.

A renderer reads what it needs with the connection it is given (inside the outbox worker's
write transaction) and returns the activities to publish, each with its audience. The outbox
then stores each activity once and one delivery row per distinct inbox (shared inboxes
merged, this instance's own host skipped).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fedcoop.social.events import Event
from fedcoop.uris import Uris


@dataclass(frozen=True)
class Audience:
    """Who receives an activity: explicit actors, and/or the followers of local actors."""

    actor_uris: tuple[str, ...] = ()
    followers_of: tuple[str, ...] = ()  # local actor ids whose accepted followers receive it
    members_of: tuple[str, ...] = ()  # local coop actor ids whose active members receive it
    # Recipients whose actor document says they implement these FEPs get `activity`; the others
    # get `fallback` instead (dual rendering: a Proposal for fedcoop/Mitra, a Note for Mastodon).
    requires: tuple[str, ...] = ()


@dataclass(frozen=True)
class Outgoing:
    activity: dict[str, Any]
    audience: Audience
    public: bool = False  # listed in the actor's outbox collection
    fallback: dict[str, Any] | None = None


@dataclass(frozen=True)
class RenderContext:
    conn: sqlite3.Connection
    uris: Uris


Renderer = Callable[[RenderContext, Event], list[Outgoing]]


@dataclass
class RendererRegistry:
    renderers: dict[str, Renderer] = field(default_factory=dict)

    def renders(self, kind: str) -> Callable[[Renderer], Renderer]:
        def register(fn: Renderer) -> Renderer:
            if kind in self.renderers:
                raise ValueError(f"two renderers for {kind}")
            self.renderers[kind] = fn
            return fn

        return register


RENDERERS = RendererRegistry()
renders = RENDERERS.renders
