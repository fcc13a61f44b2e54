"""Inbound Update and Delete of actors (Person, Group, Application, Service, Organization)."""

from __future__ import annotations

from fedcoop.federation.actor_updates import apply_actor_delete, apply_actor_update
from fedcoop.federation.context import FederationContext
from fedcoop.federation.handlers.follow import ACTOR_TYPES
from fedcoop.federation.handlers.registry import InboxItem, handles


@handles("Update", *ACTOR_TYPES)
async def handle_update_actor(ctx: FederationContext, item: InboxItem) -> str:
    return await apply_actor_update(ctx, item)


@handles("Delete", *ACTOR_TYPES)
async def handle_delete_actor(ctx: FederationContext, item: InboxItem) -> str:
    return await apply_actor_delete(ctx, item)
