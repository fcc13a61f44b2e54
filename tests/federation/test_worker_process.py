"""`fedcoop worker`: the workers in their own process, and only ever in one.

Real processes: `fedcoop serve` with `server.workers = false` answers the inbox, and a
separate `fedcoop worker` applies what arrived; a second worker process (or a `serve` that
would run workers) is refused while one runs.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from tests.support.processes import (
    free_port,
    http_request,
    init_instance,
    run_fedcoop,
    spawn_fedcoop,
    start_server,
)
from tests.support.senders import seed_senders, signed_create

pytestmark = pytest.mark.federation


def inbox_state(database: Path, activity_id: str) -> str | None:
    conn = sqlite3.connect(database)
    try:
        row = conn.execute(
            "SELECT state FROM inbox_items WHERE activity_uri = ?", (activity_id,)
        ).fetchone()
    finally:
        conn.close()
    return None if row is None else str(row[0])


def test_a_worker_process_applies_what_a_workerless_server_received(tmp_path: Path) -> None:
    # given `serve` without its workers
    port = free_port()
    data_dir = tmp_path / "instance"
    database = data_dir / "fedcoop.sqlite3"
    base_url = init_instance(data_dir, port)
    sender = seed_senders(data_dir, count=1)[0]
    server = start_server(data_dir, port, env={"FEDCOOP_SERVER_WORKERS": "false"})
    worker = None
    try:
        # when a signed note for alice arrives
        activity_id, body, headers = signed_create(
            sender, base_url.split("://", 1)[1], base_url + "/users/alice"
        )
        reply = http_request("POST", base_url + "/inbox", body=body, headers=headers)
        assert reply.status == 202, reply.body

        # then it waits: the server stored it but applies nothing (its workers would have at
        # once, woken by the intake)
        time.sleep(2)
        assert inbox_state(database, activity_id) == "received"

        # and once `fedcoop worker` runs, it is applied (at its poll interval: nothing wakes it)
        worker = spawn_fedcoop(["worker", "--data-dir", str(data_dir)], tmp_path / "worker.log")
        worker.wait_for_output("fedcoop workers running")
        deadline = time.monotonic() + 20
        while inbox_state(database, activity_id) != "processed" and time.monotonic() < deadline:
            time.sleep(0.2)
        assert inbox_state(database, activity_id) == "processed", worker.output()

        # and a second worker process is refused, saying why
        second = run_fedcoop("worker", "--data-dir", str(data_dir), timeout=30)
        assert second.returncode == 2
        assert "already runs the workers" in second.stderr
        assert "Traceback" not in second.stderr

        # and the worker stops cleanly on SIGTERM
        assert worker.terminate(timeout=15) == 0, worker.output()
    finally:
        if worker is not None:
            worker.stop()
        server.stop()


def test_serve_with_workers_refuses_while_a_worker_process_runs(tmp_path: Path) -> None:
    port = free_port()
    data_dir = tmp_path / "instance"
    init_instance(data_dir, port)
    worker = spawn_fedcoop(["worker", "--data-dir", str(data_dir)], tmp_path / "worker.log")
    try:
        worker.wait_for_output("fedcoop workers running")
        refused = run_fedcoop("serve", "--data-dir", str(data_dir), "--port", str(port), timeout=30)
        assert refused.returncode == 2
        assert "already runs the workers" in refused.stderr
    finally:
        worker.stop()
