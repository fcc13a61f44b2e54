"""Moving a local account (FEP-7628), the services pages and the API call.

To move IN, the new (local) account first lists the old one in `alsoKnownAs`; to move OUT, the
old (local) account names its new home, which must already list it: the new account is fetched
fresh to check, as every server receiving the Move will.
"""

from __future__ import annotations

from collections.abc import Sequence

from fedcoop.accounts.actors import Actor
from fedcoop.errors import ValidationError
from fedcoop.federation.context import FederationContext
from fedcoop.federation.http_client import FetchError
from fedcoop.gigs import moves


async def set_aliases(ctx: FederationContext, actor_id: str, aliases: Sequence[str]) -> Actor:
    """Set a local account's `alsoKnownAs`; each alias must be an actor that can be fetched."""
    for uri in aliases:
        if ctx.uris.is_local(uri.strip()):
            continue
        try:
            await ctx.fetcher.get_actor(uri.strip())
        except FetchError as exc:
            raise ValidationError(
                f"{uri[:200]} is not an account that can be reached ({exc.reason})",
                field="also_known_as",
            ) from None
    return await ctx.db.write(lambda conn: moves.set_aliases(conn, actor_id, aliases))


async def move_out(ctx: FederationContext, actor_id: str, target_uri: str) -> Actor:
    """A local account moves to `target_uri`; its followers (and the target) get a Move."""
    try:
        target = await ctx.fetcher.get_actor(target_uri.strip(), refresh=True)
    except FetchError as exc:
        raise ValidationError(
            f"the new account cannot be reached ({exc.reason})", field="target"
        ) from None
    return await ctx.db.write(lambda conn: moves.move_out(conn, ctx.uris, actor_id, target.id))
