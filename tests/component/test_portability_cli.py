"""`fedcoop export` and `fedcoop import` as an admin runs them (across instances, with reviews:
tests/federation/test_review_federation.py)."""

from __future__ import annotations

import json
import sqlite3
import stat
from pathlib import Path
from typing import Any

import pytest

from fedcoop.cli import main
from fedcoop.config import Settings


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_export_writes_a_signed_private_archive_that_import_checks(
    capsys: pytest.CaptureFixture[str], settings: Settings, tmp_path: Path
) -> None:
    data_dir = str(settings.data_dir)
    archive = tmp_path / "alice.json"
    # Given alice's archive
    code, out, _ = run(capsys, "export", "--data-dir", data_dir, "alice", "--output", str(archive))
    assert code == 0 and "alice" in out
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600
    doc: dict[str, Any] = json.loads(archive.read_text())
    assert doc["format"] == "https://fedcoop.org/ns/archive/1"
    assert doc["proof"]["cryptosuite"] == "eddsa-jcs-2022"
    assert doc["actor"]["preferredUsername"] == "alice"
    # when it is changed after signing, import refuses it and writes nothing
    run(capsys, "user", "add", "--data-dir", data_dir, "alice2", "--password-file", _pw(tmp_path))
    doc["actor"]["name"] = "Mallory"
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps(doc))
    code, _, err = run(capsys, "import", "--data-dir", data_dir, "alice2", str(tampered))
    assert code == 2 and "refused" in err and "does not verify" in err
    # the genuine one is taken: alice2 lists alice as its former account
    code, out, _ = run(capsys, "import", "--data-dir", data_dir, "alice2", str(archive))
    assert code == 0 and "every proof verified" in out
    with sqlite3.connect(settings.database_path) as conn:
        (aliases,) = conn.execute(
            "SELECT also_known_as FROM actors WHERE username = 'alice2'"
        ).fetchone()
    assert json.loads(aliases) == [doc["actor"]["id"]]
    code, _, err = run(capsys, "import", "--data-dir", data_dir, "alice2", str(tmp_path / "no"))
    assert code == 2 and "cannot read" in err


def _pw(tmp_path: Path) -> str:
    path = tmp_path / "pw"
    path.write_text("password-alice2-1\n")
    return str(path)
