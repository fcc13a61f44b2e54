"""Coop services that need the network: pages and the API call these, never the domain directly.

- `resolve_actor`: a handle (`@name@host`, `name@host`) or an actor URL -> the actor, fetched
  and cached;
- `join_elsewhere`: a local person asks a coop on another instance (a Join leaves from here);
- `interaction_url`: where to send a visitor who gives their handle on a coop's join page: the
  remote-interaction template their server advertises in WebFinger (OStatus `subscribe`, which
  Mastodon and fedcoop serve), filled with the coop's id; None when it advertises none;
- `apply_policy_action`: an admin applies a members' federation decision; the running
  `Policy` reloads its rules at once.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any, Final
from urllib.parse import quote

import aiohttp

from fedcoop.accounts.actors import Actor, get_actor_by_uri, get_local_actor
from fedcoop.activitypub.hosts import HostError, normalise_host
from fedcoop.activitypub.vocab import JRD_MEDIA_TYPE
from fedcoop.errors import NotFound, ValidationError
from fedcoop.federation.context import FederationContext
from fedcoop.federation.http_client import FetchError
from fedcoop.federation.mentions import resolve_handle
from fedcoop.gigs import membership, policy_actions
from fedcoop.gigs.membership import Membership
from fedcoop.gigs.policy_actions import PolicyAction
from fedcoop.social.text import Handle

log = logging.getLogger(__name__)

SUBSCRIBE_REL: Final = "http://ostatus.org/schema/1.0/subscribe"
MAX_JRD_BYTES: Final = 64 * 1024
WEBFINGER_TIMEOUT: Final = 10.0
MAX_REF: Final = 500


def parse_handle(ref: str) -> Handle | None:
    """`@name@host` or `name@host` -> Handle; anything else None."""
    text = ref.strip().removeprefix("@")
    name, sep, host = text.partition("@")
    if not sep or not name or not host or "@" in host or "/" in host:
        return None
    return Handle(name, host)


async def resolve_actor(ctx: FederationContext, ref: str) -> Actor | None:
    """The actor a handle or an actor URL names (local ones included), or None."""
    ref = ref.strip()[:MAX_REF]
    if ref.startswith(("https://", "http://")):
        if ctx.uris.is_local(ref):
            return await ctx.db.read(lambda conn: get_actor_by_uri(conn, ref))
        try:
            return await ctx.fetcher.get_actor(ref)
        except FetchError as exc:
            log.info("actor %s could not be fetched: %s", ref, exc)
            return None
    handle = parse_handle(ref)
    if handle is None or handle.host is None:
        return None
    try:
        local = normalise_host(handle.host) == normalise_host(ctx.uris.domain)
    except HostError:
        return None
    if local:
        return await ctx.db.read(lambda conn: get_local_actor(conn, handle.username))
    return await resolve_handle(ctx, handle)


async def join_elsewhere(ctx: FederationContext, person_id: str, ref: str) -> Membership:
    """A local person asks a coop on another instance to admit them."""
    coop = await resolve_actor(ctx, ref)
    if coop is None or coop.type != "Group":
        raise ValidationError("No cooperative answers to that name.", field="coop")
    if coop.local:
        raise ValidationError(
            "That cooperative is on this instance: join it on its page.", field="coop"
        )
    return await ctx.db.write(lambda conn: membership.send_join(conn, ctx.uris, person_id, coop.id))


async def interaction_url(ctx: FederationContext, visitor: str, target_uri: str) -> str | None:
    """The visitor's own server's page for acting on `target_uri` (from WebFinger), or None."""
    handle = parse_handle(visitor)
    if handle is None or handle.host is None:
        raise ValidationError("Give your handle as name@your.instance.", field="handle")
    try:
        host = normalise_host(handle.host)
    except HostError:
        raise ValidationError("That is not an instance name.", field="handle") from None
    jrd = await _webfinger(ctx, handle.username, host)
    if jrd is None:
        return None
    for link in jrd.get("links", []) if isinstance(jrd.get("links"), list) else []:
        if isinstance(link, dict) and link.get("rel") == SUBSCRIBE_REL:
            template = link.get("template")
            if isinstance(template, str) and template.startswith(("https://", "http://")):
                return template.replace("{uri}", quote(target_uri, safe=""))
    return None


async def _webfinger(ctx: FederationContext, username: str, host: str) -> dict[str, Any] | None:
    scheme = "http" if ctx.uris.scheme == "http" else "https"
    url = (
        f"{scheme}://{host}/.well-known/webfinger?resource="
        f"{quote(f'acct:{username}@{host}', safe=':@')}"
    )
    try:
        target = await ctx.http.check_url(url)
        async with (
            asyncio.timeout(WEBFINGER_TIMEOUT),
            ctx.http.session.get(
                target.url,
                headers={"Accept": f"{JRD_MEDIA_TYPE}, application/json", "Host": target.host},
                allow_redirects=False,
            ) as resp,
        ):
            if resp.status != 200:
                return None
            body = await resp.content.read(MAX_JRD_BYTES + 1)
        if len(body) > MAX_JRD_BYTES:
            return None
        doc = json.loads(body)
    except (FetchError, aiohttp.ClientError, OSError, TimeoutError, ValueError) as exc:
        log.info("webfinger for %s@%s failed: %s", username, host, exc)
        return None
    return doc if isinstance(doc, dict) else None


async def apply_policy_action(
    ctx: FederationContext, action_id: str, by_actor_id: str
) -> PolicyAction:
    applied = await ctx.db.write(lambda conn: policy_actions.apply(conn, action_id, by_actor_id))
    ctx.policy.invalidate()
    return applied


async def require_local_coop(ctx: FederationContext, name: str) -> Actor:
    coop = await ctx.db.read(lambda conn: get_local_actor(conn, name))
    if coop is None or coop.type != "Group":
        raise NotFound("There is no such cooperative here.")
    return coop
