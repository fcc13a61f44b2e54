"""Frozen settings from `DATA_DIR/fedcoop.toml`, overridden by `FEDCOOP_<SECTION>_<KEY>`.

Each setting is a dataclass field whose metadata carries its documentation and constraints, so
the loader, the validation messages and the settings reference (docs/SETTINGS.md, checked by a
test) all come from one place. Loading does no work beyond reading the file: nothing at import.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_type_hints

import tomli_w

from fedcoop.errors import ConfigError

CONFIG_FILE = "fedcoop.toml"
ENV_PREFIX = "FEDCOOP_"
_HOST_RE = re.compile(r"^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]{1,5})?$")


def _doc(text: str, **extra: Any) -> dict[str, Any]:
    return {"doc": text, **extra}


@dataclass(frozen=True)
class InstanceSettings:
    domain: str = field(
        default="",
        metadata=_doc(
            "Host (with `:PORT` when not the default one) in every id this instance mints. "
            "Never change it once the instance has federated.",
            required=True,
        ),
    )
    scheme: str = field(
        default="https",
        metadata=_doc(
            "`https`, or `http` for local development federations only.", choices=("https", "http")
        ),
    )
    name: str = field(default="fedcoop", metadata=_doc("Human name of the instance."))
    description: str = field(
        default="A fedcoop instance.",
        metadata=_doc("Short description shown in instance metadata."),
    )
    contact_email: str = field(default="", metadata=_doc("Contact address shown to other admins."))
    allow_private_network: bool = field(
        default=False,
        metadata=_doc(
            "Allow fetching from and delivering to loopback and private addresses (local "
            "federations and tests only)."
        ),
    )
    open_registrations: bool = field(
        default=False, metadata=_doc("Whether anyone may create an account (NodeInfo says so).")
    )


@dataclass(frozen=True)
class ServerSettings:
    bind: str = field(default="127.0.0.1", metadata=_doc("Address `fedcoop serve` listens on."))
    port: int = field(
        default=8080, metadata=_doc("Port `fedcoop serve` listens on.", min=1, max=65535)
    )
    trust_proxy: bool = field(
        default=False,
        metadata=_doc("Trust `X-Forwarded-For` from the reverse proxy for client addresses."),
    )
    workers: bool = field(
        default=True,
        metadata=_doc(
            "Run the background workers (inbox, outbox, delivery, ...) inside `fedcoop serve`;"
            " false to run them in their own process with `fedcoop worker`."
        ),
    )


@dataclass(frozen=True)
class DatabaseSettings:
    path: str = field(
        default="fedcoop.sqlite3",
        metadata=_doc("SQLite file, relative to the data directory unless absolute."),
    )
    busy_timeout_ms: int = field(
        default=5000, metadata=_doc("How long a connection waits for a lock (ms).", min=0)
    )
    read_pool_size: int = field(
        default=4, metadata=_doc("Threads (and connections) serving reads.", min=1, max=64)
    )
    synchronous: str = field(
        default="full",
        metadata=_doc(
            "SQLite `synchronous` pragma: `full` survives power loss, `normal` survives a "
            "process crash only.",
            choices=("full", "normal"),
        ),
    )
    max_batch: int = field(
        default=128,
        metadata=_doc("Most writes committed together in one group commit.", min=1, max=10000),
    )


@dataclass(frozen=True)
class AuthSettings:
    password_grant: bool = field(
        default=False,
        metadata=_doc(
            "Allow the OAuth password grant (toot's `login_cli` needs it). `fedcoop init --http` "
            "turns it on; keep it off on a public instance."
        ),
    )
    session_days: int = field(
        default=30, metadata=_doc("Days a browser sign-in stays valid.", min=1, max=366)
    )
    signin_max_failures: int = field(
        default=5,
        metadata=_doc("Failed sign-ins per account or address before answering 429.", min=1),
    )
    signin_window_seconds: int = field(
        default=300, metadata=_doc("Window over which failed sign-ins are counted.", min=1)
    )
    token_days: int = field(
        default=0, metadata=_doc("Days an OAuth access token lives; 0 means until revoked.", min=0)
    )


@dataclass(frozen=True)
class FederationSettings:
    mode: str = field(
        default="open",
        metadata=_doc(
            "`open` federates with every host not blocked; `allowlist` only with allowed hosts.",
            choices=("open", "allowlist"),
        ),
    )
    authorized_fetch: bool = field(
        default=False,
        metadata=_doc(
            "Serve objects only to signed GETs (actors, keys, WebFinger and NodeInfo stay public)."
        ),
    )
    max_body_bytes: int = field(
        default=1024 * 1024, metadata=_doc("Largest inbox body or fetched document.", min=1024)
    )
    user_agent_contact: str = field(
        default="", metadata=_doc("Appended to the User-Agent of outgoing requests.")
    )


@dataclass(frozen=True)
class DeliverySettings:
    concurrency: int = field(
        default=32,
        metadata=_doc("Most deliveries the delivery worker sends at once.", min=1, max=1000),
    )
    per_host: int = field(
        default=4,
        metadata=_doc(
            "Most deliveries sent at once to one remote host (the HTTP client allows 8).",
            min=1,
            max=8,
        ),
    )


@dataclass(frozen=True)
class ApiSettings:
    rate_limit: int = field(
        default=300,
        metadata=_doc(
            "Requests one token (or, without a token, one address) may make to the Mastodon "
            "client API per window; the `X-RateLimit-*` headers report it.",
            min=1,
        ),
    )
    rate_limit_window_seconds: int = field(
        default=300, metadata=_doc("Length of the client API's rate-limit window.", min=1)
    )


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    instance: InstanceSettings
    server: ServerSettings
    database: DatabaseSettings
    auth: AuthSettings
    federation: FederationSettings
    delivery: DeliverySettings = field(default_factory=DeliverySettings)
    api: ApiSettings = field(default_factory=ApiSettings)

    @property
    def database_path(self) -> Path:
        p = Path(self.database.path)
        return p if p.is_absolute() else self.data_dir / p

    @property
    def base_url(self) -> str:
        return f"{self.instance.scheme}://{self.instance.domain}"


SECTIONS: dict[str, type] = {
    "instance": InstanceSettings,
    "server": ServerSettings,
    "database": DatabaseSettings,
    "auth": AuthSettings,
    "federation": FederationSettings,
    "delivery": DeliverySettings,
    "api": ApiSettings,
}


@dataclass(frozen=True)
class SettingDoc:
    section: str
    key: str
    type_name: str
    default: Any
    doc: str

    @property
    def env_var(self) -> str:
        return f"{ENV_PREFIX}{self.section.upper()}_{self.key.upper()}"


def describe_settings() -> list[SettingDoc]:
    """Every setting, for the reference in docs/SETTINGS.md and `fedcoop check`."""
    out = []
    for section, cls in SECTIONS.items():
        hints = get_type_hints(cls)
        for f in dataclasses.fields(cls):
            out.append(
                SettingDoc(section, f.name, hints[f.name].__name__, f.default, f.metadata["doc"])
            )
    return out


def _parse(
    section: str, key: str, raw: Any, typ: type, meta: Mapping[str, Any], source: str
) -> Any:
    name = f"{section}.{key}"
    where = f"{name} (from {source})"
    if typ is bool:
        if isinstance(raw, bool):
            value: Any = raw
        elif isinstance(raw, str) and raw.lower() in ("1", "true", "yes", "on"):
            value = True
        elif isinstance(raw, str) and raw.lower() in ("0", "false", "no", "off"):
            value = False
        else:
            raise ConfigError(f"{where}: expected true or false, got {raw!r}")
    elif typ is int:
        if isinstance(raw, bool):
            raise ConfigError(f"{where}: expected a whole number, got {raw!r}")
        try:
            value = int(raw)
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: expected a whole number, got {raw!r}") from None
        if "min" in meta and value < meta["min"]:
            raise ConfigError(f"{where}: must be at least {meta['min']}, got {value}")
        if "max" in meta and value > meta["max"]:
            raise ConfigError(f"{where}: must be at most {meta['max']}, got {value}")
    else:
        if not isinstance(raw, str):
            raise ConfigError(f"{where}: expected a string, got {raw!r}")
        value = raw
        if "choices" in meta and value not in meta["choices"]:
            choices = ", ".join(meta["choices"])
            raise ConfigError(f"{where}: must be one of {choices}, got {value!r}")
    return value


def validate_domain(domain: str) -> str:
    """Normalise and check a `HOST[:PORT]` string; raise ConfigError naming what is wrong."""
    d = domain.strip().lower().rstrip(".")
    if not d or not _HOST_RE.match(d):
        raise ConfigError(f"instance.domain: {domain!r} is not a host name with an optional :PORT")
    if ":" in d:
        port = d.rsplit(":", 1)[1]
        if not 0 < int(port) < 65536:
            raise ConfigError(f"instance.domain: port {port} is out of range")
    return d


def load_settings(data_dir: Path | str, environ: Mapping[str, str] | None = None) -> Settings:
    """Read DATA_DIR/fedcoop.toml, apply FEDCOOP_* overrides, validate every value."""
    data_dir = Path(data_dir)
    env = os.environ if environ is None else environ
    path = data_dir / CONFIG_FILE
    try:
        with path.open("rb") as fh:
            document = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"no {CONFIG_FILE} in {data_dir} (run `fedcoop init` first)") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    for section, body in document.items():
        if section not in SECTIONS:
            raise ConfigError(f"{section}: unknown section in {path}")
        if not isinstance(body, dict):
            raise ConfigError(f"{section}: expected a table in {path}")
    sections: dict[str, Any] = {}
    for section, cls in SECTIONS.items():
        hints = get_type_hints(cls)
        body = document.get(section, {})
        known = {f.name for f in dataclasses.fields(cls)}
        for key in body:
            if key not in known:
                raise ConfigError(f"{section}.{key}: unknown setting in {path}")
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            env_name = f"{ENV_PREFIX}{section.upper()}_{f.name.upper()}"
            if env_name in env:
                raw, source = env[env_name], env_name
            elif f.name in body:
                raw, source = body[f.name], str(path)
            else:
                continue
            values[f.name] = _parse(section, f.name, raw, hints[f.name], f.metadata, source)
        sections[section] = cls(**values)
    instance: InstanceSettings = sections["instance"]
    if not instance.domain:
        raise ConfigError("instance.domain: required, and missing")
    sections["instance"] = dataclasses.replace(instance, domain=validate_domain(instance.domain))
    return Settings(data_dir=data_dir, **sections)


def write_config(data_dir: Path, values: Mapping[str, Mapping[str, Any]]) -> Path:
    """Write a new fedcoop.toml holding `values` (section -> key -> value)."""
    path = data_dir / CONFIG_FILE
    header = "# fedcoop settings: see docs/SETTINGS.md. FEDCOOP_<SECTION>_<KEY> overrides a key.\n"
    path.write_text(header + tomli_w.dumps({k: dict(v) for k, v in values.items()}))
    return path
