"""Fixtures for federation tests: three real fedcoop instances talking over loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest

from fedcoop.config import Settings
from tests.support.federation import LOOPBACK, Federation, Node
from tests.support.processes import free_port

# (node name, coop, admin): three cooperatives, each with its own instance.
INSTANCES = (("A", "velo", "alice"), ("B", "rail", "bob"), ("C", "bus", "carol"))


@pytest.fixture
async def federation(make_instance: Callable[..., Settings]) -> AsyncIterator[Federation]:
    """Instances A (coop velo, alice), B (rail, bob) and C (bus, carol), all running."""
    nodes = []
    for name, coop, admin in INSTANCES:
        port = free_port()  # before init: the domain with its port is in every id
        settings = make_instance(f"{LOOPBACK}:{port}", coop=coop, coop_title=coop, admin=admin)
        nodes.append(Node(name, settings, port))
    fed = Federation(nodes)
    try:
        for node in nodes:
            await node.start()
        yield fed
    finally:
        await fed.stop()
