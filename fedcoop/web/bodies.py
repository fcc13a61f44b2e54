"""Request bodies and query strings as Mastodon clients send them: forms or JSON, alike.

Mastodon.py sends forms (JSON when a poll is attached), toot, masto.js and megalodon send JSON
(CLIENTS.md quirk 7). A form is read the way Rails reads it, so both shapes give the same
mapping: `name[]` and repeated fields become lists, `poll[options][]` and `source[privacy]`
become nested mappings. Booleans arrive as `true`, `"true"`, `"1"` or Mastodon.py's `"0"`,
and the coercion helpers accept all of them. Unknown fields are kept and ignored by callers
(Mastodon.py sends a stray `oauth_info` to the token endpoint).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from aiohttp import web
from multidict import MultiMapping

from fedcoop.errors import BadRequest, ValidationError

MAX_FIELDS = 200
_KEY_RE = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_TRUE = frozenset({"1", "true", "yes", "on", "t"})
_FALSE = frozenset({"0", "false", "no", "off", "f", ""})


async def read_body(request: web.Request) -> dict[str, Any]:
    """A form or JSON body as one mapping (an empty body is an empty mapping)."""
    if request.content_type == "application/json":
        if not request.can_read_body:
            return {}
        try:
            body = await request.json()
        except ValueError:
            raise BadRequest("The body is not valid JSON.") from None
        if body is None:
            return {}
        if not isinstance(body, dict):
            raise BadRequest("The JSON body must be an object.")
        return body
    form = await request.post()
    return nest_fields(form)


def nest_fields(fields: MultiMapping[Any]) -> dict[str, Any]:
    """Flat form fields -> nested values: `a[]` lists, `a[b]` mappings, `a[b][]` both."""
    out: dict[str, Any] = {}
    for count, key in enumerate(dict.fromkeys(fields.keys())):
        if count >= MAX_FIELDS:
            raise BadRequest("Too many fields.")
        values = [v for v in fields.getall(key) if isinstance(v, str)]
        if not values:
            continue
        match = _KEY_RE.match(key)
        if match is None:
            out.setdefault(key, values if len(values) > 1 else values[0])
            continue
        path = [match.group(1), *re.findall(r"\[([^\[\]]*)\]", match.group(2))]
        _place(out, path, values)
    return out


def _place(out: dict[str, Any], path: list[str], values: list[str]) -> None:
    target = out
    *parents, last = path
    if last == "":  # `name[]`: a list under the parent
        *parents, last = parents or [""]
        value: Any = values
    else:
        value = values if len(values) > 1 else values[0]
    for part in parents:
        nested = target.get(part)
        if not isinstance(nested, dict):
            nested = {}
            target[part] = nested
        target = nested
    if last:
        target.setdefault(last, value)


def query_list(request: web.Request, name: str) -> list[str]:
    """A repeated query parameter, sent as `name=…` (Mastodon.py) or `name[]=…` (masto.js,
    megalodon, toot; CLIENTS.md quirk 6), in the order given."""
    found = [*request.query.getall(name, []), *request.query.getall(name + "[]", [])]
    return list(dict.fromkeys(v for v in found if v))


def text(value: Any) -> str | None:
    """A field meant as a string (numbers are accepted, as JSON clients send them)."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def words(value: Any) -> str | list[str] | None:
    """A field that may come as one string or a list of strings (redirect_uris, scopes)."""
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return text(value)


def strings(value: Any) -> list[str]:
    """A list of strings from a list (or a single value, or an index-keyed mapping)."""
    if isinstance(value, Mapping):
        value = [value[k] for k in sorted(value, key=lambda k: (len(str(k)), str(k)))]
    if not isinstance(value, list):
        value = [] if value is None else [value]
    return [s for s in (text(v) for v in value) if s is not None]


def flag(value: Any, *, field: str, default: bool = False) -> bool:
    """A boolean as JSON (`true`), a form (`"1"`, `"true"`, `"on"`) or Mastodon.py (`"0"`)."""
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
    raise ValidationError("must be true or false", field=field)


def whole_number(value: Any, *, field: str, default: int | None = None) -> int | None:
    """A non-negative whole number given as a JSON number or a string of digits."""
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        raise ValidationError("must be a whole number", field=field)
    if isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and value.strip().isdigit():
        number = int(value.strip())
    else:
        raise ValidationError("must be a whole number", field=field)
    if number < 0:
        raise ValidationError("must not be negative", field=field)
    return number


def indices(value: Any, *, field: str) -> list[int]:
    """Choice indices (`choices[]=0`, `{"choices": [0, 2]}`), each a whole number."""
    found: Iterable[Any] = value if isinstance(value, list) else [value]
    out = []
    for item in found:
        number = whole_number(item, field=field)
        if number is None:
            raise ValidationError("give the index of a choice", field=field)
        out.append(number)
    return out
