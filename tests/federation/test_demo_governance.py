"""`fedcoop demo` seeds cooperatives across its instances: members from each other's
instances, one decided vote (with its decision on the log) and one open vote."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fedcoop.demo import COOPS
from tests.support.processes import LOOPBACK, FedcoopProcess, free_ports, http_get, start_demo

pytestmark = pytest.mark.federation

AS2 = "application/activity+json"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FedcoopProcess, int]]:
    root: Path = tmp_path_factory.mktemp("demo-governance") / "federation"
    base_port = free_ports(3)
    process = start_demo(root, base_port, instances=3, timeout=150)
    try:
        yield process, base_port
    finally:
        process.stop()


def as2(url: str) -> Any:
    reply = http_get(url, accept=AS2, timeout=10)
    assert reply.status == 200, (url, reply.body)
    return json.loads(reply.body)


def test_each_coop_has_members_from_another_instance(demo: tuple[FedcoopProcess, int]) -> None:
    _, base_port = demo
    for index, coop in enumerate(COOPS):
        domain = f"{LOOPBACK}:{base_port + index}"
        collection = as2(f"http://{domain}/coops/{coop.name}/affiliations")
        page = as2(collection["first"])
        hosts = {
            re.sub(r"^https?://([^/]+)/.*$", r"\1", r["subject"]) for r in page["orderedItems"]
        }
        assert domain in hosts and len(hosts) >= 2, (coop.name, hosts)
        assert all("proof" in r for r in page["orderedItems"])


def test_the_first_coop_has_a_decided_and_an_open_vote(demo: tuple[FedcoopProcess, int]) -> None:
    _, base_port = demo
    coop = COOPS[0]
    base = f"http://{LOOPBACK}:{base_port}"
    log = http_get(f"{base}/coops/{coop.name}/decisions").body.decode()
    assert "Raise the solidarity fund to 3%" in log and "Adopted" in log
    proposals = http_get(f"{base}/coops/{coop.name}/proposals").body.decode()
    assert "Which evening for the monthly assembly?" in proposals and "open until" in proposals
