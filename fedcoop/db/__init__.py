"""SQLite plumbing: one writer thread with group commit, a read pool, numbered migrations."""

from fedcoop.db.database import Database, SchemaTooNew, StorageBusy

__all__ = ["Database", "SchemaTooNew", "StorageBusy"]
