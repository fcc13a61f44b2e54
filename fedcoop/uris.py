"""Every local URL is built here and nowhere else.

URL layout (see docs/decisions/0003-url-layout.md): people live at `/users/NAME`, coops at
`/coops/NAME` (one namespace for both, so WebFinger needs no type), the instance actor at
`/actor`, and every object at `/<plural>/<id>`. Browsers get HTML at the same URLs by content
negotiation; `/@NAME` is the human-friendly profile address used as the actors' `url`.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, urlsplit

PERSON_PREFIX = "/users/"
GROUP_PREFIX = "/coops/"
INSTANCE_ACTOR_PATH = "/actor"


@dataclass(frozen=True)
class Uris:
    """The URL builder of one instance: `scheme://domain` plus the fixed layout."""

    scheme: str
    domain: str  # host, with a port when it is not the default one

    @property
    def base(self) -> str:
        return f"{self.scheme}://{self.domain}"

    def absolute(self, path: str) -> str:
        return self.base + path

    def is_local(self, uri: str) -> bool:
        parts = urlsplit(uri)
        return parts.scheme == self.scheme and parts.netloc.lower() == self.domain.lower()

    # actors
    def person(self, username: str) -> str:
        return self.absolute(PERSON_PREFIX + quote(username))

    def group(self, name: str) -> str:
        return self.absolute(GROUP_PREFIX + quote(name))

    def actor(self, kind: str, username: str) -> str:
        if kind == "Group":
            return self.group(username)
        if kind == "Application":
            return self.instance_actor()
        return self.person(username)

    def instance_actor(self) -> str:
        return self.absolute(INSTANCE_ACTOR_PATH)

    def profile(self, username: str) -> str:
        return self.absolute("/@" + quote(username))

    def inbox(self, actor_uri: str) -> str:
        return actor_uri + "/inbox"

    def outbox(self, actor_uri: str) -> str:
        return actor_uri + "/outbox"

    def followers(self, actor_uri: str) -> str:
        return actor_uri + "/followers"

    def following(self, actor_uri: str) -> str:
        return actor_uri + "/following"

    def affiliations(self, group_uri: str) -> str:
        return group_uri + "/affiliations"

    def shared_inbox(self) -> str:
        return self.absolute("/inbox")

    @staticmethod
    def rsa_key_id(actor_uri: str) -> str:
        return actor_uri + "#main-key"

    @staticmethod
    def ed25519_key_id(actor_uri: str) -> str:
        return actor_uri + "#ed25519-key"

    # objects
    def object(self, kind: str, object_id: str) -> str:
        """`kind` is the plural path segment: notes, gigs, activities, agreements, …"""
        return self.absolute(f"/{kind}/{object_id}")

    # discovery
    def webfinger(self) -> str:
        return self.absolute("/.well-known/webfinger")

    def nodeinfo(self, version: str) -> str:
        return self.absolute(f"/nodeinfo/{version}")

    # pages
    def page(self, path: str) -> str:
        return self.absolute(path)
