"""Form fields the way Rails reads them, so a form and a JSON body give the same mapping."""

from __future__ import annotations

import pytest
from multidict import MultiDict

from fedcoop.errors import ValidationError
from fedcoop.web.bodies import flag, indices, nest_fields, strings, whole_number


def test_brackets_make_lists_and_mappings_as_json_would() -> None:
    form = MultiDict(
        [
            ("status", "Vote?"),
            ("poll[options][]", "Yes"),
            ("poll[options][]", "No"),
            ("poll[expires_in]", "3600"),
            ("choices[]", "0"),
            ("source[privacy]", "unlisted"),
            ("scopes", "read"),
            ("scopes", "write"),
        ]
    )
    assert nest_fields(form) == {
        "status": "Vote?",
        "poll": {"options": ["Yes", "No"], "expires_in": "3600"},
        "choices": ["0"],
        "source": {"privacy": "unlisted"},
        "scopes": ["read", "write"],
    }


def test_a_single_bracketed_value_is_still_a_list() -> None:
    assert nest_fields(MultiDict([("id[]", "A")])) == {"id": ["A"]}
    assert nest_fields(MultiDict([("redirect_uris", "urn:x")])) == {"redirect_uris": "urn:x"}


@pytest.mark.parametrize(
    ("value", "expected"),
    [(True, True), ("1", True), ("true", True), ("on", True), ("0", False), ("false", False),
     (False, False), (None, False), (0, False)],
)  # fmt: skip
def test_flags_from_json_forms_and_mastodon_py(value: object, expected: bool) -> None:
    assert flag(value, field="f") is expected


def test_bad_values_name_their_field() -> None:
    with pytest.raises(ValidationError) as caught:
        flag("maybe", field="sensitive")
    assert caught.value.field == "sensitive"
    with pytest.raises(ValidationError):
        whole_number("-3", field="expires_in")
    with pytest.raises(ValidationError):
        indices(["x"], field="choices")


def test_numbers_lists_and_index_keyed_mappings() -> None:
    assert whole_number("600", field="n") == 600 and whole_number(600.0, field="n") == 600
    assert whole_number(None, field="n", default=7) == 7
    assert indices(["0", 2], field="c") == [0, 2] and indices("1", field="c") == [1]
    assert strings({"1": "b", "0": "a"}) == ["a", "b"] and strings("x") == ["x"]
