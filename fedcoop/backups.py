"""`fedcoop backup`: a consistent copy of a running instance, ready to serve from.

A backup is a directory holding what an instance's data directory holds: `fedcoop.toml` and
`fedcoop.sqlite3`. The database is copied with SQLite's online backup API, page by page, so
the copy is one consistent snapshot even while `fedcoop serve` keeps writing (a plain `cp` of
a WAL database can catch it between a commit and its checkpoint). The copy is then checked
(`PRAGMA integrity_check`) and its schema version read back. Restoring is copying the
directory back and starting `fedcoop serve --data-dir` on it.

Everything is created readable by its owner only: the database holds private keys.
"""

from __future__ import annotations

import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from fedcoop import clock
from fedcoop.config import CONFIG_FILE, load_settings
from fedcoop.db.database import connect, owner_only_files
from fedcoop.db.migrations import current_version
from fedcoop.errors import UsageError

# Pages copied per step: small steps let `serve` keep writing while the copy runs.
PAGES_PER_STEP = 1024


@dataclass(frozen=True)
class BackupResult:
    directory: Path
    database_bytes: int
    schema_version: int


def default_target(data_dir: Path) -> Path:
    stamp = clock.now().strftime("%Y%m%dT%H%M%SZ")
    return data_dir.parent / f"{data_dir.name}-backup-{stamp}"


def back_up(data_dir: Path, target: Path | None = None) -> BackupResult:
    """Copy the instance in `data_dir` into the new directory `target` (never overwritten)."""
    settings = load_settings(data_dir)  # also refuses a directory without an instance
    source_path = settings.database_path
    if not source_path.exists():
        raise UsageError(f"no database at {source_path}: is this an instance's data directory?")
    target = target or default_target(data_dir)
    if target.exists():
        raise UsageError(f"{target} already exists: a backup never overwrites anything")
    with owner_only_files():
        target.mkdir(parents=True)
        shutil.copyfile(data_dir / CONFIG_FILE, target / CONFIG_FILE)
        copy_path = target / source_path.name
        source = connect(
            source_path, busy_timeout_ms=settings.database.busy_timeout_ms, read_only=True
        )
        try:
            copy = sqlite3.connect(copy_path)
            try:
                source.backup(copy, pages=PAGES_PER_STEP)
                # One file, no -wal beside it: the copy restores by copying the directory.
                copy.execute("PRAGMA journal_mode = DELETE")
                integrity = copy.execute("PRAGMA integrity_check").fetchone()[0]
                version = current_version(copy)
            finally:
                copy.close()
        finally:
            source.close()
    if integrity != "ok":
        raise UsageError(f"the copy in {target} failed its integrity check: {integrity}")
    return BackupResult(target, copy_path.stat().st_size, version)
