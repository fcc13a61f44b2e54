"""The pure intake checks: media type, size, activity shape and origin rules (PROTOCOL.md §3)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from fedcoop.federation.intake_rules import (
    IntakeRefused,
    check_attribution,
    check_content_type,
    check_origin,
    check_size,
    key_host,
    parse_activity,
)

OURS = "coop.test"
BOB = "https://remote.example/users/bob"


def activity(**fields: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": "https://remote.example/activities/1",
        "type": "Create",
        "actor": BOB,
        "object": {
            "id": "https://remote.example/notes/1",
            "type": "Note",
            "attributedTo": BOB,
            "content": "hi",
        },
    }
    doc.update(fields)
    return doc


def parse(doc: Any) -> Any:
    return parse_activity(json.dumps(doc).encode())


def refusal(fn: Any, *args: Any) -> tuple[int, str]:
    with pytest.raises(IntakeRefused) as caught:
        fn(*args)
    return caught.value.status, caught.value.reason


# media type and size -------------------------------------------------------------------------
@pytest.mark.parametrize(
    "value",
    [
        "application/activity+json",
        "Application/Activity+JSON; charset=utf-8",
        'application/ld+json; profile="https://www.w3.org/ns/activitystreams"',
        'application/ld+json; profile="https://example.com/other"',
        "application/json",
    ],
)
def test_as2_and_json_media_types_are_accepted(value: str) -> None:
    check_content_type(value)


@pytest.mark.parametrize(
    "value", [None, "", "text/plain", "application/xml", "multipart/form-data"]
)
def test_other_media_types_are_415(value: str | None) -> None:
    assert refusal(check_content_type, value) == (415, "unsupported_media_type")


def test_size_limit_is_inclusive() -> None:
    check_size(1024, 1024)
    check_size(None, 1024)
    assert refusal(check_size, 1025, 1024) == (413, "too_large")


# shape -----------------------------------------------------------------------------------------
def test_parse_reads_ids_types_and_the_embedded_object() -> None:
    parsed = parse(activity())
    assert (parsed.type, parsed.actor, parsed.actor_host) == ("Create", BOB, "remote.example")
    assert (parsed.object_id, parsed.object_type) == ("https://remote.example/notes/1", "Note")
    assert parsed.embedded_object is not None


def test_parse_accepts_single_values_in_arrays_and_objects_for_ids() -> None:
    # given an actor given as an object, a type and an object as one-item arrays
    doc = activity(type=["Create"], actor={"id": BOB, "type": "Person"})
    doc["object"] = [doc["object"]]
    parsed = parse(doc)
    assert (parsed.type, parsed.actor, parsed.object_type) == ("Create", BOB, "Note")


def test_bare_object_id_has_no_object_type() -> None:
    parsed = parse(activity(type="Follow", object="https://coop.test/users/alice"))
    assert (parsed.object_id, parsed.object_type, parsed.embedded_object) == (
        "https://coop.test/users/alice",
        None,
        None,
    )


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "malformed_json"),
        (b"{", "malformed_json"),
        (b"[" * 100_000, "malformed_json"),
        (b"42", "not_object"),
        (b"[]", "not_object"),
    ],
)
def test_malformed_bodies_are_400(body: bytes, reason: str) -> None:
    assert refusal(parse_activity, body) == (400, reason)


@pytest.mark.parametrize(
    ("drop", "reason"), [("type", "missing_type"), ("id", "missing_id"), ("actor", "missing_actor")]
)
def test_required_fields(drop: str, reason: str) -> None:
    doc = activity()
    del doc[drop]
    assert refusal(parse, doc) == (400, reason)


@pytest.mark.parametrize("bad", [{"id": 3}, {"id": ""}, {"actor": 7}, {"type": 5}])
def test_fields_of_the_wrong_kind_are_400(bad: dict[str, Any]) -> None:
    assert refusal(parse, activity(**bad))[0] == 400


@pytest.mark.parametrize("keyword", ["@graph", "@included", "@reverse"])
def test_jsonld_keywords_are_refused_at_any_depth(keyword: str) -> None:
    doc = activity()
    doc["object"]["tag"] = [{"type": "Mention", keyword: {}}]
    assert refusal(parse, doc) == (400, "jsonld_keyword")


@pytest.mark.parametrize(
    "actor", ["https://evil.com@remote.example/u", "ftp://remote.example/u", "https://a b/u"]
)
def test_actor_that_is_not_an_http_url_with_a_clean_host_is_400(actor: str) -> None:
    assert refusal(parse, activity(actor=actor)) == (400, "bad_uri")


# origin ----------------------------------------------------------------------------------------
def test_same_origin_activity_passes() -> None:
    check_origin(parse(activity()), OURS)


def test_host_comparison_is_normalised() -> None:
    # given the activity id spells the actor's host differently (case, default port, dot)
    doc = activity(id="https://REMOTE.example.:443/activities/1")
    check_origin(parse(doc), OURS)


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"id": "https://other.example/activities/1"}, (400, "origin_mismatch")),
        ({"id": "https://remote.example:8443/activities/1"}, (400, "origin_mismatch")),
        ({"id": f"https://{OURS}/activities/1"}, (403, "local_id_claimed")),
        ({"actor": f"https://{OURS}/users/alice"}, (403, "local_id_claimed")),
    ],
)
def test_activity_origin_rules(fields: dict[str, Any], expected: tuple[int, str]) -> None:
    assert refusal(check_origin, parse(activity(**fields)), OURS) == expected


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        ({"id": "https://other.example/notes/1", "attributedTo": BOB}, "object_origin_mismatch"),
        ({"attributedTo": "https://remote.example/users/carol"}, "attribution_mismatch"),
        ({"attributedTo": [BOB, "https://remote.example/users/carol"]}, "attribution_mismatch"),
        ({"id": None}, "object_without_id"),
    ],
)
def test_created_object_rules(obj: dict[str, Any], expected: str) -> None:
    doc = activity()
    doc["object"] = {k: v for k, v in (doc["object"] | obj).items() if v is not None}
    assert refusal(check_origin, parse(doc), OURS) == (400, expected)


def test_created_object_on_our_host_is_403() -> None:
    doc = activity()
    doc["object"]["id"] = f"https://{OURS}/notes/1"
    assert refusal(check_origin, parse(doc), OURS) == (403, "local_id_claimed")


def test_attribution_may_be_an_object_or_a_one_item_array() -> None:
    check_attribution({"type": "Note", "attributedTo": {"id": BOB, "type": "Person"}}, BOB)
    check_attribution({"type": "Note", "attributedTo": [BOB]}, BOB)
    check_attribution({"type": "Note"}, BOB)


def test_an_actor_may_update_only_itself() -> None:
    check_origin(parse(activity(type="Update", object={"id": BOB, "type": "Person"})), OURS)
    other = {"id": "https://remote.example/users/carol", "type": "Person"}
    assert refusal(check_origin, parse(activity(type="Update", object=other)), OURS) == (
        400,
        "attribution_mismatch",
    )


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        ("https://remote.example/notes/1", None),
        (BOB, None),
        ("https://other.example/notes/1", (400, "object_origin_mismatch")),
        (f"https://{OURS}/notes/1", (403, "local_id_claimed")),
    ],
)
def test_delete_acts_only_on_the_senders_own_objects(
    obj: str, expected: tuple[int, str] | None
) -> None:
    parsed = parse(activity(type="Delete", object=obj))
    if expected is None:
        check_origin(parsed, OURS)
    else:
        assert refusal(check_origin, parsed, OURS) == expected


def test_activities_on_others_objects_pass_the_origin_check() -> None:
    # a Like, Announce or Follow names objects elsewhere, including ours
    for kind, obj in (
        ("Like", f"https://{OURS}/notes/1"),
        ("Announce", "https://other.example/notes/9"),
        ("Follow", f"https://{OURS}/users/alice"),
    ):
        check_origin(parse(activity(type=kind, object=obj)), OURS)


def test_key_host() -> None:
    assert key_host("https://Remote.Example/users/bob#main-key") == "remote.example"
    assert refusal(key_host, "acct:bob@remote.example") == (401, "bad_key_id")
