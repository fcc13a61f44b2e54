"""Fedify, a strict real-world ActivityPub implementation, discovers a running fedcoop.

A real `fedcoop serve` (a subprocess, plain http on 127.0.0.1) is looked at by the Fedify peer:
it must fetch and parse every kind of local actor, unsigned and with a signed GET, find an RSA
`publicKey` and an Ed25519 Multikey on each, resolve WebFinger and parse NodeInfo strictly
(PROTOCOL.md section 1). When one of these fails, `fedify_peer.diagnostics()` in the assertion
message carries Fedify's own reason.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.peer import FedifyPeer
from tests.support.processes import free_port, init_instance, serving

pytestmark = pytest.mark.interop

ACTORS = [
    pytest.param("/users/alice", "Person", "alice", id="person"),
    pytest.param("/coops/velo", "Group", "velo", id="coop"),
    pytest.param("/actor", "Application", None, id="instance-actor"),
]


@pytest.fixture(scope="module")
def fedcoop_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fedcoop instance (admin alice, coop velo) served by `fedcoop serve` for this module."""
    root = tmp_path_factory.mktemp("fedcoop-interop")
    port = free_port()
    base = init_instance(root / "instance", port)
    with serving(root / "instance", port):
        yield base


def as_list(value: Any) -> list[Any]:
    """Compact JSON-LD writes a one-element array as the bare element."""
    return value if isinstance(value, list) else [value]


def assert_no_fedify_complaints(peer: FedifyPeer) -> None:
    assert peer.log()["records"] == [], peer.diagnostics()


@pytest.mark.parametrize("signed", [False, True], ids=["unsigned", "signed"])
@pytest.mark.parametrize(("path", "kind", "username"), ACTORS)
def test_fedify_fetches_and_parses_each_actor(
    fedify_peer: FedifyPeer,
    fedcoop_url: str,
    path: str,
    kind: str,
    username: str | None,
    signed: bool,
) -> None:
    # Given a running fedcoop, when Fedify looks the actor up by its URL
    actor = fedcoop_url + path
    reply = fedify_peer.lookup(actor, signed=signed)

    # then Fedify fetched it, parsed it as the right type, and kept its keys and endpoints
    assert reply.status == 200, f"{reply.data}\n{fedify_peer.diagnostics()}"
    assert reply.data["ok"] is True
    assert reply.data["type"] == kind
    assert reply.data["id"] == actor
    obj = reply.data["object"]
    assert obj["inbox"] == actor + "/inbox"
    assert obj["endpoints"]["sharedInbox"] == fedcoop_url + "/inbox"
    if username is not None:
        assert obj["preferredUsername"] == username
    key = obj["publicKey"]
    assert key["id"] == actor + "#main-key"
    assert key["owner"] == actor
    assert key["publicKeyPem"].startswith("-----BEGIN PUBLIC KEY-----")
    multikeys = [m for m in as_list(obj["assertionMethod"]) if m["type"] == "Multikey"]
    assert [m["id"] for m in multikeys] == [actor + "#ed25519-key"]
    assert multikeys[0]["publicKeyMultibase"].startswith("z6Mk")  # Ed25519, FEP-521a
    assert_no_fedify_complaints(fedify_peer)


@pytest.mark.parametrize(("path", "kind", "username"), ACTORS)
def test_fedify_finds_an_rsa_key_and_an_ed25519_multikey(
    fedify_peer: FedifyPeer, fedcoop_url: str, path: str, kind: str, username: str | None
) -> None:
    # Given a running fedcoop, when Fedify checks an actor the way it does before verifying
    actor = fedcoop_url + path
    check = fedify_peer.actor_check(actor)

    # then it has no problem with it: an inbox, an RSA key owned by the actor, an Ed25519 key
    assert check["ok"] is True, f"{check}\n{fedify_peer.diagnostics()}"
    assert check["problems"] == []
    assert check["type"] == kind
    assert check["id"] == actor
    assert check["inbox"] == actor + "/inbox"
    assert check["sharedInbox"] == fedcoop_url + "/inbox"
    (rsa,) = check["publicKeys"]
    assert rsa["id"] == actor + "#main-key"
    assert rsa["owner"] == actor
    assert rsa["algorithm"] == "RSASSA-PKCS1-v1_5"
    assert rsa["bits"] >= 2048
    (ed25519,) = check["assertionMethods"]
    assert ed25519 == {
        "id": actor + "#ed25519-key",
        "controller": actor,
        "algorithm": "Ed25519",
    }


def test_fedify_parses_nodeinfo_strictly(fedify_peer: FedifyPeer, fedcoop_url: str) -> None:
    # When Fedify follows /.well-known/nodeinfo and runs its strict parser
    result = fedify_peer.nodeinfo(fedcoop_url)

    # then the document parses without falling back to best effort
    assert result["ok"] is True, f"{result}\n{fedify_peer.diagnostics()}"
    assert "bestEffort" not in result
    parsed = result["parsed"]
    assert parsed["software"]["name"] == "fedcoop"
    assert parsed["protocols"] == ["activitypub"]
    assert parsed["openRegistrations"] is False
    users = parsed["usage"]["users"]
    assert isinstance(users["total"], int) and users["total"] >= 1
    assert parsed["metadata"]["coops"] == ["velo"]


@pytest.mark.parametrize(
    ("resource_path", "subject", "self_path"),
    [
        pytest.param("/users/alice", "acct:alice@{domain}", "/users/alice", id="person"),
        pytest.param("/coops/velo", "acct:velo@{domain}", "/coops/velo", id="coop"),
        # FEP-d556: the server's own URL resolves to the instance actor.
        pytest.param("/", None, "/actor", id="server"),
    ],
)
def test_fedify_resolves_webfinger_by_url(
    fedify_peer: FedifyPeer,
    fedcoop_url: str,
    resource_path: str,
    subject: str | None,
    self_path: str,
) -> None:
    # (Fedify resolves acct: handles over https only, so a plain-http fedcoop is asked by URL.)
    domain = fedcoop_url.removeprefix("http://")
    reply = fedify_peer.webfinger(fedcoop_url + resource_path)

    assert reply.status == 200, f"{reply.data}\n{fedify_peer.diagnostics()}"
    jrd = reply.data["jrd"]
    if subject is not None:
        assert jrd["subject"] == subject.format(domain=domain)
    self_links = [link for link in jrd["links"] if link["rel"] == "self"]
    assert self_links == [
        {"rel": "self", "type": "application/activity+json", "href": fedcoop_url + self_path}
    ]


def test_fedify_finds_no_actor_where_there_is_none(
    fedify_peer: FedifyPeer, fedcoop_url: str
) -> None:
    # The negative control: the lookups above can fail, and do for a name nobody holds.
    reply = fedify_peer.lookup(fedcoop_url + "/users/nobody")
    assert reply.status == 404
