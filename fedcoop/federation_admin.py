"""`fedcoop federation …`: block, unblock and allow domains, and list the policy.

These write the database directly, beside a running server or without one; the server's
policy cache picks a change up within seconds (`fedcoop.federation.policy`). Domains are
normalised like every host (lower case, punycode, no trailing dot), so `Evil.COM.` and
`evil.com` are one rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fedcoop.activitypub.hosts import HostError, normalise_host
from fedcoop.config import Settings, load_settings
from fedcoop.db import Database
from fedcoop.db.migrations import apply_migrations
from fedcoop.errors import NotFound, UsageError
from fedcoop.social import domain_policies
from fedcoop.social.domain_policies import DomainPolicy


@dataclass(frozen=True)
class PolicyListing:
    mode: str
    policies: list[DomainPolicy]


def _open(data_dir: Path) -> tuple[Settings, Database]:
    settings = load_settings(data_dir)
    db = Database(settings.database_path, busy_timeout_ms=settings.database.busy_timeout_ms)
    db.write_sync(apply_migrations)
    return settings, db


def _domain(settings: Settings, value: str) -> str:
    try:
        domain = normalise_host(value.strip())
    except HostError as exc:
        raise UsageError(f"not a domain: {exc}") from None
    own = normalise_host(settings.instance.domain, scheme=settings.instance.scheme)
    if domain == own:
        raise UsageError(f"{domain} is this instance's own domain")
    return domain


def block_domain(data_dir: Path, domain: str, *, reason: str = "") -> DomainPolicy:
    """Refuse all federation with `domain` and its subdomains."""
    settings, db = _open(data_dir)
    name = _domain(settings, domain)
    return db.write_sync(lambda conn: domain_policies.set_policy(conn, name, "block", reason))


def unblock_domain(data_dir: Path, domain: str) -> str:
    settings, db = _open(data_dir)
    name = _domain(settings, domain)
    if not db.write_sync(lambda conn: domain_policies.remove_policy(conn, name, "block")):
        raise NotFound(f"{name} is not blocked", field="domain")
    return name


def allow_domain(data_dir: Path, domain: str, *, reason: str = "") -> DomainPolicy:
    """Allow `domain` and its subdomains (what `federation.mode = "allowlist"` lets through);
    replaces a block of exactly that domain."""
    settings, db = _open(data_dir)
    name = _domain(settings, domain)
    return db.write_sync(lambda conn: domain_policies.set_policy(conn, name, "allow", reason))


def list_domains(data_dir: Path) -> PolicyListing:
    settings, db = _open(data_dir)
    return PolicyListing(settings.federation.mode, db.read_sync(domain_policies.list_policies))
