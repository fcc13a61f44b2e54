"""Storage benchmark: durable writes per second with group commit, against one commit per
write measured in the same run on the same machine (the reference).

Run: python -m bench.storage
"""

from __future__ import annotations

import asyncio
import sqlite3
import tempfile
import time
from pathlib import Path

from fedcoop.db import Database
from fedcoop.db.database import connect

ROWS = 3000
CONCURRENCY = 32
BODY = "x" * 600  # about the size of a small Create(Note)


def reference_one_commit_per_write(path: Path) -> float:
    conn = connect(path, busy_timeout_ms=5000, synchronous="full")
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT)")
    start = time.perf_counter()
    for _ in range(ROWS):
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO t (body) VALUES (?)", (BODY,))
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - start
    conn.close()
    return ROWS / elapsed


async def group_commit(path: Path) -> tuple[float, float, int]:
    db = Database(path, synchronous="full")
    db.start()
    await db.write(lambda c: c.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT)"))
    latencies: list[float] = []
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(ROWS):
        queue.put_nowait(i)

    def insert(c: sqlite3.Connection) -> None:
        c.execute("INSERT INTO t (body) VALUES (?)", (BODY,))

    async def client() -> None:
        while not queue.empty():
            queue.get_nowait()
            t0 = time.perf_counter()
            await db.write(insert)
            latencies.append(time.perf_counter() - t0)

    commits_before = db.commits
    start = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(CONCURRENCY)))
    elapsed = time.perf_counter() - start
    commits = db.commits - commits_before
    db.close()
    latencies.sort()
    return ROWS / elapsed, latencies[int(len(latencies) * 0.99)] * 1000, commits


def run() -> list[dict[str, object]]:
    with tempfile.TemporaryDirectory() as tmp:
        ref = reference_one_commit_per_write(Path(tmp) / "ref.sqlite3")
        rate, p99_ms, commits = asyncio.run(group_commit(Path(tmp) / "group.sqlite3"))
    return [
        {
            "benchmark": "storage: durable writes/s, one commit per write (reference)",
            "value": round(ref),
            "unit": "writes/s",
        },
        {
            "benchmark": f"storage: durable writes/s, group commit, concurrency {CONCURRENCY}",
            "value": round(rate),
            "unit": "writes/s",
            "ratio": f"{rate / ref:.1f}x reference",
            "note": f"{commits} commits, p99 {p99_ms:.1f} ms",
        },
    ]


if __name__ == "__main__":
    for row in run():
        print(row)
