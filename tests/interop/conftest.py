"""Fixtures for tests against real outside software: one Fedify peer for the whole session.

`fedify_peer` is what tests use: the session's peer, reset before each test so that no test
sees another's followers, logs or Fedify's key cache. Installing takes ~8 s the first time
(into `<repo>/.cache/fedify-peer`, shared across runs), starting ~1 s.
A missing npm is a failure, not a skip: a skipped interop suite would look green in CI.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.peer import FedifyPeer, PeerUnavailable, install_peer, start_peer


@pytest.fixture(scope="session")
def fedify_peer_install() -> Path:
    try:
        return install_peer()
    except PeerUnavailable as exc:
        problem = str(exc)
    # Outside the except block, so the report is the one clear line, not a chained traceback.
    pytest.fail(problem, pytrace=False)


@pytest.fixture(scope="session")
def fedify_peer_session(
    fedify_peer_install: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FedifyPeer]:
    state_dir = tmp_path_factory.mktemp("fedify-peer-state")
    try:
        peer = start_peer(fedify_peer_install, state_dir, parent_pid=os.getpid())
    except PeerUnavailable as exc:
        problem = str(exc)
    else:
        try:
            yield peer
        finally:
            peer.stop(timeout=5)
        return
    pytest.fail(problem, pytrace=False)


@pytest.fixture
def fedify_peer(fedify_peer_session: FedifyPeer) -> FedifyPeer:
    fedify_peer_session.reset()
    return fedify_peer_session
