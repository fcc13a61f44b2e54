"""`fedcoop demo`: three real instances on consecutive loopback ports, as a newcomer runs it.

The demo is the first thing people try, so it is tested as a subprocess: it must seed, listen,
answer WebFinger for every coop and admin, serve actor documents that follow PROTOCOL.md
section 1, stop promptly on SIGTERM, and re-seeding an existing directory must change nothing.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fedcoop.demo import COOPS, DemoCoop
from fedcoop.provisioning import list_coops, list_users
from tests.support.processes import (
    LOOPBACK,
    FedcoopProcess,
    free_ports,
    http_get,
    run_fedcoop,
    start_demo,
)

pytestmark = pytest.mark.federation

AS2 = "application/activity+json"
CONTEXT_URLS = [
    "https://www.w3.org/ns/activitystreams",
    "https://w3id.org/security/v1",
    "https://www.w3.org/ns/did/v1",
    "https://w3id.org/security/multikey/v1",
]
REQUIRED_FEPS = {"https://w3id.org/fep/0837", "https://w3id.org/fep/8b32"}


class RunningDemo:
    def __init__(self, process: FedcoopProcess, base_port: int) -> None:
        self.process = process
        self.base_port = base_port

    def instances(self) -> list[tuple[str, DemoCoop]]:
        """(host:port, coop) of each instance, in the order the demo assigns them."""
        return [(f"{LOOPBACK}:{self.base_port + i}", coop) for i, coop in enumerate(COOPS)]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningDemo]:
    root = tmp_path_factory.mktemp("demo") / "federation"
    base_port = free_ports(3)
    process = start_demo(root, base_port, instances=3)
    try:
        yield RunningDemo(process, base_port)
    finally:
        process.stop()


def webfinger_self(domain: str, username: str) -> str:
    reply = http_get(
        f"http://{domain}/.well-known/webfinger?resource=acct:{username}@{domain}", timeout=5
    )
    assert reply.status == 200, (username, reply.body)
    assert reply.content_type == "application/jrd+json"
    jrd = reply.json()
    assert jrd["subject"] == f"acct:{username}@{domain}"
    (link,) = [link for link in jrd["links"] if link["rel"] == "self"]
    assert link["type"] == AS2
    return str(link["href"])


def assert_protocol_actor(doc: dict[str, Any], *, actor: str, domain: str, username: str) -> None:
    """The actor document rules of PROTOCOL.md section 1 that every peer relies on."""
    context = doc["@context"]
    assert context[:4] == CONTEXT_URLS
    assert all(isinstance(extra, dict) for extra in context[4:]), "only inline extra contexts"
    assert doc["id"] == actor
    assert doc["preferredUsername"] == username
    assert doc["inbox"] == actor + "/inbox"
    assert doc["endpoints"]["sharedInbox"] == f"http://{domain}/inbox"
    assert doc["webfinger"] == f"{username}@{domain}"
    key = doc["publicKey"]
    assert key["id"] == actor + "#main-key"
    assert key["type"] == "CryptographicKey"
    assert key["owner"] == actor
    assert key["publicKeyPem"].startswith("-----BEGIN PUBLIC KEY-----")
    (multikey,) = doc["assertionMethod"]
    assert multikey["id"] == actor + "#ed25519-key"
    assert multikey["type"] == "Multikey"
    assert multikey["controller"] == actor
    assert multikey["publicKeyMultibase"].startswith("z6Mk")
    assert doc["generator"]["type"] == "Application"
    assert REQUIRED_FEPS <= {item["href"] for item in doc["generator"]["implements"]}


def fetch_actor(url: str) -> dict[str, Any]:
    reply = http_get(url, accept=AS2, timeout=5)
    assert reply.status == 200, (url, reply.body)
    assert reply.content_type == AS2
    doc: dict[str, Any] = reply.json()
    return doc


@pytest.mark.parametrize("index", range(3), ids=[c.name for c in COOPS])
def test_each_demo_instance_answers_webfinger_and_serves_protocol_actors(
    demo: RunningDemo, index: int
) -> None:
    # Given the running demo, for one of its instances
    domain, coop = demo.instances()[index]

    # when WebFinger is asked for the coop, its admin and its members,
    # then each resolves to an actor document that follows PROTOCOL.md section 1
    coop_url = webfinger_self(domain, coop.name)
    assert coop_url == f"http://{domain}/coops/{coop.name}"
    coop_doc = fetch_actor(coop_url)
    assert coop_doc["type"] == "Group"
    assert_protocol_actor(coop_doc, actor=coop_url, domain=domain, username=coop.name)
    admin_url = webfinger_self(domain, coop.admin)
    assert admin_url == f"http://{domain}/users/{coop.admin}"
    admin_doc = fetch_actor(admin_url)
    assert admin_doc["type"] == "Person"
    assert_protocol_actor(admin_doc, actor=admin_url, domain=domain, username=coop.admin)
    assert admin_url in coop_doc["attributedTo"], "a coop names its admins"
    for member, _display in coop.members:
        member_url = webfinger_self(domain, member)
        assert fetch_actor(member_url)["type"] == "Person"


def test_demo_instances_know_only_their_own_names(demo: RunningDemo) -> None:
    # Given three instances, each hosting one coop
    (first, first_coop), (second, _) = demo.instances()[:2]

    # when the second is asked about a name that lives on the first, it does not claim it
    reply = http_get(
        f"http://{second}/.well-known/webfinger?resource=acct:{first_coop.name}@{second}"
    )
    assert reply.status == 404
    reply = http_get(
        f"http://{second}/.well-known/webfinger?resource=acct:{first_coop.name}@{first}"
    )
    assert reply.status == 404


def test_demo_stops_within_ten_seconds_of_sigterm(tmp_path: Path) -> None:
    # Given a demo that is up
    base_port = free_ports(3)
    process = start_demo(tmp_path / "demo", base_port, instances=3)
    try:
        assert http_get(f"http://{LOOPBACK}:{base_port}/.well-known/nodeinfo").status == 200
        # when it gets SIGTERM (what systemd and Ctrl-C's cousin send)
        started = time.monotonic()
        returncode = process.terminate(timeout=10)
        # then it exits cleanly, in time, and releases its ports
        assert time.monotonic() - started < 10
        assert returncode == 0, process.output()
        with pytest.raises(OSError):
            http_get(f"http://{LOOPBACK}:{base_port}/.well-known/nodeinfo", timeout=2)
    finally:
        process.stop()


def snapshot(root: Path) -> dict[str, Any]:
    """What a re-seed could change: each instance's config, accounts and coops."""
    out: dict[str, Any] = {}
    for data_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        out[data_dir.name + "/fedcoop.toml"] = (data_dir / "fedcoop.toml").read_text()
        out[data_dir.name + "/users"] = [
            (a.id, a.username, a.role, a.created_at) for a in list_users(data_dir)
        ]
        out[data_dir.name + "/coops"] = [(c.name, c.title) for c in list_coops(data_dir)]
    return out


def test_demo_seed_only_is_idempotent(tmp_path: Path) -> None:
    root = tmp_path / "demo"
    args = ("demo", "--dir", str(root), "--base-port", "8001", "--instances", "3", "--seed-only")

    # Given a freshly seeded demo directory
    first = run_fedcoop(*args, timeout=120)
    assert first.returncode == 0, first.stderr
    before = snapshot(root)
    assert len(before) == 9, before.keys()
    for number, coop in enumerate(COOPS, start=1):
        usernames = {user[1] for user in before[f"instance{number}/users"]}
        assert usernames == {coop.admin, *(m for m, _ in coop.members)}
        assert before[f"instance{number}/coops"] == [(coop.name, coop.title)]

    # when it is seeded again
    second = run_fedcoop(*args, timeout=120)

    # then the second run succeeds, says the same, and changes nothing
    assert second.returncode == 0, second.stderr
    assert second.stdout == first.stdout
    assert snapshot(root) == before
