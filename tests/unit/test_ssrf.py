"""The address policy of outgoing requests (PROTOCOL.md §4)."""

from __future__ import annotations

import pytest

from fedcoop.federation.ssrf import ForbiddenAddress, check_address, is_forbidden, parse_address

FORBIDDEN = [
    "127.0.0.1",  # loopback
    "127.255.255.254",
    "::1",
    "10.1.2.3",  # private
    "172.16.0.1",
    "192.168.1.1",
    "fc00::1",  # unique local
    "169.254.169.254",  # link-local: cloud metadata
    "fe80::1",
    "fe80::1%eth0",
    "224.0.0.1",  # multicast
    "ff02::1",
    "ff0e::1",  # global-scope multicast is still multicast
    "240.0.0.1",  # reserved
    "255.255.255.255",
    "0.0.0.0",  # unspecified
    "::",
    "100.64.0.1",  # shared address space (carrier NAT)
    "192.0.2.1",  # documentation
    "::ffff:127.0.0.1",  # IPv4-mapped loopback
    "::ffff:10.0.0.1",
    "::ffff:169.254.169.254",
    "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
    "2002:7f00:1::",  # 6to4 of 127.0.0.1
]
ALLOWED = [
    "93.184.215.14",
    "1.1.1.1",
    "2606:4700:4700::1111",
    "::ffff:93.184.215.14",
    "64:ff9b::5db8:d70e",  # NAT64 of a public address
]


@pytest.mark.parametrize("text", FORBIDDEN)
def test_non_public_addresses_are_refused(text: str) -> None:
    address = parse_address(text)
    assert address is not None
    assert is_forbidden(address)
    with pytest.raises(ForbiddenAddress):
        check_address(text, allow_private_network=False)


@pytest.mark.parametrize("text", ALLOWED)
def test_public_addresses_pass(text: str) -> None:
    address = parse_address(text)
    assert address is not None
    assert not is_forbidden(address)
    check_address(text, allow_private_network=False)


def test_allow_private_network_lets_everything_through() -> None:
    for text in FORBIDDEN:
        check_address(text, allow_private_network=True)


def test_unparsable_text_is_refused_not_guessed() -> None:
    for text in ("localhost", "127.1", "", "1.2.3.4.5"):
        with pytest.raises(ForbiddenAddress):
            check_address(text, allow_private_network=False)


def test_bracketed_ipv6_is_read() -> None:
    assert str(parse_address("[::1]")) == "::1"


def test_forbidden_address_is_an_os_error() -> None:
    # aiohttp's connector only wraps OSErrors raised by a resolver into a connector error.
    assert isinstance(ForbiddenAddress("10.0.0.1"), OSError)
