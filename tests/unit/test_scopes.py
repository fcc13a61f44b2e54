"""OAuth scopes: parsing, the colon tree, Mastodon's `follow` and `profile` rules."""

from __future__ import annotations

import pytest

from fedcoop.accounts.scopes import ALL_SCOPES, allows, allows_all, expand, parse_scopes
from fedcoop.errors import ValidationError


def test_parse_splits_on_whitespace_keeps_order_and_drops_duplicates() -> None:
    assert parse_scopes("read  write\nfollow read") == ("read", "write", "follow")
    assert parse_scopes(["read write", "push"]) == ("read", "write", "push")


def test_parse_defaults_to_read_when_nothing_is_given() -> None:
    assert parse_scopes(None) == ("read",)
    assert parse_scopes("  ") == ("read",)
    assert parse_scopes("", default=("write",)) == ("write",)


def test_parse_refuses_unknown_scopes_naming_the_field() -> None:
    with pytest.raises(ValidationError) as caught:
        parse_scopes("read rule:everything", field="scope")
    assert caught.value.field == "scope"
    assert "rule:everything" in caught.value.safe_message


@pytest.mark.parametrize(
    ("granted", "required"),
    [
        (["read"], "read:statuses"),
        (["read:statuses"], "read:statuses"),
        (["write"], "write:media"),
        (["read"], "read:gigs"),
        (["write"], "write:gigs"),
        (["follow"], "read:follows"),
        (["follow"], "write:blocks"),
        (["follow"], "write:mutes"),
        (["admin"], "admin:read:accounts"),
        (["admin:write"], "admin:write:reports"),
        (["read"], "profile"),
        (["read:accounts"], "profile"),
    ],
)
def test_a_broader_scope_covers_its_children(granted: list[str], required: str) -> None:
    assert allows(granted, required)


@pytest.mark.parametrize(
    ("granted", "required"),
    [
        (["read:statuses"], "read"),
        (["read"], "write:statuses"),
        (["write"], "read:statuses"),
        (["read:statuses"], "read:accounts"),
        (["follow"], "read:statuses"),
        (["follow"], "write:statuses"),
        (["read"], "admin:read"),
        (["admin:read"], "admin:write:accounts"),
        (["profile"], "read:accounts"),
        ([], "read"),
        (["bogus"], "read"),
    ],
)
def test_nothing_covers_more_than_it_says(granted: list[str], required: str) -> None:
    assert not allows(granted, required)


def test_allows_all_needs_every_requirement() -> None:
    assert allows_all(["read", "write"], ["read:statuses", "write:statuses"])
    assert not allows_all(["read"], ["read:statuses", "write:statuses"])
    assert allows_all(["read"], [])


def test_expand_stays_within_known_scopes() -> None:
    everything = expand(["read", "write", "follow", "push", "admin", "profile"])
    assert everything == ALL_SCOPES
    assert "read:gigs" in ALL_SCOPES and "write:gigs" in ALL_SCOPES
