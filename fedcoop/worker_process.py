"""`fedcoop worker`: an instance's background workers, without the web server.

The workers (inbox, outbox, delivery, proposal closer, review seals) normally run inside
`fedcoop serve`. With `server.workers = false`, `serve` answers HTTP only and this command
runs them, so the web process can be restarted without pausing deliveries, or the two can be
given different resources. Without the web process to wake them, the workers find new work
at their poll intervals (about a second for the outbox and deliveries, five for the inbox).

Exactly one process may run an instance's workers: the outbox publishes events in order, and
two publishers could reorder a Delete before its Create. `workers_lock()` holds an exclusive
`flock` on `DATA_DIR/workers.lock` for as long as the workers run; `serve` takes it too when
it runs them. The kernel drops the lock with the process, however it ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import signal
from collections.abc import Iterator
from pathlib import Path

from fedcoop.config import Settings, load_settings
from fedcoop.db.database import owner_only_files
from fedcoop.db.migrations import apply_migrations
from fedcoop.errors import UsageError
from fedcoop.uris import Uris

log = logging.getLogger("fedcoop.worker")

LOCK_FILE = "workers.lock"


@contextlib.contextmanager
def workers_lock(data_dir: Path) -> Iterator[None]:
    """Hold the instance's workers lock, or refuse (exit 2) when another process has it."""
    path = data_dir / LOCK_FILE
    try:
        with owner_only_files():
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise UsageError(f"cannot open {path}: {exc.strerror}") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UsageError(
                f"another process already runs the workers of {data_dir} (`fedcoop worker`, "
                "or `fedcoop serve` with server.workers = true)"
            ) from None
        except OSError as exc:  # a file system without locks
            raise UsageError(f"cannot lock {path}: {exc.strerror}") from None
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def run_worker(data_dir: Path) -> None:
    """Run the workers until SIGTERM or SIGINT."""
    settings = load_settings(data_dir)
    with workers_lock(data_dir):
        asyncio.run(_run(settings))


async def _run(settings: Settings) -> None:
    from fedcoop.app import build_federation, open_database
    from fedcoop.federation.runtime import build_workers

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    db = open_database(settings)
    db.write_sync(apply_migrations)  # as `serve` does: refuses a newer schema
    db.start()
    try:
        ctx = build_federation(
            settings, db, Uris(settings.instance.scheme, settings.instance.domain)
        )
        await ctx.http.start()
        try:
            workers = build_workers(ctx)
            workers.start()
            print(f"fedcoop workers running for {settings.base_url}", flush=True)
            await stop.wait()
            await workers.stop()
        finally:
            await ctx.http.close()
    finally:
        db.close()
    log.info("workers stopped")
