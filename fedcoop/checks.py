"""`fedcoop check`: what an admin wants verified before (re)starting an instance."""

from __future__ import annotations

import sqlite3
import stat
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from fedcoop.accounts.keys import ed25519_multibase
from fedcoop.config import describe_settings, load_settings
from fedcoop.db.database import connect
from fedcoop.db.migrations import current_version, latest_version
from fedcoop.errors import ConfigError


@dataclass(frozen=True)
class Finding:
    ok: bool
    message: str


def run_checks(data_dir: Path) -> list[Finding]:
    findings: list[Finding] = []
    try:
        settings = load_settings(data_dir)
    except ConfigError as exc:
        return [Finding(False, f"configuration: {exc}")]
    findings.append(
        Finding(
            True,
            f"configuration: {len(describe_settings())} settings valid; "
            f"instance {settings.base_url}",
        )
    )
    path = settings.database_path
    if not path.exists():
        return [*findings, Finding(False, f"database: {path} does not exist")]
    mode = stat.S_IMODE(path.stat().st_mode)
    findings.append(
        Finding(
            mode & 0o077 == 0,
            f"database file {path} mode {oct(mode)} "
            + (
                "(owner only)"
                if mode & 0o077 == 0
                else "is readable by others: it holds private keys, chmod 600 it"
            ),
        )
    )
    conn = connect(path, busy_timeout_ms=settings.database.busy_timeout_ms, read_only=True)
    try:
        findings.extend(_schema(conn))
        findings.extend(_keys(conn))
        integrity = conn.execute("PRAGMA quick_check").fetchone()[0]
        findings.append(Finding(integrity == "ok", f"database integrity: {integrity}"))
    finally:
        conn.close()
    return findings


def _schema(conn: sqlite3.Connection) -> list[Finding]:
    found, latest = current_version(conn), latest_version()
    if found > latest:
        return [
            Finding(
                False,
                f"schema version {found} is newer than this fedcoop ({latest}): "
                "upgrade fedcoop before serving",
            )
        ]
    if found < latest:
        return [Finding(True, f"schema version {found}; `fedcoop serve` will migrate to {latest}")]
    return [Finding(True, f"schema version {found} (current)")]


def _keys(conn: sqlite3.Connection) -> list[Finding]:
    rows = conn.execute(
        "SELECT actors.username, actors.type, actors.public_key_pem, actors.ed25519_multibase, "
        "actor_keys.rsa_private_pem, actor_keys.ed25519_private_pem FROM actors "
        "LEFT JOIN actor_keys ON actor_keys.actor_id = actors.id WHERE actors.local = 1"
    ).fetchall()
    bad = []
    for name, kind, public_pem, multibase, rsa_pem, ed_pem in rows:
        try:
            rsa_key = serialization.load_pem_private_key(rsa_pem.encode(), None)
            ed_key = serialization.load_pem_private_key(ed_pem.encode(), None)
            assert isinstance(rsa_key, rsa.RSAPrivateKey)
            assert isinstance(ed_key, ed25519.Ed25519PrivateKey)
            spki = (
                rsa_key.public_key()
                .public_bytes(
                    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
                )
                .decode()
            )
            raw = ed_key.public_key().public_bytes(
                serialization.Encoding.Raw, serialization.PublicFormat.Raw
            )
            if spki.strip() != public_pem.strip() or ed25519_multibase(raw) != multibase:
                bad.append(f"{name} ({kind}): public key does not match its private key")
            elif rsa_key.key_size < 2048:
                bad.append(f"{name} ({kind}): RSA key shorter than 2048 bits")
        except (AttributeError, ValueError, AssertionError, TypeError):
            bad.append(f"{name} ({kind}): missing or unreadable private key")
    has_instance = any(r[1] == "Application" for r in rows)
    out = [Finding(has_instance, "instance actor " + ("present" if has_instance else "MISSING"))]
    if bad:
        out.extend(Finding(False, f"keys: {b}") for b in bad)
    else:
        out.append(
            Finding(
                True,
                f"keys: {len(rows)} local actors, each with matching RSA and Ed25519 key pairs",
            )
        )
    return out
