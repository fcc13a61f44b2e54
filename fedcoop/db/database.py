"""One SQLite file per instance: a single writer thread, a read pool, nothing on the event loop.

Why one writer: SQLite allows one writer at a time anyway, and a single thread that owns the
write connection can commit several queued writes in one transaction (group commit), so an
inbox that must be durable before answering 202 pays one fsync for many requests. Each write
runs inside its own SAVEPOINT, so one failing write rolls back alone and the others still
commit. Reads run on a small thread pool, each thread with its own `query_only` connection;
WAL mode lets them proceed while the writer commits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import queue
import sqlite3
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")
WriteFn = Callable[[sqlite3.Connection], Any]


class SchemaTooNew(Exception):
    """The database was written by a newer fedcoop than this one."""


class StorageBusy(Exception):
    """The writer could not get the database lock in time (answer 503 with Retry-After)."""


@dataclass
class _Job:
    fn: WriteFn
    loop: asyncio.AbstractEventLoop | None
    future: Any  # asyncio.Future, or concurrent.futures.Future for sync callers


_STOP = object()


def connect(
    path: Path | str, *, busy_timeout_ms: int, synchronous: str = "full", read_only: bool = False
) -> sqlite3.Connection:
    """Open a connection with the pragmas every fedcoop connection needs."""
    conn = sqlite3.connect(
        str(path), isolation_level=None, check_same_thread=False, timeout=busy_timeout_ms / 1000
    )
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
    conn.execute("PRAGMA foreign_keys = ON")
    if read_only:
        conn.execute("PRAGMA query_only = ON")
    else:
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if mode.lower() != "wal":
            raise RuntimeError(f"could not switch {path} to WAL (got {mode})")
        conn.execute(f"PRAGMA synchronous = {'FULL' if synchronous == 'full' else 'NORMAL'}")
    return conn


@contextlib.contextmanager
def owner_only_files() -> Iterator[None]:
    """Create files readable by their owner only (the database holds private keys)."""
    old = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(old)


class Database:
    def __init__(
        self,
        path: Path | str,
        *,
        busy_timeout_ms: int = 5000,
        read_pool_size: int = 4,
        synchronous: str = "full",
        max_batch: int = 128,
    ) -> None:
        self.path = Path(path)
        self.busy_timeout_ms = busy_timeout_ms
        self.synchronous = synchronous
        self.max_batch = max_batch
        self._read_pool_size = read_pool_size
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None
        self._readers: ThreadPoolExecutor | None = None
        self._local = threading.local()
        self._read_conns: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self.commits = 0  # group commits done, for tests and benchmarks

    # lifecycle -----------------------------------------------------------------------------
    def start(self) -> None:
        with owner_only_files():
            conn = self._connect()
        self._writer = threading.Thread(
            target=self._writer_loop, args=(conn,), name="fedcoop-db-writer", daemon=True
        )
        self._writer.start()
        self._readers = ThreadPoolExecutor(
            self._read_pool_size, thread_name_prefix="fedcoop-db-read"
        )

    def close(self) -> None:
        if self._writer is not None:
            self._queue.put(_STOP)
            self._writer.join()
            self._writer = None
        if self._readers is not None:
            self._readers.shutdown(wait=True)
            self._readers = None
        with self._lock:
            for conn in self._read_conns:
                conn.close()
            self._read_conns.clear()

    def _connect(self, read_only: bool = False) -> sqlite3.Connection:
        return connect(
            self.path,
            busy_timeout_ms=self.busy_timeout_ms,
            synchronous=self.synchronous,
            read_only=read_only,
        )

    # writes --------------------------------------------------------------------------------
    async def write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run `fn(conn)` in a write transaction; returns once it is durably committed."""
        if self._writer is None:
            raise RuntimeError("database not started")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._queue.put(_Job(fn, loop, future))
        return await future

    def write_sync(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Blocking write for command-line tools and worker threads."""
        if self._writer is None:
            with owner_only_files():
                conn = self._connect()
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    result = fn(conn)
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
                return result
            finally:
                conn.close()
        import concurrent.futures

        cfuture: concurrent.futures.Future[T] = concurrent.futures.Future()
        self._queue.put(_Job(fn, None, cfuture))
        return cfuture.result()

    def _writer_loop(self, conn: sqlite3.Connection) -> None:
        try:
            while True:
                first = self._queue.get()
                if first is _STOP:
                    return
                batch: list[_Job] = [first]
                stop_after = False
                while len(batch) < self.max_batch:
                    try:
                        item = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if item is _STOP:
                        stop_after = True
                        break
                    batch.append(item)
                self._run_batch(conn, batch)
                if stop_after:
                    return
        finally:
            conn.close()

    def _run_batch(self, conn: sqlite3.Connection, batch: list[_Job]) -> None:
        outcomes: list[tuple[bool, Any]] = []
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            log.warning("write lock not obtained: %s", exc)
            for job in batch:
                _resolve(job, False, StorageBusy(str(exc)))
            return
        for job in batch:
            conn.execute("SAVEPOINT job")
            try:
                result = job.fn(conn)
            except BaseException as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK TO job")
                    conn.execute("RELEASE job")
                outcomes.append((False, exc))
            else:
                conn.execute("RELEASE job")
                outcomes.append((True, result))
            if not conn.in_transaction:
                # A job destroyed the whole transaction (e.g. RAISE(ROLLBACK)): the earlier
                # jobs of the batch are gone too, so they fail rather than report success.
                break
        try:
            if conn.in_transaction:
                conn.execute("COMMIT")
            self.commits += 1
        except sqlite3.Error as exc:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            for job in batch:
                _resolve(job, False, StorageBusy(f"commit failed: {exc}"))
            return
        for i, job in enumerate(batch):
            if i < len(outcomes):
                _resolve(job, *outcomes[i])
            else:
                _resolve(job, False, StorageBusy("transaction aborted by an earlier write"))

    # reads ---------------------------------------------------------------------------------
    def _reader_conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect(read_only=True)
            self._local.conn = conn
            with self._lock:
                self._read_conns.append(conn)
        return conn

    def _run_read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        conn = self._reader_conn()
        # A read transaction gives `fn` one consistent snapshot across its queries.
        conn.execute("BEGIN")
        try:
            return fn(conn)
        finally:
            conn.execute("COMMIT")

    async def read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        if self._readers is None:
            raise RuntimeError("database not started")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._readers, self._run_read, fn)

    def read_sync(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        conn = self._connect(read_only=True)
        try:
            return fn(conn)
        finally:
            conn.close()


def _resolve(job: _Job, ok: bool, value: Any) -> None:
    if job.loop is None:
        if ok:
            job.future.set_result(value)
        else:
            job.future.set_exception(value)
        return

    def settle() -> None:
        if job.future.done():  # the caller went away (cancelled); the write still happened
            return
        if ok:
            job.future.set_result(value)
        else:
            job.future.set_exception(value)

    try:
        job.loop.call_soon_threadsafe(settle)
    except RuntimeError:  # loop closed: nobody is waiting any more
        pass
