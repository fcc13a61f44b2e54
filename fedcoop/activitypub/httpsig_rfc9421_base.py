"""RFC 9421 section 2: component values and the signature base, for requests and responses.

Behind a reverse proxy the request line and Host fedcoop sees are not what the sender signed, so
the derived components (`@target-uri`, `@authority`, `@scheme`, `@path`, `@query`, ...) all come
from the `target_uri` the caller rebuilds from its configured public scheme and host.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Final
from urllib.parse import parse_qsl, quote, urlsplit

from http_sfv.dictionary import Dictionary
from http_sfv.item import InnerList, Item
from http_sfv.list import List
from http_sfv.types import Token

from fedcoop.activitypub.httpsig_common import FieldLines
from fedcoop.activitypub.httpsig_errors import SignatureError

_DEFAULT_PORTS: Final = {"http": 80, "https": 443}
_KNOWN_PARAMS: Final = frozenset({"sf", "key", "bs", "req", "name", "tr"})
_URI_COMPONENTS: Final = frozenset(
    {"@target-uri", "@authority", "@scheme", "@request-target", "@path", "@query", "@query-param"}
)


@dataclass(frozen=True)
class HttpMessage:
    """The parts of an HTTP message a signature base can refer to.

    A request has `method` and `target_uri`; a response has `status` and, for components
    marked `;req`, the `request` it answers.
    """

    fields: FieldLines
    method: str | None = None
    target_uri: str | None = None
    status: int | None = None
    request: HttpMessage | None = field(default=None, repr=False)


def _missing(what: str) -> SignatureError:
    return SignatureError("malformed", f"covered component {what} is not in the message")


def _target(message: HttpMessage, name: str) -> str:
    if message.target_uri is None:
        raise _missing(name)
    return message.target_uri


def authority(target_uri: str) -> str:
    """Host and non-default port, lower-cased (RFC 9421 section 2.2.3)."""
    parts = urlsplit(target_uri)
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    port = parts.port
    if port is not None and port != _DEFAULT_PORTS.get(parts.scheme.lower()):
        return f"{host}:{port}"
    return host


def _form_encode(text: str) -> str:
    # The application/x-www-form-urlencoded percent-encode set (RFC 9421 section 2.2.8): Python's
    # quote() always leaves "~" alone, the WHATWG set encodes it.
    return quote(text, safe="*").replace("~", "%7E")


def _query_params(query: str, name: str) -> list[str]:
    pairs = parse_qsl(query, keep_blank_values=True)
    values = [_form_encode(value) for key, value in pairs if _form_encode(key) == name]
    if not values:
        raise _missing(f'"@query-param";name="{name}"')
    return values


def _derived(message: HttpMessage, name: str, params: dict[str, object]) -> list[str]:
    if name == "@method" and message.method is not None:
        return [message.method]
    if name == "@status" and message.status is not None:
        return [f"{message.status:03d}"]
    if name == "@signature-params":
        raise SignatureError("malformed", "@signature-params cannot be a covered component")
    if name not in _URI_COMPONENTS:
        raise _missing(name)
    uri = _target(message, name)
    parts = urlsplit(uri)
    path = parts.path or "/"
    if name == "@target-uri":
        return [uri]
    if name == "@authority":
        return [authority(uri)]
    if name == "@scheme":
        return [parts.scheme.lower()]
    if name == "@path":
        return [path]
    if name == "@request-target":
        return [f"{path}?{parts.query}" if parts.query else path]
    if name == "@query":
        return [f"?{parts.query}"]
    query_name = params.get("name")
    if not isinstance(query_name, str):
        raise SignatureError("malformed", "@query-param needs a name parameter")
    return _query_params(parts.query, query_name)


def _structured(name: str, value: str) -> str:
    """Re-serialise a structured field strictly (`;sf`); the type is guessed in a fixed order."""
    for kind in (Dictionary, List, Item):
        parsed = kind()
        try:
            parsed.parse(value.encode("ascii"))
        except (ValueError, UnicodeEncodeError):
            continue
        return str(parsed)
    raise SignatureError("malformed", f"{name} is not a structured field")


def _field(message: HttpMessage, name: str, params: dict[str, object]) -> list[str]:
    if "tr" in params:
        raise SignatureError("malformed", "trailer components are not supported")
    lines = message.fields.get(name)
    if lines is None:
        raise _missing(f'"{name}"')
    if params.get("bs"):
        if "sf" in params or "key" in params:
            raise SignatureError("malformed", "bs cannot be combined with sf or key")
        encoded = (base64.b64encode(line.encode("latin-1")).decode("ascii") for line in lines)
        return [", ".join(f":{b64}:" for b64 in encoded)]
    value = ", ".join(lines)
    key = params.get("key")
    if key is not None:
        dictionary = Dictionary()
        try:
            dictionary.parse(value.encode("ascii"))
        except (ValueError, UnicodeEncodeError) as exc:
            raise SignatureError("malformed", f"{name} is not a dictionary") from exc
        if not isinstance(key, str) or key not in dictionary:
            raise _missing(f'"{name}";key={key!r}')
        member = dictionary[key]
        return [str(member)]
    if params.get("sf"):
        return [_structured(name, value)]
    return [value]


def component_lines(message: HttpMessage, component: Item) -> list[str]:
    """The signature-base lines for one covered component identifier."""
    name = component.value
    params: dict[str, object] = dict(component.params)
    if not isinstance(name, str) or isinstance(name, Token) or not name or name != name.lower():
        raise SignatureError("malformed", f"component name {name!r} must be a lower-case string")
    unknown = set(params) - _KNOWN_PARAMS
    if unknown:
        raise SignatureError("malformed", f"unknown component parameters {sorted(unknown)}")
    if "name" in params and name != "@query-param":
        raise SignatureError("malformed", "only @query-param takes a name parameter")
    source = message
    if params.get("req"):
        if message.request is None:
            raise SignatureError("malformed", f"{name};req needs the related request")
        source = message.request
    derived = name.startswith("@")
    values = _derived(source, name, params) if derived else _field(source, name, params)
    identifier = str(component)
    return [f"{identifier}: {value}" for value in values]


def signature_base(message: HttpMessage, components: InnerList, params_raw: str) -> str:
    """Build the base; `params_raw` is the Signature-Input member exactly as received."""
    seen: set[str] = set()
    lines: list[str] = []
    for component in components:
        if not isinstance(component, Item):
            raise SignatureError("malformed", "covered components must be items")
        identifier = str(component)
        if identifier in seen:
            raise SignatureError("malformed", f"component {identifier} is covered twice")
        seen.add(identifier)
        lines.extend(component_lines(message, component))
    lines.append(f'"@signature-params": {params_raw}')
    return "\n".join(lines)
