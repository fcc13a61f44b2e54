"""One SQLite file per instance: a single writer thread, a read pool, nothing on the event loop.

Why one writer: SQLite allows one writer at a time anyway, and a single thread that owns the
write connection can commit several queued writes in one transaction (group commit), so an
inbox that must be durable before answering 202 pays one fsync for many requests. Each write
runs inside its own SAVEPOINT, so one failing write rolls back alone and the others still
commit. Batched writes (`write_batched`, the inbox's) that arrive together are handed to their
function as one list, so that it can store them all with one statement; a batch of nothing
else is that one statement in autocommit mode. Statements are what the writer counts: each
one releases the GIL while SQLite works and must win it back from the event loop after.
Reads run on a small thread pool, each thread with its own `query_only` connection; WAL mode
lets them proceed while the writer commits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import queue
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

log = logging.getLogger(__name__)

# Most arguments a batched write's function gets at once: a multi-row statement of 64 rows
# of up to 15 values stays under SQLite's smallest limit on bound values (999).
MAX_GROUP = 64

T = TypeVar("T")
A = TypeVar("A")
WriteFn = Callable[[sqlite3.Connection], Any]
ManyFn = Callable[[sqlite3.Connection, list[Any]], Sequence[Any]]


class SchemaTooNew(Exception):
    """The database was written by a newer fedcoop than this one."""


class StorageBusy(Exception):
    """The writer could not get the database lock in time (answer 503 with Retry-After)."""


@dataclass
class _Job:
    fn: WriteFn | None
    loop: asyncio.AbstractEventLoop | None
    future: Any  # asyncio.Future, or concurrent.futures.Future for sync callers
    many: ManyFn | None = None  # for a batched write: the function, and its argument
    arg: Any = None


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
        # Jobs, lists of jobs (an event loop's, handed over together) or _STOP.
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._pending: dict[asyncio.AbstractEventLoop, list[_Job]] = {}
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
            for loop in list(self._pending):  # writes queued this turn still run
                self._hand_over(loop)
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
        return await self._submit(fn, None, None)

    async def write_batched(
        self, fn: Callable[[sqlite3.Connection, list[A]], Sequence[T]], arg: A
    ) -> T:
        """Write `arg` with `fn`; returns `fn`'s result for it once it is durably committed.

        Batched writes with the same `fn` that the writer takes together are passed to `fn` as
        one list (of at most `MAX_GROUP`), and `fn` returns one result per argument, in order.
        This is for hot paths that write many similar rows (the inbox): `fn` stores them all
        with one statement. `fn` must change the database with that single statement only (it
        may read around it), so that a failure leaves nothing half-written without a
        savepoint; when it fails for a group, each argument is tried again alone, so only a bad
        one fails.
        """
        return await self._submit(None, fn, arg)

    async def _submit(self, fn: WriteFn | None, many: ManyFn | None, arg: Any) -> Any:
        if self._writer is None:
            raise RuntimeError("database not started")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        pending = self._pending.get(loop)
        if pending is None:
            # Handed over once this turn of the loop is done: waking the writer thread costs
            # the loop a GIL hand-off, so the writes of one turn share one.
            pending = self._pending[loop] = []
            loop.call_soon(self._hand_over, loop)
        pending.append(_Job(fn, loop, future, many, arg))
        return await future

    def _hand_over(self, loop: asyncio.AbstractEventLoop) -> None:
        jobs = self._pending.pop(loop, None)
        if jobs:  # (close() may have handed them over already)
            self._queue.put(jobs)

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
                batch: list[_Job] = first if isinstance(first, list) else [first]
                stop_after = False
                while len(batch) < self.max_batch:
                    try:
                        item = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if item is _STOP:
                        stop_after = True
                        break
                    if isinstance(item, list):
                        batch += item
                    else:
                        batch.append(item)
                try:
                    self._run_batch(conn, batch)
                except Exception as exc:  # a bug here must not kill the only writer
                    log.exception("write batch failed")
                    with contextlib.suppress(sqlite3.Error):
                        if conn.in_transaction:
                            conn.execute("ROLLBACK")
                    _resolve_all(
                        [(job, False, StorageBusy(f"write failed: {exc}")) for job in batch]
                    )
                if stop_after:
                    return
        finally:
            conn.close()

    def _run_batch(self, conn: sqlite3.Connection, batch: list[_Job]) -> None:
        many = batch[0].many
        if many is not None and all(job.many is many for job in batch):
            self._run_lone_group(conn, many, batch)
            return
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            log.warning("write lock not obtained: %s", exc)
            _resolve_all([(job, False, StorageBusy(str(exc))) for job in batch])
            return
        outcomes: list[tuple[bool, Any]] = []
        start = 0
        while start < len(batch) and conn.in_transaction:
            # A plain write runs alone; consecutive batched writes with one function, together.
            many, end = batch[start].many, start + 1
            while many is not None and end < len(batch) and batch[end].many is many:
                end += 1
            outcomes += self._run_jobs(conn, batch[start:end])
            start = end
        if not conn.in_transaction:
            # A write destroyed the whole transaction (e.g. RAISE(ROLLBACK)): the writes before
            # it are gone too, so they fail rather than report success.
            aborted = "transaction aborted by another write"
            _resolve_all(
                [
                    (job, False, outcomes[i][1])
                    if i < len(outcomes) and not outcomes[i][0]
                    else (job, False, StorageBusy(aborted))
                    for i, job in enumerate(batch)
                ]
            )
            return
        try:
            conn.execute("COMMIT")
            self.commits += 1
        except sqlite3.Error as exc:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            _resolve_all([(job, False, StorageBusy(f"commit failed: {exc}")) for job in batch])
            return
        _resolve_all([(job, *outcome) for job, outcome in zip(batch, outcomes, strict=True)])

    def _run_lone_group(self, conn: sqlite3.Connection, many: ManyFn, batch: list[_Job]) -> None:
        """A batch that is one group of batched writes (the inbox under load): its one
        statement runs in autocommit mode, so it commits by itself, sparing the writer the
        BEGIN and COMMIT statements and their two trips through the GIL."""
        outcomes = self._run_group(conn, many, batch, autocommit=True)
        self.commits += 1
        _resolve_all([(job, *outcome) for job, outcome in zip(batch, outcomes, strict=True)])

    def _run_jobs(self, conn: sqlite3.Connection, jobs: list[_Job]) -> list[tuple[bool, Any]]:
        """Run one plain write inside a savepoint, or one group of batched writes.

        A batched write's function changes the database with a single statement, which SQLite
        undoes by itself when it fails, so the group needs no savepoint: every statement the
        writer runs costs it a trip through the GIL, and under load that trip is the larger
        part of a commit's latency.
        """
        first = jobs[0]
        if first.many is not None:
            return self._run_group(conn, first.many, jobs)
        assert first.fn is not None
        conn.execute("SAVEPOINT job")
        try:
            result = first.fn(conn)
        except BaseException as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK TO job")
                conn.execute("RELEASE job")
            return [(False, exc)]
        if conn.in_transaction:  # else the write ended the transaction itself: see _run_batch
            conn.execute("RELEASE job")
        return [(True, result)]

    def _run_group(
        self, conn: sqlite3.Connection, many: ManyFn, jobs: list[_Job], *, autocommit: bool = False
    ) -> list[tuple[bool, Any]]:
        """Run `many` over the group's arguments; if it fails, each one alone.

        In a transaction, a failure that ended the transaction leaves nothing to retry. In
        autocommit mode, each statement is its own transaction: a lock that cannot be had
        fails every write of the group as busy (nothing was written).
        """
        if len(jobs) > MAX_GROUP:
            return [
                outcome
                for start in range(0, len(jobs), MAX_GROUP)
                for outcome in self._run_group(
                    conn, many, jobs[start : start + MAX_GROUP], autocommit=autocommit
                )
            ]
        try:
            results = many(conn, [job.arg for job in jobs])
            if len(results) != len(jobs):
                raise RuntimeError(f"{len(results)} results for {len(jobs)} batched writes")
        except BaseException as exc:
            if autocommit and _is_lock_error(exc):
                return [(False, StorageBusy(str(exc))) for _ in jobs]
            if len(jobs) == 1 or not (autocommit or conn.in_transaction):
                return [(False, exc)] * len(jobs)
            alone: list[tuple[bool, Any]] = []
            for job in jobs:  # find the bad one: every other write of the group still commits
                if not (autocommit or conn.in_transaction):
                    alone.append((False, StorageBusy("transaction aborted by another write")))
                    continue
                alone += self._run_group(conn, many, [job], autocommit=autocommit)
            return alone
        return [(True, result) for result in results]

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


def _is_lock_error(exc: BaseException) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    return (
        isinstance(exc, sqlite3.OperationalError)
        and code is not None
        and code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    )


def _resolve_all(results: list[tuple[_Job, bool, Any]]) -> None:
    """Hand each job its outcome: one wake-up per event loop for the whole batch.

    Every `call_soon_threadsafe` writes to the loop's self-pipe and costs the loop a wake-up;
    settling a batch of 30 inbox writes in one callback keeps that cost per commit, not per
    write.
    """
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[_Job, bool, Any]]] = {}
    for job, ok, value in results:
        if job.loop is None:
            _settle(job, ok, value)
        else:
            by_loop.setdefault(job.loop, []).append((job, ok, value))
    for loop, settled in by_loop.items():
        try:
            loop.call_soon_threadsafe(_settle_each, settled)
        except RuntimeError:  # loop closed: nobody is waiting any more
            pass


def _settle_each(results: list[tuple[_Job, bool, Any]]) -> None:
    for job, ok, value in results:
        _settle(job, ok, value)


def _settle(job: _Job, ok: bool, value: Any) -> None:
    if job.future.done():  # the caller went away (cancelled); the write still happened
        return
    if ok:
        job.future.set_result(value)
    else:
        job.future.set_exception(value)
