"""`@user@host` in a local author's text -> the remote actor it names, then the note is written.

A handle already cached is used as it is; otherwise WebFinger on the handle's host gives the
actor's id (`rel=self` with an ActivityPub type), and the fetcher fetches and caches the actor
document (whose own origin vouches for it). `@user` alone, and `@user@our-host`, are local and
resolved by the domain without any network. A handle that does not resolve stays plain text.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence
from typing import Any, Final
from urllib.parse import quote

import aiohttp

from fedcoop.accounts.actors import Actor
from fedcoop.activitypub.hosts import HostError, normalise_host
from fedcoop.activitypub.vocab import AS2_MEDIA_TYPES, JRD_MEDIA_TYPE
from fedcoop.federation.context import FederationContext
from fedcoop.federation.http_client import FetchError
from fedcoop.social import notes
from fedcoop.social.text import Handle, parse_mentions

log = logging.getLogger(__name__)

MAX_MENTIONS: Final = 20
MAX_JRD_BYTES: Final = 64 * 1024
WEBFINGER_TIMEOUT: Final = 10.0


async def webfinger_actor_uri(ctx: FederationContext, username: str, host: str) -> str | None:
    """The ActivityPub id WebFinger gives for `acct:username@host`, or None.

    Goes through the federation client's checks (scheme, policy, address) and its session,
    whose resolver refuses private addresses; redirects are not followed, as Mastodon does not.
    """
    url = (
        f"{ctx.uris.scheme if ctx.uris.scheme == 'http' else 'https'}://{host}"
        f"/.well-known/webfinger?resource={quote(f'acct:{username}@{host}', safe=':@')}"
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
        jrd = json.loads(body)
    except (FetchError, aiohttp.ClientError, OSError, TimeoutError, ValueError) as exc:
        log.info("webfinger for %s@%s failed: %s", username, host, exc)
        return None
    return _self_link(jrd)


def _self_link(jrd: Any) -> str | None:
    if not isinstance(jrd, dict) or not isinstance(jrd.get("links"), list):
        return None
    for link in jrd["links"]:
        if not isinstance(link, dict) or link.get("rel") != "self":
            continue
        media = str(link.get("type", "")).split(";")[0].strip().lower()
        href = link.get("href")
        if media in AS2_MEDIA_TYPES and isinstance(href, str):
            return href
    return None


async def resolve_handle(ctx: FederationContext, handle: Handle) -> Actor | None:
    """The actor a `@user@host` handle names (cached, else WebFinger and fetch), or None."""
    if handle.host is None:
        return None
    try:
        host = normalise_host(handle.host)
    except HostError:
        return None
    if host == normalise_host(ctx.uris.domain):
        return None  # local: the domain resolves it
    cached = await ctx.db.read(lambda conn: notes.actor_by_handle(conn, handle.username, host))
    if cached is not None:
        return cached
    actor_uri = await webfinger_actor_uri(ctx, handle.username, host)
    if actor_uri is None:
        return None
    try:
        return await ctx.fetcher.get_actor(actor_uri)
    except FetchError as exc:
        log.info("mentioned actor %s could not be fetched: %s", actor_uri, exc)
        return None


async def resolve_mentions(ctx: FederationContext, text: str) -> list[Actor]:
    """The remote actors `text` mentions (at most MAX_MENTIONS are looked up)."""
    handles = [h for h in parse_mentions(text) if h.host is not None][:MAX_MENTIONS]
    found = await asyncio.gather(*(resolve_handle(ctx, h) for h in handles))
    return list({a.id: a for a in found if a is not None}.values())


async def post_note(
    ctx: FederationContext, author_id: str, text: str, **options: Any
) -> notes.Note:
    """Resolve the text's remote mentions, then post (options as `social.notes.post_note`)."""
    remote: Sequence[Actor] = await resolve_mentions(ctx, text)
    return await ctx.db.write(
        lambda conn: notes.post_note(
            conn, ctx.uris, author_id, text, remote_mentions=remote, **options
        )
    )


async def edit_note(
    ctx: FederationContext, note_id: str, author_id: str, text: str, **options: Any
) -> notes.Note:
    """Resolve the new text's remote mentions, then edit (as `social.notes.edit_note`)."""
    remote: Sequence[Actor] = await resolve_mentions(ctx, text)
    return await ctx.db.write(
        lambda conn: notes.edit_note(
            conn, ctx.uris, note_id, author_id, text, remote_mentions=remote, **options
        )
    )
