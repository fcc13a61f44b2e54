"""Marketplace input from HTML forms, JSON and form bodies -> domain values, with 422 errors
that name the field.

Bodies are first flattened into a plain dict (lists for multi-valued fields), so one parser
serves the post and edit pages, `POST /gigs` and the partial `PATCH /gigs/{id}`, whose absent
fields keep the gig's current values (`gig_fields`). A description is the member's own text:
plain text becomes escaped paragraphs with links; HTML goes through the allowlist sanitiser
that remote content goes through, so it is stored as safe HTML whichever way it came.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime, time
from decimal import Decimal
from typing import Any

from aiohttp import web
from multidict import MultiDictProxy

from fedcoop import clock
from fedcoop.errors import BadRequest, UnsupportedMediaType, ValidationError
from fedcoop.federation.sanitize import sanitize_html
from fedcoop.gigs import board, money
from fedcoop.gigs.offers import MAX_TITLE, PURPOSES, UNITS, VISIBILITIES, Gig, GigDraft
from fedcoop.social.text import render_text
from fedcoop.uris import Uris

Fields = dict[str, Any]

LIST_FIELDS = frozenset({"skills"})
# Unticked checkboxes are not sent at all, so on HTML forms absence means "no".
CHECKBOXES = ("remote", "unit_based")
FORMATS = ("text", "html")
MAX_DESCRIPTION_TEXT = 20_000
MAX_PLACE = 200
MAX_SKILLS = 10
MAX_COVER_NOTE = 5000
_TRUE = frozenset({"1", "true", "on", "yes"})
_FALSE = frozenset({"0", "false", "off", "no", ""})


# bodies ------------------------------------------------------------------------------------


def form_fields(form: MultiDictProxy[Any], *, checkboxes: tuple[str, ...] = ()) -> Fields:
    """A form body as a dict; `skills` (or Rails-style `skills[]`) collects every value."""
    out: Fields = {}
    for key in dict.fromkeys(form.keys()):
        name = key.removesuffix("[]")
        values = [v for v in form.getall(key) if isinstance(v, str)]
        if name in LIST_FIELDS:
            out[name] = [*out.get(name, []), *values]
        elif values:
            out[name] = values[-1]
    for name in checkboxes:
        out[name] = parse_bool(out.get(name, False), name)
    return out


async def read_fields(request: web.Request) -> Fields:
    """A JSON object, or a urlencoded or multipart form, as a dict; an empty body is {}."""
    if request.content_type == "application/json":
        raw = await request.read()
        if not raw.strip():
            return {}
        try:
            body = json.loads(raw)
        except ValueError:
            raise BadRequest("the body is not valid JSON") from None
        if not isinstance(body, dict):
            raise BadRequest("the body must be a JSON object")
        return body
    if request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return form_fields(await request.post())
    if request.content_length in (None, 0) and not request.can_read_body:
        return {}
    raise UnsupportedMediaType("send JSON or a form")


# values ------------------------------------------------------------------------------------


def parse_bool(value: object, name: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise ValidationError("must be true or false", field=name)


def text(fields: Mapping[str, Any], name: str, *, max_len: int, required: bool = False) -> str:
    value = fields.get(name)
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ValidationError("must be a string", field=name)
    if required and not value.strip():
        raise ValidationError("is required", field=name)
    if len(value) > max_len:
        raise ValidationError(f"at most {max_len} characters", field=name)
    return value


def _choice(fields: Mapping[str, Any], name: str, choices: tuple[str, ...], default: str) -> str:
    value = text(fields, name, max_len=40).strip() or default
    if value not in choices:
        raise ValidationError(f"must be one of {', '.join(choices)}", field=name)
    return value


def _decimal(
    fields: Mapping[str, Any], name: str, default: Decimal | None = None, *, zero: bool = False
) -> Decimal:
    value = fields.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if default is None:
            raise ValidationError("is required", field=name)
        return default
    return money.parse_decimal(value, field=name, allow_zero=zero)


def _float(fields: Mapping[str, Any], name: str) -> float | None:
    value = fields.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise ValidationError("must be a number", field=name)
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValidationError("must be a number", field=name) from None
    if number != number or number in (float("inf"), float("-inf")):
        raise ValidationError("must be a finite number", field=name)
    return number


def parse_time(value: object, name: str, *, end_of_day: bool = False) -> str | None:
    """An ISO 8601 date or date-time -> `2026-12-05T08:00:00Z`. A time without an offset
    (what `<input type="datetime-local">` sends) is read as UTC, which the pages say."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > 40:
        raise ValidationError("not an ISO 8601 date and time", field=name)
    try:
        if len(value.strip()) == 10:  # a bare date
            day = datetime.fromisoformat(value.strip()).date()
            moment = datetime.combine(day, time.max if end_of_day else time.min, UTC)
        else:
            moment = clock.parse_iso(value.strip())
    except ValueError:
        raise ValidationError("not an ISO 8601 date and time", field=name) from None
    return clock.iso_seconds(moment)


def _skills(fields: Mapping[str, Any], uris: Uris) -> tuple[str, ...]:
    value = fields.get("skills") or []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValidationError("must be a list of skill URIs", field="skills")
    chosen = [v.strip() for v in value if v.strip()]
    if len(chosen) > MAX_SKILLS:
        raise ValidationError(f"at most {MAX_SKILLS} skills", field="skills")
    # A bare slug names one of this instance's skills.
    return tuple(dict.fromkeys(v if "://" in v else uris.absolute(f"/skills/{v}") for v in chosen))


def description_html(fields: Mapping[str, Any]) -> str:
    source = text(fields, "description", max_len=MAX_DESCRIPTION_TEXT)
    fmt = _choice(fields, "description_format", FORMATS, "text")
    if fmt == "html":
        return sanitize_html(source)
    # Mentions are not resolved in gig text: nobody is notified by a gig description.
    return sanitize_html(render_text(source, lambda _handle: None))


def html_to_text(content: str) -> str:
    """Stored (sanitised) HTML back to the plain text the edit form shows: paragraphs as blank
    lines, line breaks as newlines, links as their address."""
    value = re.sub(r"</p>\s*<p>", "\n\n", content)
    value = re.sub(r"<br\s*/?>", "\n", value)
    value = re.sub(r'<a [^>]*href="([^"]*)"[^>]*>.*?</a>', r"\1", value, flags=re.S)
    value = re.sub(r"<[^>]+>", "", value)
    return html.unescape(value).strip()


# gigs --------------------------------------------------------------------------------------


def parse_gig(fields: Mapping[str, Any], uris: Uris) -> GigDraft:
    """A complete draft from `fields`; the domain's own checks name their field too."""
    remote = parse_bool(fields.get("remote", False), "remote")
    place_name = text(fields, "place_name", max_len=MAX_PLACE).strip() or None
    if not remote and place_name is None:
        raise ValidationError("give a place, or mark the gig as remote work", field="place_name")
    unit_quantity = _decimal(fields, "unit_quantity", Decimal("1"))
    return GigDraft(
        purpose=_choice(fields, "purpose", PURPOSES, "request"),
        title=text(fields, "title", max_len=MAX_TITLE, required=True).strip(),
        description=description_html(fields),
        unit=_choice(fields, "unit", UNITS, "hour"),
        price=_decimal(fields, "price", zero=True),
        currency=money.currency_code(text(fields, "currency", max_len=80) or "EUR"),
        available=_decimal(fields, "available"),
        minimum=_decimal(fields, "minimum", unit_quantity),
        unit_quantity=unit_quantity,
        unit_based=parse_bool(fields.get("unit_based", True), "unit_based"),
        visibility=_choice(fields, "visibility", VISIBILITIES, "public"),
        remote=remote,
        place_name=place_name,
        latitude=_float(fields, "latitude"),
        longitude=_float(fields, "longitude"),
        starts_at=parse_time(fields.get("starts_at"), "starts_at"),
        ends_at=parse_time(fields.get("ends_at"), "ends_at"),
        skills=_skills(fields, uris),
    )


def parse_coop_id(fields: Mapping[str, Any]) -> str | None:
    return text(fields, "coop_id", max_len=40).strip() or None


def gig_fields(gig: Gig) -> Fields:
    """A gig's current terms as input fields: the base a PATCH overlays."""
    return {
        "purpose": gig.purpose,
        "title": gig.title,
        "description": gig.description,
        "description_format": "html",
        "unit": gig.unit,
        "unit_quantity": money.to_text(gig.unit_quantity),
        "price": money.to_text(gig.price),
        "currency": gig.currency,
        "available": money.to_text(gig.available),
        "minimum": money.to_text(gig.minimum),
        "unit_based": gig.unit_based,
        "visibility": gig.visibility,
        "remote": gig.remote,
        "place_name": gig.place_name or "",
        "latitude": "" if gig.latitude is None else str(gig.latitude),
        "longitude": "" if gig.longitude is None else str(gig.longitude),
        "starts_at": gig.starts_at or "",
        "ends_at": gig.ends_at or "",
        "skills": list(gig.skills),
        "coop_id": gig.coop_id or "",
    }


def edit_form_fields(gig: Gig) -> Fields:
    """What the edit page shows: the description as plain text, times as the browser's
    `datetime-local` inputs want them."""
    fields = gig_fields(gig)
    fields["description"] = html_to_text(gig.description)
    fields["description_format"] = "text"
    for name in ("starts_at", "ends_at"):
        fields[name] = fields[name][:16]
    return fields


# applications ------------------------------------------------------------------------------


def parse_application(fields: Mapping[str, Any]) -> tuple[Decimal, str]:
    """(quantity, cover note) of an application."""
    quantity = _decimal(fields, "quantity")
    return quantity, text(fields, "cover_note", max_len=MAX_COVER_NOTE).strip()


# the board ---------------------------------------------------------------------------------


def parse_board_query(
    query: Mapping[str, Any], viewer_id: str | None, *, default_limit: int = 20
) -> board.BoardQuery:
    """Board filters from a query string; the parameter names are BoardQuery's own."""
    lat, lon = _float(query, "near_lat"), _float(query, "near_lon")
    if (lat is None) != (lon is None):
        raise ValidationError("give both near_lat and near_lon", field="near_lat")
    min_hourly = query.get("min_hourly") or None
    limit_text = text(query, "limit", max_len=6).strip()
    if limit_text and not limit_text.isdigit():
        raise ValidationError("must be a whole number", field="limit")
    purpose = text(query, "purpose", max_len=20).strip() or None
    try:
        return board.BoardQuery(
            words=text(query, "words", max_len=200),
            skill=text(query, "skill", max_len=500).strip() or None,
            city=text(query, "city", max_len=MAX_PLACE).strip() or None,
            near=(lat, lon) if lat is not None and lon is not None else None,
            within_km=_float(query, "within_km"),
            remote_only=parse_bool(query.get("remote_only", ""), "remote_only"),
            min_hourly=(
                money.parse_decimal(min_hourly, field="min_hourly", allow_zero=True)
                if min_hourly
                else None
            ),
            currency=(
                money.currency_code(str(query["currency"])) if query.get("currency") else None
            ),
            starts_after=parse_time(query.get("starts_after"), "starts_after"),
            ends_before=parse_time(query.get("ends_before"), "ends_before", end_of_day=True),
            coop_id=text(query, "coop_id", max_len=40).strip() or None,
            purpose=purpose,
            sort=text(query, "sort", max_len=20).strip() or "date",
            limit=int(limit_text) if limit_text else default_limit,
            before=text(query, "max_id", max_len=40).strip() or None,
            viewer_id=viewer_id,
        )
    except ValidationError as exc:
        if exc.field == "near":  # the query names the place by its two coordinates
            raise ValidationError(exc.safe_message, field="near_lat") from None
        raise
