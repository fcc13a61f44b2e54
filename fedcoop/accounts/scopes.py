"""OAuth scopes: which exist, how they are parsed, and whether a grant covers a requirement.

Mastodon's scopes form a tree written with colons: `read` covers `read:statuses`, and
`admin:read` covers `admin:read:accounts`. On top of the tree, the legacy `follow` scope covers
the follow, block and mute children of `read` and `write` (Mastodon keeps it for old clients),
and `profile` (Mastodon 4.3) is covered by anything that may read the account itself. fedcoop
adds `read:gigs` and `write:gigs` under the same rules. Pure functions; no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable

from fedcoop.errors import ValidationError

_READ_CHILDREN = (
    "accounts",
    "blocks",
    "bookmarks",
    "favourites",
    "filters",
    "follows",
    "gigs",
    "lists",
    "mutes",
    "notifications",
    "search",
    "statuses",
)
_WRITE_CHILDREN = (
    "accounts",
    "blocks",
    "bookmarks",
    "conversations",
    "favourites",
    "filters",
    "follows",
    "gigs",
    "lists",
    "media",
    "mutes",
    "notifications",
    "reports",
    "statuses",
)
_ADMIN_CHILDREN = (
    "accounts",
    "reports",
    "domain_allows",
    "domain_blocks",
    "ip_blocks",
    "email_domain_blocks",
    "canonical_email_blocks",
)

TOP_LEVEL = ("read", "write", "follow", "push", "profile", "admin")

ALL_SCOPES: frozenset[str] = frozenset(
    (
        *TOP_LEVEL,
        *(f"read:{c}" for c in _READ_CHILDREN),
        *(f"write:{c}" for c in _WRITE_CHILDREN),
        "admin:read",
        "admin:write",
        *(f"admin:read:{c}" for c in _ADMIN_CHILDREN),
        *(f"admin:write:{c}" for c in _ADMIN_CHILDREN),
    )
)

# Coverage that the colon tree does not express (Mastodon's doorkeeper_authorize! lists).
_ALSO_COVERS: dict[str, tuple[str, ...]] = {
    "follow": (
        "read:follows",
        "write:follows",
        "read:blocks",
        "write:blocks",
        "read:mutes",
        "write:mutes",
    ),
    # verify_credentials accepts `profile`, `read` or `read:accounts` alike.
    "read:accounts": ("profile",),
}

DEFAULT_SCOPES = ("read",)


def parse_scopes(
    value: str | Iterable[str] | None,
    *,
    default: tuple[str, ...] = DEFAULT_SCOPES,
    field: str = "scopes",
) -> tuple[str, ...]:
    """Scopes from a space-separated string (or a list of strings), in first-seen order
    without duplicates; `default` when nothing is given. An unknown scope is refused."""
    if value is None:
        words: list[str] = []
    elif isinstance(value, str):
        words = value.split()
    else:
        words = [w for item in value for w in str(item).split()]
    if not words:
        return default
    unknown = sorted({w for w in words if w not in ALL_SCOPES})
    if unknown:
        raise ValidationError(f"unknown scope: {', '.join(unknown)}", field=field)
    return tuple(dict.fromkeys(words))


def expand(granted: Iterable[str]) -> frozenset[str]:
    """Every scope that holding `granted` allows, children and implied scopes included."""
    covered: set[str] = set()
    todo = [s for s in granted if s in ALL_SCOPES]
    while todo:
        scope = todo.pop()
        if scope in covered:
            continue
        covered.add(scope)
        todo.extend(s for s in ALL_SCOPES if s.startswith(scope + ":"))
        todo.extend(_ALSO_COVERS.get(scope, ()))
    return frozenset(covered)


def allows(granted: Iterable[str], required: str) -> bool:
    """Whether a token holding `granted` may do what needs `required`."""
    return required in expand(granted)


def allows_all(granted: Iterable[str], required: Iterable[str]) -> bool:
    """Whether every scope of `required` is covered: a token may ask for less than its app
    holds (`read:statuses` of an app registered with `read`), never for more."""
    covered = expand(granted)
    return all(scope in covered for scope in required)


def format_scopes(scopes: Iterable[str]) -> str:
    return " ".join(scopes)
