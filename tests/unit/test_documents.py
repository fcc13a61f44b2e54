"""JSON-LD hygiene (PROTOCOL.md §3): forbidden keywords anywhere, single values or arrays."""

from __future__ import annotations

from typing import Any

import pytest

from fedcoop.activitypub.documents import (
    MAX_DEPTH,
    DocumentError,
    all_ids,
    as_list,
    check_document,
    first_href,
    first_id,
    object_type,
    types_of,
)

NOTE = {
    "@context": "https://www.w3.org/ns/activitystreams",
    "id": "https://peer.example/notes/1",
    "type": "Note",
    "attributedTo": "https://peer.example/users/ana",
    "tag": [{"type": "Mention", "href": "https://coop.example/users/bob"}],
}


def test_a_plain_document_passes_unchanged() -> None:
    assert check_document(dict(NOTE)) == NOTE


@pytest.mark.parametrize("keyword", ["@graph", "@included", "@reverse"])
def test_forbidden_keywords_are_refused_anywhere(keyword: str) -> None:
    top = dict(NOTE, **{keyword: []})
    nested_in_object = dict(NOTE, attributedTo={"id": "https://peer.example/a", keyword: {}})
    nested_in_list = dict(NOTE, tag=[{"type": "Mention"}, [{keyword: "x"}]])
    inside_context = dict(NOTE, **{"@context": [NOTE["@context"], {keyword: "y"}]})
    for doc in (top, nested_in_object, nested_in_list, inside_context):
        with pytest.raises(DocumentError) as info:
            check_document(doc)
        assert info.value.reason == "jsonld_keyword"


def test_keywords_as_values_are_fine() -> None:
    # Only keys carry meaning; a string that happens to read "@graph" is content.
    check_document(dict(NOTE, content="@graph @reverse"))


def test_non_objects_and_deep_nesting_are_refused() -> None:
    for doc in ([NOTE], "x", None, 3):
        with pytest.raises(DocumentError) as info:
            check_document(doc)
        assert info.value.reason == "not_object"
    deep: dict[str, Any] = {"id": "x"}
    for _ in range(MAX_DEPTH + 2):
        deep = {"object": deep}
    with pytest.raises(DocumentError) as info:
        check_document(deep)
    assert info.value.reason == "too_deep"


def test_single_values_and_arrays_are_read_alike() -> None:
    assert as_list(None) == []
    assert as_list("a") == ["a"]
    assert as_list(["a", "b"]) == ["a", "b"]
    assert as_list({"id": "a"}) == [{"id": "a"}]


def test_first_id_takes_strings_objects_and_lists() -> None:
    assert first_id("https://p.example/a") == "https://p.example/a"
    assert first_id({"id": "https://p.example/a", "type": "Person"}) == "https://p.example/a"
    assert first_id([{"type": "Link"}, {"id": "https://p.example/b"}]) == "https://p.example/b"
    assert first_id([]) is None
    assert first_id({"id": 3}) is None
    assert first_id(None) is None


def test_all_ids_keeps_order_and_skips_junk() -> None:
    value = ["https://a.example/1", {"id": "https://a.example/2"}, {"type": "x"}, 5]
    assert all_ids(value) == ["https://a.example/1", "https://a.example/2"]
    assert all_ids("https://a.example/1") == ["https://a.example/1"]


def test_object_type_of_objects_ids_and_type_arrays() -> None:
    assert object_type(NOTE) == "Note"
    assert object_type({"type": ["Offer", "vf:Intent"]}) == "Offer"
    assert types_of({"type": ["Offer", "vf:Intent"]}) == ["Offer", "vf:Intent"]
    assert object_type("https://p.example/notes/1") is None
    assert object_type({"id": "x"}) is None


def test_first_href_reads_links_and_strings() -> None:
    assert first_href("https://p.example/@ana") == "https://p.example/@ana"
    link = {"type": "Link", "href": "https://p.example/@ana", "mediaType": "text/html"}
    assert first_href([link]) == "https://p.example/@ana"
    assert first_href([{"type": "Link"}]) is None
