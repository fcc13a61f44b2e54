"""docs/ARCHITECTURE.md lists every module, with the first sentence of its docstring."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_package_map_is_current() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen_architecture.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_module_has_a_docstring() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen_architecture.py")],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "(no docstring)" not in result.stdout
