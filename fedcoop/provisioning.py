"""Instance operations behind the command line: create an instance, add users and coops.

These run without the server (or beside it: SQLite's busy timeout lets both write).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fedcoop.accounts import accounts, coops
from fedcoop.accounts.instance import bootstrap
from fedcoop.config import CONFIG_FILE, Settings, load_settings, validate_domain, write_config
from fedcoop.db import Database
from fedcoop.db.database import owner_only_files
from fedcoop.db.migrations import apply_migrations
from fedcoop.errors import NotFound, UsageError
from fedcoop.gigs import skills
from fedcoop.uris import Uris


@dataclass(frozen=True)
class InitResult:
    config_path: Path
    domain: str
    base_url: str
    instance_actor_uri: str


def init_instance(
    data_dir: Path,
    *,
    domain: str,
    coop: str,
    coop_title: str,
    admin: str,
    password: str,
    http: bool = False,
    allow_private_network: bool = False,
    extra: dict[str, Any] | None = None,
) -> InitResult:
    """Create DATA_DIR/fedcoop.toml, the database, the instance actor, the coop and its admin."""
    if (data_dir / CONFIG_FILE).exists():
        raise UsageError(f"{data_dir / CONFIG_FILE} already exists: this instance is set up")
    domain = validate_domain(domain)
    with owner_only_files():
        data_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(data_dir, 0o700)
    scheme = "http" if http else "https"
    values: dict[str, dict[str, Any]] = {
        "instance": {
            "domain": domain,
            "scheme": scheme,
            "name": coop_title or coop,
            "allow_private_network": allow_private_network,
        },
        # The password grant is what toot's login_cli uses; on by default in development only.
        "auth": {"password_grant": http},
    }
    for section, body in (extra or {}).items():
        values.setdefault(section, {}).update(body)
    uris = Uris(scheme, domain)
    # Validate everything (names, password) in one transaction before writing the config, so
    # a refused init leaves no half-made instance behind.
    db = Database(data_dir / "fedcoop.sqlite3")
    try:

        def create(conn: Any) -> Any:
            apply_migrations(conn)
            made = bootstrap(
                conn,
                uris,
                coop_name=coop,
                coop_title=coop_title or coop,
                admin_username=admin,
                admin_password=password,
            )
            skills.ensure_shipped(conn, uris)
            return made

        made = db.write_sync(create)
    except Exception:
        for suffix in ("", "-wal", "-shm"):
            (data_dir / f"fedcoop.sqlite3{suffix}").unlink(missing_ok=True)
        raise
    with owner_only_files():
        config_path = write_config(data_dir, values)
    return InitResult(config_path, domain, uris.base, made.instance_actor.uri)


def _open(data_dir: Path) -> tuple[Settings, Database, Uris]:
    settings = load_settings(data_dir)
    db = Database(settings.database_path, busy_timeout_ms=settings.database.busy_timeout_ms)
    db.write_sync(apply_migrations)
    return settings, db, Uris(settings.instance.scheme, settings.instance.domain)


def add_user(
    data_dir: Path, username: str, password: str, *, role: str = "member", display_name: str = ""
) -> accounts.Account:
    _, db, uris = _open(data_dir)
    return db.write_sync(
        lambda conn: accounts.create_account(
            conn, uris, username, password, role=role, display_name=display_name
        )
    )


def list_users(data_dir: Path) -> list[accounts.Account]:
    _, db, _ = _open(data_dir)
    return db.read_sync(accounts.list_accounts)


def add_coop(
    data_dir: Path, name: str, *, title: str, admin: str, admission: str = "approval"
) -> coops.Coop:
    _, db, uris = _open(data_dir)

    def create(conn: Any) -> coops.Coop:
        account = accounts.get_account_by_username(conn, admin)
        if account is None:
            raise NotFound(f"no account named {admin!r}", field="admin")
        return coops.create_coop(
            conn, uris, name, title=title, admission=admission, admin_actor_id=account.actor_id
        )

    return db.write_sync(create)


def list_coops(data_dir: Path) -> list[coops.Coop]:
    _, db, _ = _open(data_dir)
    return db.read_sync(coops.list_coops)
