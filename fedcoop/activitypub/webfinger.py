"""WebFinger (RFC 7033) resources and JRD documents, pure."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from fedcoop.activitypub.vocab import AP_MEDIA_TYPE


class ResourceError(ValueError):
    """The `resource` parameter is not a well-formed acct: URI or http(s) URL."""


@dataclass(frozen=True)
class AcctResource:
    username: str
    host: str


@dataclass(frozen=True)
class UrlResource:
    url: str


def parse_resource(resource: str) -> AcctResource | UrlResource:
    """`acct:name@host` (a leading `@` tolerated, as some clients send) or an actor URL."""
    resource = resource.strip()
    if not resource:
        raise ResourceError("empty resource")
    if resource.lower().startswith("acct:"):
        body = resource[5:].lstrip("@")
        if body.count("@") != 1:
            raise ResourceError("an acct: resource is name@host")
        username, host = body.split("@")
        if not username or not host or any(c in host for c in "/ ?#\\"):
            raise ResourceError("an acct: resource is name@host")
        return AcctResource(username=username, host=host.lower().rstrip("."))
    parts = urlsplit(resource)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ResourceError("resource must be acct:name@host or an http(s) URL")
    return UrlResource(url=resource)


def jrd(
    subject: str, actor_uri: str, profile_url: str | None, aliases: list[str]
) -> dict[str, Any]:
    links: list[dict[str, Any]] = [
        {"rel": "self", "type": AP_MEDIA_TYPE, "href": actor_uri},
    ]
    if profile_url:
        links.append(
            {
                "rel": "http://webfinger.net/rel/profile-page",
                "type": "text/html",
                "href": profile_url,
            }
        )
    return {"subject": subject, "aliases": aliases, "links": links}
