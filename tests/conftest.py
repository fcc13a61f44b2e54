"""Shared fixtures: real instances in temporary data directories."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from fedcoop.config import Settings, load_settings
from fedcoop.provisioning import init_instance

ADMIN_PASSWORD = "correct horse battery"
_counter = itertools.count(1)


@pytest.fixture(autouse=True, scope="session")
def _cheaper_password_hashing() -> None:
    """Tests create hundreds of accounts. The production argon2id profile (64 MiB, t=3) costs
    0.1-0.3 s a hash on this machine; tests use argon2id with small parameters instead (hashes
    record their parameters, so verification is unchanged). Subprocess servers keep the real
    profile."""
    from argon2 import PasswordHasher

    from fedcoop.accounts import passwords

    passwords._hasher = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1)
    passwords._DUMMY_HASH = passwords._hasher.hash("fedcoop-dummy-password")


@pytest.fixture
def make_instance(tmp_path: Path) -> Callable[..., Settings]:
    """Create an instance the way `fedcoop init` does and return its settings."""

    def make(
        domain: str | None = None,
        *,
        coop: str = "velo",
        coop_title: str = "Vélo Coop",
        admin: str = "alice",
        password: str = ADMIN_PASSWORD,
        http: bool = True,
        allow_private_network: bool = True,
        extra: dict[str, dict[str, Any]] | None = None,
    ) -> Settings:
        n = next(_counter)
        data_dir = tmp_path / f"instance{n}"
        init_instance(
            data_dir,
            domain=domain or f"coop{n}.test",
            coop=coop,
            coop_title=coop_title,
            admin=admin,
            password=password,
            http=http,
            allow_private_network=allow_private_network,
            extra=extra,
        )
        return load_settings(data_dir, environ={})

    return make


@pytest.fixture
def settings(make_instance: Callable[..., Settings]) -> Settings:
    return make_instance()


@pytest.fixture
async def client(aiohttp_client: Any, settings: Settings) -> Any:
    from fedcoop.app import make_app

    return await aiohttp_client(make_app(settings))
