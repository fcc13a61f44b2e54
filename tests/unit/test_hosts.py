"""Host normalisation (PROTOCOL.md §3): tricks are normalised away or refused, never compared."""

from __future__ import annotations

import pytest

from fedcoop.activitypub.hosts import (
    HostError,
    host_of,
    is_subdomain_or_same,
    normalise_host,
    normalise_url,
    origin,
    same_origin,
    same_url,
)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("EXAMPLE.com.", "example.com"),  # case and the root label
        ("Example.COM", "example.com"),
        ("bücher.de", "xn--bcher-kva.de"),  # IDNA to punycode
        ("BÜCHER.de.", "xn--bcher-kva.de"),
        ("xn--bcher-kva.de", "xn--bcher-kva.de"),  # already punycode: unchanged
        ("example.com:443", "example.com"),  # the default port of https
        ("example.com:8443", "example.com:8443"),
        ("127.0.0.1:8001", "127.0.0.1:8001"),
        ("[::1]:443", "[::1]"),
        ("[0:0:0:0:0:0:0:1]", "[::1]"),
    ],
)
def test_hosts_are_normalised(given: str, expected: str) -> None:
    assert normalise_host(given, scheme="https") == expected


def test_the_default_port_depends_on_the_scheme() -> None:
    assert normalise_host("example.com:80", scheme="http") == "example.com"
    assert normalise_host("example.com:80", scheme="https") == "example.com:80"
    assert normalise_host("example.com:443") == "example.com:443"  # no scheme: kept


@pytest.mark.parametrize(
    "junk",
    [
        "evil.com@good.com",
        "good.com/evil",
        "good.com evil",
        " good.com",
        "good.com\\evil",
        "good.com?x",
        "good.com#x",
        "a..com",
        ".com",
        "x.com..",
        "-bad.com",
        "xn--zz.de",  # not valid punycode
        "127.1",  # inet_aton shorthand for 127.0.0.1
        "2130706433",  # 127.0.0.1 as one number
        "0x7f.0.0.1",
        "::1",  # IPv6 needs brackets
        "[::1",
        "[nonsense]",
        "host:0",
        "host:65536",
        "host:",
        "host:+80",
        "",
    ],
)
def test_junk_is_refused(junk: str) -> None:
    with pytest.raises(HostError):
        normalise_host(junk)


def test_urls_with_user_info_or_backslashes_are_refused() -> None:
    for url in (
        "https://evil.com@good.com/users/a",
        "https://good.com:443@evil.com/",
        "https://good.com\\@evil.com/",
        "https://good.com /x",
        "ftp://good.com/",
        "//good.com/x",
        "good.com",
    ):
        with pytest.raises(HostError):
            host_of(url)


def test_origin_normalises_host_and_port() -> None:
    assert origin("https://EXAMPLE.com.:443/users/a?x#y") == "https://example.com"
    assert origin("http://bücher.de:8080/") == "http://xn--bcher-kva.de:8080"


def test_same_origin_needs_scheme_host_and_port() -> None:
    assert same_origin("https://Example.com/a", "https://example.com:443/b")
    assert not same_origin("https://example.com/a", "http://example.com/a")
    assert not same_origin("https://example.com/a", "https://example.com:8443/a")
    assert not same_origin("https://example.com/a", "https://sub.example.com/a")
    assert not same_origin("https://evil.com@example.com/", "https://example.com/")


def test_same_url_ignores_spelling_but_not_paths() -> None:
    assert same_url("https://EXAMPLE.com:443/notes/1#frag", "https://example.com/notes/1")
    assert normalise_url("https://example.com") == "https://example.com/"
    assert not same_url("https://example.com/notes/1", "https://example.com/notes/2")
    assert not same_url("https://example.com/notes/1?a", "https://example.com/notes/1")


def test_subdomains_and_ports_in_domain_rules() -> None:
    assert is_subdomain_or_same("evil.com", "evil.com")
    assert is_subdomain_or_same("a.b.evil.com", "evil.com")
    assert is_subdomain_or_same("evil.com:8443", "evil.com")  # a rule without port: all ports
    assert not is_subdomain_or_same("notevil.com", "evil.com")
    assert not is_subdomain_or_same("evil.com.au", "evil.com")
    assert is_subdomain_or_same("127.0.0.1:8002", "127.0.0.1:8002")
    assert not is_subdomain_or_same("127.0.0.1:8003", "127.0.0.1:8002")  # a rule with a port
    assert not is_subdomain_or_same("1.127.0.0.1", "127.0.0.1")  # IPs have no subdomains
