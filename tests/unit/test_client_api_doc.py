"""docs/CLIENT_API.md lists every client API endpoint fedcoop serves, and only those, and the
Mastodon type of every notification kind (DESIGN.md habit 11)."""

from __future__ import annotations

import re
from pathlib import Path

from fedcoop.federation.client_views import ALL_KINDS, mastodon_type
from fedcoop.web import oauth, wellknown
from fedcoop.web.mastodon import ROUTE_TABLES

DOC = Path(__file__).resolve().parents[2] / "docs" / "CLIENT_API.md"
_ENDPOINT = re.compile(r"^\| `(GET|POST|PUT|PATCH|DELETE) (/[^`]*)` \|", re.MULTILINE)


def served() -> set[str]:
    """`METHOD /path` of every route, written as in the doc (`:id`, no trailing slash)."""
    out = set()
    for table in (*ROUTE_TABLES, oauth.routes, wellknown.routes):
        for route in table:
            path = re.sub(r"\{(\w+)\}", r":\1", route.path)  # type: ignore[attr-defined]
            out.add(f"{route.method} {path.rstrip('/') or '/'}")  # type: ignore[attr-defined]
    return out


def documented() -> set[str]:
    return {f"{method} {path}" for method, path in _ENDPOINT.findall(DOC.read_text())}


def test_every_client_endpoint_is_documented() -> None:
    mine = {e for e in served() if not e.endswith(("/webfinger", "/host-meta", ":version"))}
    missing = sorted(mine - documented())
    assert not missing, f"add to {DOC.name}: {missing}"


def test_every_documented_endpoint_is_served() -> None:
    nodeinfo = {"GET /nodeinfo/2.0", "GET /nodeinfo/2.1"}  # served as /nodeinfo/{version}
    extra = sorted(documented() - served() - nodeinfo)
    assert not extra, f"documented but not served: {extra}"


def test_every_notification_kind_has_its_mastodon_type_in_the_doc() -> None:
    rows = dict(re.findall(r"^\| `(\w+)` \| `([\w.]+)` \|", DOC.read_text(), re.MULTILINE))
    for kind in ALL_KINDS:
        assert rows.get(kind) == mastodon_type(kind), kind
