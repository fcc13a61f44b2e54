"""Discovery documents: WebFinger answers, host-meta, NodeInfo 2.0 and 2.1, actor documents."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from fedcoop import SOFTWARE_NAME, __version__
from fedcoop.accounts import accounts, coops
from fedcoop.accounts.actors import Actor, get_actor_by_uri, get_instance_actor, get_local_actor
from fedcoop.activitypub.webfinger import AcctResource, UrlResource, jrd, parse_resource
from fedcoop.config import Settings
from fedcoop.db import Database
from fedcoop.errors import BadRequest, NotFound
from fedcoop.federation.actor_to_as import actor_to_as
from fedcoop.federation.review_collections import reputation_extension, reviews_url
from fedcoop.social import notes
from fedcoop.uris import Uris

MASTODON_COMPAT_VERSION = "4.3.0"

# FEPs announced in NodeInfo metadata (also each actor's generator.implements).
FEPS = ["0837", "8b32", "1b12", "5219", "521a", "844e", "d556", "2c59", "67ff"]


@dataclass(frozen=True)
class Discovery:
    db: Database
    uris: Uris
    settings: Settings

    async def webfinger(self, resource: str) -> dict[str, Any]:
        try:
            parsed = parse_resource(resource)
        except ValueError as exc:
            raise BadRequest(f"malformed resource: {exc}") from None
        actor = await self.db.read(lambda conn: self._resolve(conn, parsed))
        if actor is None:
            raise NotFound("no such resource here")
        subject = f"acct:{actor.username}@{self.uris.domain}"
        aliases = [actor.uri] + ([actor.url] if actor.url and actor.url != actor.uri else [])
        doc = jrd(subject, actor.uri, actor.url if actor.type != "Application" else None, aliases)
        # Remote-interaction template (OStatus subscribe), as Mastodon advertises: other
        # servers send visitors here to follow, join or answer from their home instance.
        doc["links"].append(
            {
                "rel": "http://ostatus.org/schema/1.0/subscribe",
                "template": f"{self.uris.base}/authorize_interaction?uri={{uri}}",
            }
        )
        return doc

    def _resolve(
        self, conn: sqlite3.Connection, parsed: AcctResource | UrlResource
    ) -> Actor | None:
        if isinstance(parsed, AcctResource):
            if parsed.host != self.uris.domain.lower():
                return None
            actor = get_local_actor(conn, parsed.username)
            return actor
        url = parsed.url.rstrip("/")
        if url == self.uris.base:
            # FEP-d556: the server itself resolves to the instance actor.
            return get_instance_actor(conn)
        actor = get_actor_by_uri(conn, parsed.url)
        if actor is None and "/@" in parsed.url:
            base, _, name = parsed.url.partition("/@")
            if base == self.uris.base:
                actor = get_local_actor(conn, name)
        return actor if actor is not None and actor.local else None

    def host_meta(self) -> str:
        template = f"{self.uris.webfinger()}?resource={{uri}}"
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<XRD xmlns="http://docs.oasis-open.org/ns/xri/xrd-1.0">\n'
            f'  <Link rel="lrdd" template="{template}"/>\n'
            "</XRD>\n"
        )

    def nodeinfo_index(self) -> dict[str, Any]:
        return {
            "links": [
                {
                    "rel": "http://nodeinfo.diaspora.software/ns/schema/2.0",
                    "href": self.uris.nodeinfo("2.0"),
                },
                {
                    "rel": "http://nodeinfo.diaspora.software/ns/schema/2.1",
                    "href": self.uris.nodeinfo("2.1"),
                },
                {
                    "rel": "https://www.w3.org/ns/activitystreams#Application",
                    "href": self.uris.instance_actor(),
                },
            ]
        }

    async def nodeinfo(self, version: str) -> dict[str, Any]:
        if version not in ("2.0", "2.1"):
            raise NotFound("no such NodeInfo version")

        def gather(conn: sqlite3.Connection) -> tuple[int, int, int, int, list[str]]:
            users = accounts.count_accounts(conn)
            month = accounts.count_active_accounts(conn, days=30)
            half_year = accounts.count_active_accounts(conn, days=183)
            names = [c.title for c in coops.list_coops(conn)]
            return users, month, half_year, notes.count_local_notes(conn), names

        users, active_month, active_half, local_posts, coop_names = await self.db.read(gather)
        software: dict[str, Any] = {"name": SOFTWARE_NAME, "version": __version__}
        if version == "2.1":
            software["repository"] = "https://github.com/fedcoop/fedcoop"
            software["homepage"] = self.uris.base + "/"
        return {
            "version": version,
            "software": software,
            "protocols": ["activitypub"],
            "services": {"inbound": [], "outbound": []},
            "openRegistrations": self.settings.instance.open_registrations,
            "usage": {
                "users": {
                    "total": users,
                    "activeMonth": active_month,
                    "activeHalfyear": active_half,
                },
                "localPosts": local_posts,
            },
            "metadata": {
                "nodeName": self.settings.instance.name,
                "nodeDescription": self.settings.instance.description,
                "coops": coop_names,
                "feps": FEPS,
                # megalodon refuses unknown software unless it says it speaks the Mastodon API.
                "upstream": {"name": "mastodon", "version": MASTODON_COMPAT_VERSION},
            },
        }

    async def actor_document(self, kind: str | None, username: str) -> dict[str, Any]:
        """The AS2 document of a local Person or Group (`kind` None: either)."""

        def load(
            conn: sqlite3.Connection,
        ) -> tuple[Actor | None, list[Actor], dict[str, Any] | None]:
            actor = get_local_actor(conn, username)
            if actor is None or actor.type == "Application" or kind not in (None, actor.type):
                return None, [], None
            admins = coops.coop_staff(conn, actor.id) if actor.type == "Group" else []
            return actor, admins, reputation_extension(conn, actor)

        actor, admins, reputation = await self.db.read(load)
        if actor is None:
            raise NotFound("no such actor")
        return actor_to_as(
            actor, self.uris, admins=admins, reputation=reputation, reviews=reviews_url(actor)
        )

    async def actor_document_any(self, username: str) -> dict[str, Any]:
        return await self.actor_document(None, username)

    async def instance_actor_document(self) -> dict[str, Any]:
        actor = await self.db.read(get_instance_actor)
        if actor is None:
            raise NotFound("no instance actor")
        return actor_to_as(actor, self.uris)
