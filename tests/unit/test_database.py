"""The writer thread, group commit, per-write rollback, read snapshots, schema versions."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

import pytest

from fedcoop.db import Database, SchemaTooNew
from fedcoop.db.database import MAX_GROUP, StorageBusy
from fedcoop.db.migrations import apply_migrations, current_version, latest_version


@pytest.fixture
async def db(tmp_path: Path):  # type: ignore[no-untyped-def]
    database = Database(tmp_path / "t.sqlite3", max_batch=64)
    database.start()
    await database.write(lambda c: c.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)"))
    yield database
    database.close()


async def test_concurrent_writes_are_grouped_into_few_commits(db: Database) -> None:
    before = db.commits

    def insert(i: int):  # type: ignore[no-untyped-def]
        return lambda c: c.execute("INSERT INTO t (v) VALUES (?)", (str(i),)).lastrowid

    rowids = await asyncio.gather(*(db.write(insert(i)) for i in range(500)))
    assert len(set(rowids)) == 500
    assert db.commits - before < 500  # group commit happened
    count = await db.read(lambda c: c.execute("SELECT count(*) FROM t").fetchone()[0])
    assert count == 500


async def test_a_failing_write_rolls_back_alone(db: Database) -> None:
    def bad(c: sqlite3.Connection) -> None:
        c.execute("INSERT INTO t (v) VALUES ('half')")
        raise ValueError("refused")

    results = await asyncio.gather(
        db.write(lambda c: c.execute("INSERT INTO t (v) VALUES ('a')")),
        db.write(bad),
        db.write(lambda c: c.execute("INSERT INTO t (v) VALUES ('b')")),
        return_exceptions=True,
    )
    assert isinstance(results[1], ValueError)
    values = await db.read(lambda c: [r[0] for r in c.execute("SELECT v FROM t ORDER BY id")])
    assert values == ["a", "b"]


async def test_write_is_durable_when_acknowledged(tmp_path: Path) -> None:
    path = tmp_path / "d.sqlite3"
    database = Database(path)
    database.start()
    await database.write(lambda c: c.execute("CREATE TABLE t (v TEXT)"))
    await database.write(lambda c: c.execute("INSERT INTO t VALUES ('kept')"))
    # A second, independent connection sees it at once: it was committed before the await returned.
    other = sqlite3.connect(path)
    assert other.execute("SELECT v FROM t").fetchall() == [("kept",)]
    other.close()
    database.close()


async def test_reads_cannot_write(db: Database) -> None:
    with pytest.raises(sqlite3.OperationalError):
        await db.read(lambda c: c.execute("INSERT INTO t (v) VALUES ('x')"))


async def test_pragmas(db: Database) -> None:
    def pragmas(c: sqlite3.Connection) -> tuple[str, int, int]:
        return (
            c.execute("PRAGMA journal_mode").fetchone()[0],
            c.execute("PRAGMA foreign_keys").fetchone()[0],
            c.execute("PRAGMA busy_timeout").fetchone()[0],
        )

    assert await db.write(pragmas) == ("wal", 1, 5000)


def test_migrations_record_version_and_refuse_newer(tmp_path: Path) -> None:
    database = Database(tmp_path / "m.sqlite3")
    applied = database.write_sync(apply_migrations)
    assert applied[0] == "0001_core"
    assert database.read_sync(current_version) == latest_version()
    assert database.write_sync(apply_migrations) == []  # idempotent
    database.write_sync(lambda c: c.execute(f"PRAGMA user_version = {latest_version() + 1}"))
    with pytest.raises(SchemaTooNew):
        database.write_sync(apply_migrations)


def _insert_many(c: sqlite3.Connection, values: list[str]) -> list[int]:
    # one statement for the whole group, as `write_batched` requires
    c.execute("INSERT INTO b (v) VALUES " + ", ".join("(?)" for _ in values), values)
    return [len(values)] * len(values)


_CHECKED_TABLE = "CREATE TABLE b (v TEXT NOT NULL CHECK (v != 'bad'))"


async def test_batched_writes_are_handed_over_together(db: Database) -> None:
    await db.write(lambda c: c.execute(_CHECKED_TABLE))
    sizes = await asyncio.gather(*(db.write_batched(_insert_many, str(i)) for i in range(40)))
    assert max(sizes) > 1  # at least some arrived in one call
    values = await db.read(lambda c: sorted(int(r[0]) for r in c.execute("SELECT v FROM b")))
    assert values == list(range(40))


async def test_a_bad_batched_write_fails_alone(db: Database) -> None:
    await db.write(lambda c: c.execute(_CHECKED_TABLE))
    args = ["a", "b", "bad", "c", "d"]
    results = await asyncio.gather(
        *(db.write_batched(_insert_many, arg) for arg in args), return_exceptions=True
    )
    assert isinstance(results[2], sqlite3.IntegrityError)
    assert all(isinstance(r, int) for i, r in enumerate(results) if i != 2)
    values = await db.read(lambda c: sorted(r[0] for r in c.execute("SELECT v FROM b")))
    assert values == ["a", "b", "c", "d"]


async def test_a_write_that_ends_the_transaction_fails_the_whole_batch(db: Database) -> None:
    # given the writer held busy, so that the next three writes are committed together
    busy, release = threading.Event(), threading.Event()
    held = asyncio.ensure_future(db.write(lambda c: busy.set() or release.wait(5)))
    await asyncio.to_thread(busy.wait, 5)
    writes = [
        asyncio.ensure_future(db.write(lambda c: c.execute("INSERT INTO t (v) VALUES ('one')"))),
        asyncio.ensure_future(db.write(lambda c: c.execute("ROLLBACK"))),  # ends it all
        asyncio.ensure_future(db.write(lambda c: c.execute("INSERT INTO t (v) VALUES ('two')"))),
    ]
    await asyncio.sleep(0)  # the three are queued
    release.set()
    await held
    results = await asyncio.gather(*writes, return_exceptions=True)
    # then none reports success: the first write was undone with the transaction
    assert all(isinstance(r, BaseException) for r in results), results
    assert isinstance(results[0], StorageBusy)
    count = await db.read(lambda c: c.execute("SELECT count(*) FROM t").fetchone()[0])
    assert count == 0


async def test_a_large_group_is_split_for_sqlites_bound_value_limit(db: Database) -> None:
    # given more batched writes at once than one call may take
    await db.write(lambda c: c.execute(_CHECKED_TABLE))
    sizes = await asyncio.gather(*(db.write_batched(_insert_many, str(i)) for i in range(300)))
    assert max(sizes) <= MAX_GROUP
    count = await db.read(lambda c: c.execute("SELECT count(*) FROM b").fetchone()[0])
    assert count == 300


async def test_writes_queued_in_the_turn_that_closes_the_database_still_run(
    tmp_path: Path,
) -> None:
    database = Database(tmp_path / "c.sqlite3")
    database.start()
    await database.write(lambda c: c.execute("CREATE TABLE t (v TEXT)"))
    last = asyncio.ensure_future(database.write(lambda c: c.execute("INSERT INTO t VALUES ('x')")))
    await asyncio.sleep(0)  # the write is queued for this turn's hand-over...
    database.close()  # ...and the database closes before that hand-over runs
    await asyncio.wait_for(last, 5)
    conn = sqlite3.connect(tmp_path / "c.sqlite3")
    assert conn.execute("SELECT v FROM t").fetchall() == [("x",)]
    conn.close()
