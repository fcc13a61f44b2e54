"""Where the steering repo's `shared/` folder is: `$FEDCOOP_SHARED_DIR`, else beside the
checkout (CI lays it there). Tests that need its files fail, never skip, when it is missing:
a skipped vector test would look green."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def shared_dir() -> Path:
    return Path(os.environ.get("FEDCOOP_SHARED_DIR") or ROOT.parent / "shared")


def vectors_dir() -> Path:
    return Path(os.environ.get("FEDCOOP_VECTORS") or shared_dir() / "vectors")
