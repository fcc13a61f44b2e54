"""Which addresses outgoing federation requests may connect to (PROTOCOL.md §4).

Only globally routable unicast addresses, unless the instance sets
`instance.allow_private_network` (local federations and tests). An IPv6 address that is
translated to an IPv4 one (IPv4-mapped `::ffff:a.b.c.d`, NAT64 `64:ff9b::/96`) is judged by the
IPv4 address inside, since that is where the packets end up; a 6to4 or Teredo address is
refused when either it or the IPv4 end point inside it is.

The check runs on the address actually connected to (see `http_client.PolicyResolver`), so a
name that resolves to a public address when looked up and to 127.0.0.1 a moment later (DNS
rebinding) gets no further than the second answer.
"""

from __future__ import annotations

import ipaddress
from typing import Final

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_NAT64: Final = ipaddress.IPv6Network("64:ff9b::/96")


class ForbiddenAddress(OSError):
    """A connection to an address the policy refuses.

    An `OSError`, so that raised inside aiohttp's resolver it surfaces as a connector error
    whose cause we can recognise, and no socket is ever opened.
    """

    def __init__(self, address: str) -> None:
        super().__init__(f"refusing to connect to non-public address {address}")
        self.address = address


def parse_address(text: str) -> IPAddress | None:
    """An IP address from text (`[::1]`, `fe80::1%eth0` accepted), or None when it is not one."""
    candidate = text[1:-1] if text.startswith("[") and text.endswith("]") else text
    try:
        return ipaddress.ip_address(candidate)
    except ValueError:
        return None


def _translated_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address that packets to `address` are delivered to, when it is one."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _tunnelled_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 end point of a 6to4 or Teredo address."""
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    return None


def is_forbidden(address: IPAddress) -> bool:
    """True for loopback, private, link-local, multicast, reserved, unspecified and every other
    non-global address, and for IPv6 addresses wrapping one of those."""
    if isinstance(address, ipaddress.IPv6Address):
        translated = _translated_ipv4(address)
        if translated is not None:
            return is_forbidden(translated)
        tunnelled = _tunnelled_ipv4(address)
        if tunnelled is not None and is_forbidden(tunnelled):
            return True
    return (
        not address.is_global
        or address.is_multicast
        or address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_reserved
        or address.is_unspecified
    )


def check_address(text: str, *, allow_private_network: bool) -> None:
    """Raise `ForbiddenAddress` unless `text` is an address we may connect to."""
    if allow_private_network:
        return
    address = parse_address(text)
    if address is None or is_forbidden(address):
        raise ForbiddenAddress(text)
