"""Host names and origins, normalised before anything compares or blocks them (PROTOCOL.md §3).

A host is lower-cased, IDNA-encoded to punycode (UTS #46, as yarl and therefore aiohttp encode
the host they connect to, so what we check is what we reach), stripped of one trailing dot, and
stripped of the default port of its scheme. Anything else that is not a plain DNS name, a
canonical IPv4 address or a bracketed IPv6 address (`/`, `@`, spaces, backslashes, empty
labels, `127.1`-style shorthand) is refused with `HostError`: a refused host is never compared,
so `evil.com@good.com` cannot pass for `good.com`.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from typing import Final
from urllib.parse import urlsplit

import idna

DEFAULT_PORTS: Final = {"https": 443, "http": 80}
_LABEL: Final = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_MAX_HOST_LENGTH: Final = 253


class HostError(ValueError):
    """A host or URL that cannot be normalised safely; the message says why."""


def _split_port(value: str) -> tuple[str, str | None]:
    if value.startswith("["):
        end = value.find("]")
        if end < 0:
            raise HostError(f"unclosed IPv6 literal in {value!r}")
        rest = value[end + 1 :]
        if rest and not rest.startswith(":"):
            raise HostError(f"junk after the IPv6 literal in {value!r}")
        return value[: end + 1], (rest[1:] if rest else None)
    if value.count(":") > 1:
        raise HostError(f"{value!r}: an IPv6 address must be in brackets")
    host, sep, port = value.partition(":")
    return host, (port if sep else None)


def _port(text: str, value: str) -> int:
    if not text.isascii() or not text.isdigit() or len(text) > 5:
        raise HostError(f"bad port in {value!r}")
    number = int(text)
    if not 0 < number < 65536:
        raise HostError(f"port out of range in {value!r}")
    return number


def _ipv6(bracketed: str, value: str) -> str:
    try:
        address = ipaddress.IPv6Address(bracketed[1:-1])
    except ValueError:
        raise HostError(f"bad IPv6 literal in {value!r}") from None
    return f"[{address.compressed}]"


def _dns_name(name: str, value: str) -> str:
    if name.endswith("."):
        name = name[:-1]  # the root label: `example.com.` is `example.com`
    if not name:
        raise HostError(f"empty host in {value!r}")
    if any(c.isspace() or c in "/\\@?#%[]" for c in name):
        raise HostError(f"forbidden character in host {value!r}")
    try:
        # UTS #46 lower-cases and maps; it also checks that `xn--` labels really are punycode.
        ascii_name = idna.encode(name, uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError):
        raise HostError(f"{value!r} is not a valid internationalised host name") from None
    if len(ascii_name) > _MAX_HOST_LENGTH:
        raise HostError(f"host too long: {value!r}")
    labels = ascii_name.split(".")
    if not all(_LABEL.match(label) for label in labels):
        raise HostError(f"{value!r} is not a host name")
    if labels[-1].isdigit():
        # All-numeric top label: an IPv4 address, which must then be canonical dotted-quad
        # (`127.1` or `2130706433` would reach loopback through inet_aton's shorthand).
        try:
            return str(ipaddress.IPv4Address(ascii_name))
        except ValueError:
            raise HostError(f"{value!r} is not a canonical IPv4 address") from None
    return ascii_name


@functools.lru_cache(maxsize=4096)
def normalise_host(value: str, *, scheme: str | None = None) -> str:
    """`HOST[:PORT]` in canonical form; the default port of `scheme` (when given) is dropped.

    Raises `HostError` for anything that is not a host.
    """
    if not isinstance(value, str) or not value:
        raise HostError("empty host")
    host, port_text = _split_port(value)
    host = _ipv6(host, value) if host.startswith("[") else _dns_name(host, value)
    if port_text is None:
        return host
    port = _port(port_text, value)
    if scheme is not None and DEFAULT_PORTS.get(scheme) == port:
        return host
    return f"{host}:{port}"


def split_host_port(host: str) -> tuple[str, int | None]:
    """A normalised `HOST[:PORT]` split into its name and port (None when absent)."""
    name, port_text = _split_port(host)
    return name, (int(port_text) if port_text else None)


def url_scheme_and_host(url: str) -> tuple[str, str]:
    """(scheme, normalised host) of an absolute http(s) URL; refuses user info and junk."""
    if not isinstance(url, str) or any(c.isspace() for c in url):
        raise HostError("a URL may not contain white space")
    try:
        parts = urlsplit(url)
    except ValueError:
        raise HostError(f"unparsable URL {url!r}") from None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise HostError(f"not an http(s) URL: {url!r}")
    netloc = parts.netloc
    if "@" in netloc:
        # `https://evil.com@good.com/` names good.com to some parsers and evil.com to others.
        raise HostError(f"user info is not allowed in a URL: {url!r}")
    if "\\" in url:
        raise HostError(f"backslash in URL {url!r}")
    return scheme, normalise_host(netloc, scheme=scheme)


def host_of(url: str) -> str:
    """The normalised `HOST[:PORT]` of a URL."""
    return url_scheme_and_host(url)[1]


def origin(url: str) -> str:
    """`scheme://host[:port]` with the host normalised and the default port dropped."""
    scheme, host = url_scheme_and_host(url)
    return f"{scheme}://{host}"


def same_origin(a: str, b: str) -> bool:
    """True when both URLs parse and share scheme, host and port; junk is never the same."""
    try:
        return origin(a) == origin(b)
    except HostError:
        return False


def is_subdomain_or_same(host: str, domain: str) -> bool:
    """Is the normalised `host` equal to `domain` or below it?

    A `domain` with a port matches that port only; without one it matches every port (a block
    of `evil.example` covers `evil.example:8443`). IP addresses match only themselves.
    """
    host_name, host_port = split_host_port(host)
    domain_name, domain_port = split_host_port(domain)
    if domain_port is not None and host_port != domain_port:
        return False
    if host_name == domain_name:
        return True
    if _is_ip(host_name) or _is_ip(domain_name):
        return False
    return host_name.endswith("." + domain_name)


def _is_ip(name: str) -> bool:
    if name.startswith("["):
        return True
    try:
        ipaddress.IPv4Address(name)
    except ValueError:
        return False
    return True


def normalise_url(url: str) -> str:
    """An absolute http(s) URL with its origin normalised, fragment dropped, and `/` for an
    empty path: two spellings of one document compare equal, different documents do not."""
    parts = urlsplit(url)
    base = origin(url)
    query = f"?{parts.query}" if parts.query else ""
    return f"{base}{parts.path or '/'}{query}"


def same_url(a: str, b: str) -> bool:
    """True when both URLs parse and name the same document (`normalise_url`)."""
    try:
        return normalise_url(a) == normalise_url(b)
    except HostError:
        return False
