"""Reading remote JSON-LD as compacted AS2 with a fixed vocabulary (PROTOCOL.md §3).

fedcoop never expands JSON-LD and never fetches a context, so the keywords that would change
what a compacted document means when expanded (`@graph`, `@included`, `@reverse`) are refused
wherever they appear, rather than silently read in a way other servers would not. The helpers
accept a single value wherever an array is expected and vice versa, as peers send both.
"""

from __future__ import annotations

from typing import Any, Final

FORBIDDEN_KEYWORDS: Final = frozenset({"@graph", "@included", "@reverse"})
# Deeper than any real activity; bounds the walk (and a hostile document's nesting).
MAX_DEPTH: Final = 64


class DocumentError(ValueError):
    """A document fedcoop will not read; `reason` is a short stable code."""

    def __init__(self, reason: str, detail: str = "") -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}" if detail else reason)


def check_document(doc: Any) -> dict[str, Any]:
    """Return `doc` when it is a JSON object free of the refused JSON-LD keywords.

    Raises `DocumentError` with reason `not_object`, `jsonld_keyword` or `too_deep`.
    """
    if not isinstance(doc, dict):
        raise DocumentError("not_object", "a document must be a JSON object")
    _walk(doc)
    return doc


def _walk(root: dict[str, Any]) -> None:
    # Iterative, visiting containers only: this runs on every inbox POST.
    stack: list[tuple[Any, int]] = [(root, 0)]
    while stack:
        value, level = stack.pop()
        if level > MAX_DEPTH:
            raise DocumentError("too_deep", f"nested deeper than {MAX_DEPTH}")
        if isinstance(value, dict):
            if not FORBIDDEN_KEYWORDS.isdisjoint(value):
                found = sorted(FORBIDDEN_KEYWORDS.intersection(value))[0]
                raise DocumentError("jsonld_keyword", f"{found} is not accepted")
            items = value.values()
        else:
            items = value
        for item in items:
            if isinstance(item, dict | list):
                stack.append((item, level + 1))


def as_list(value: Any) -> list[Any]:
    """None -> [], a list as is, anything else -> [value]."""
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]


def id_of(value: Any) -> str | None:
    """The id of one value: a string id itself, or an object's string `id`."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        inner = value.get("id")
        return inner if isinstance(inner, str) else None
    return None


def first_id(value: Any) -> str | None:
    """The first id in a value that may be a string, an object with `id`, or a list of those."""
    for item in as_list(value):
        found = id_of(item)
        if found is not None:
            return found
    return None


def all_ids(value: Any) -> list[str]:
    """Every id in a single value or a list (`to`, `cc`, `alsoKnownAs`), in order."""
    return [found for item in as_list(value) if (found := id_of(item)) is not None]


def types_of(value: Any) -> list[str]:
    """The `type` strings of an object (a single string or an array of them)."""
    if not isinstance(value, dict):
        return []
    return [t for t in as_list(value.get("type")) if isinstance(t, str)]


def object_type(value: Any) -> str | None:
    """The first `type` of an embedded object, or None for a bare id or a typeless value."""
    found = types_of(value)
    return found[0] if found else None


def first_str(value: Any) -> str | None:
    """The first plain string in a single value or a list (`name`, `summary` variants)."""
    for item in as_list(value):
        if isinstance(item, str):
            return item
    return None


def first_href(value: Any) -> str | None:
    """A URL from a string, a Link object (`href`), or a list of those (`url`, `icon.url`)."""
    for item in as_list(value):
        if isinstance(item, str):
            return item
        if isinstance(item, dict):
            href = item.get("href")
            if isinstance(href, str):
                return href
    return None
