"""`fedcoop export` and `fedcoop import`: a person's data, out of one instance and into another.

`export` writes the signed JSON archive of `fedcoop.federation.archives` (one file, owner-only
permissions: it holds private notes). `import` reads it into an existing local account on this
instance, after checking every proof in it over the network (the signers' keys come from their
own servers); one failing proof and nothing is written. Both run beside a running server or
without one, like the other administration commands.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any, Final

from fedcoop import clock
from fedcoop.app import build_federation
from fedcoop.config import Settings, load_settings
from fedcoop.db import Database
from fedcoop.db.database import owner_only_files
from fedcoop.db.migrations import apply_migrations
from fedcoop.errors import UsageError
from fedcoop.federation.archives import (
    ArchiveRefused,
    RestoreSummary,
    build_archive,
    restore_archive,
    verify_archive,
)
from fedcoop.uris import Uris

MAX_ARCHIVE_BYTES: Final = 64 * 1024 * 1024


def _open(data_dir: Path) -> tuple[Settings, Database, Uris]:
    settings = load_settings(data_dir)
    db = Database(settings.database_path, busy_timeout_ms=settings.database.busy_timeout_ms)
    db.write_sync(apply_migrations)
    return settings, db, Uris(settings.instance.scheme, settings.instance.domain)


def export_user(data_dir: Path, username: str, output: Path | None = None) -> Path:
    """Write `username`'s signed archive; returns the file written."""
    _, db, uris = _open(data_dir)
    now = clock.now()
    archive = db.read_sync(lambda conn: build_archive(conn, uris, username, now))
    target = output or Path(f"{username}-{now.strftime('%Y%m%dT%H%M%SZ')}.fedcoop.json")
    with owner_only_files():
        target.write_text(json.dumps(archive, ensure_ascii=False, indent=1), encoding="utf-8")
    os.chmod(target, 0o600)
    return target


def read_archive(path: Path) -> Any:
    try:
        if path.stat().st_size > MAX_ARCHIVE_BYTES:
            raise UsageError(f"{path} is larger than {MAX_ARCHIVE_BYTES} bytes")
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None
    except ValueError:
        raise UsageError(f"{path} is not a JSON archive") from None


async def import_archive(data_dir: Path, username: str, path: Path) -> RestoreSummary:
    """Verify every proof of the archive at `path`, then restore it into `username`."""
    archive = read_archive(path)
    settings, db, uris = _open(data_dir)
    db.start()
    ctx = build_federation(settings, db, uris)
    await ctx.http.start()
    try:
        try:
            verified = await verify_archive(ctx, archive)
        except ArchiveRefused as exc:
            raise UsageError(f"archive refused, nothing imported: {exc}") from None
        return await db.write(lambda conn: restore_archive(conn, uris, username, verified))
    finally:
        await ctx.http.close()
        db.close()


def run_import(data_dir: Path, username: str, path: Path) -> RestoreSummary:
    return asyncio.run(import_archive(data_dir, username, path))
