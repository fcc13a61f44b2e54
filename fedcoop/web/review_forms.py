"""Review input from HTML forms and JSON -> domain values, with 422 errors naming the field.

A form sends `rating`, `text` and one `criteria.NAME` field per criterion (an empty one is
"not rated"); JSON sends `{"rating": 4, "text": "…", "criteria": {"quality": 5}}`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fedcoop.errors import ValidationError
from fedcoop.gigs.reviews import MAX_TEXT, ReviewDraft

MAX_URI = 2048
MAX_ALIASES_FIELD = 100_000


def _int(value: Any, name: str) -> int:
    if isinstance(value, bool):
        raise ValidationError("must be a whole number from 1 to 5", field=name)
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit() and len(value.strip()) < 3:
        return int(value.strip())
    raise ValidationError("must be a whole number from 1 to 5", field=name)


def _text(fields: Mapping[str, Any], name: str, max_len: int) -> str:
    value = fields.get(name) or ""
    if not isinstance(value, str):
        raise ValidationError("must be a string", field=name)
    if len(value) > max_len:
        raise ValidationError(f"at most {max_len} characters", field=name)
    return value


def review_draft(fields: Mapping[str, Any]) -> ReviewDraft:
    if fields.get("rating") in (None, ""):
        raise ValidationError("is required", field="rating")
    criteria: dict[str, int] = {}
    given = fields.get("criteria")
    if isinstance(given, dict):
        pairs = list(given.items())
    elif given is None:
        pairs = [(k[len("criteria.") :], v) for k, v in fields.items() if k.startswith("criteria.")]
    else:
        raise ValidationError("must be an object of ratings", field="criteria")
    for name, value in pairs:
        if value in (None, ""):
            continue  # not rated
        criteria[str(name)] = _int(value, f"criteria.{name}")
    return ReviewDraft(
        rating=_int(fields.get("rating"), "rating"),
        text=_text(fields, "text", MAX_TEXT),
        criteria=criteria,
    )


def reply_text(fields: Mapping[str, Any]) -> str:
    return _text(fields, "text", MAX_TEXT)


def report_reason(fields: Mapping[str, Any]) -> str:
    return _text(fields, "reason", 2000)


def uri_list(fields: Mapping[str, Any], name: str) -> list[str]:
    """A list of URLs: a JSON array, or one per line in a form's text area."""
    value = fields.get(name)
    if value is None:
        return []
    if isinstance(value, str):
        if len(value) > MAX_ALIASES_FIELD:
            raise ValidationError("too long", field=name)
        items: list[Any] = value.split()
    elif isinstance(value, list):
        items = value
    else:
        raise ValidationError("must be a list of URLs", field=name)
    out = []
    for item in items:
        if not isinstance(item, str) or len(item) > MAX_URI:
            raise ValidationError("must be a list of URLs", field=name)
        out.append(item.strip())
    return [u for u in out if u]


def one_uri(fields: Mapping[str, Any], name: str) -> str:
    value = _text(fields, name, MAX_URI).strip()
    if not value:
        raise ValidationError("is required", field=name)
    return value
