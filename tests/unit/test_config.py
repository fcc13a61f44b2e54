"""Settings: fedcoop.toml, FEDCOOP_<SECTION>_<KEY> overrides, and errors that name the key."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from fedcoop.config import SECTIONS, describe_settings, load_settings, validate_domain
from fedcoop.errors import ConfigError

MINIMAL = '[instance]\ndomain = "coop.example"\n'


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "fedcoop.toml").write_text(text)
    return tmp_path


# values and where they come from ----------------------------------------------------------------
def test_defaults_apply_when_neither_file_nor_environment_sets_a_key(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, MINIMAL), environ={})

    assert settings.server.port == 8080
    assert settings.instance.scheme == "https"
    assert settings.auth.password_grant is False
    assert settings.base_url == "https://coop.example"
    assert settings.database_path == tmp_path / "fedcoop.sqlite3"


def test_the_file_sets_values_with_their_types(tmp_path: Path) -> None:
    text = MINIMAL + (
        'scheme = "http"\n[server]\nport = 9000\ntrust_proxy = true\n'
        '[database]\npath = "/var/lib/fedcoop/db.sqlite3"\nsynchronous = "normal"\n'
    )
    settings = load_settings(write(tmp_path, text), environ={})

    assert settings.server.port == 9000
    assert settings.server.trust_proxy is True
    assert settings.database.synchronous == "normal"
    assert settings.database_path == Path("/var/lib/fedcoop/db.sqlite3")
    assert settings.base_url == "http://coop.example"


def test_an_environment_override_wins_over_the_file(tmp_path: Path) -> None:
    text = MINIMAL + "[server]\nport = 9000\ntrust_proxy = true\n"
    environ = {
        "FEDCOOP_SERVER_PORT": "9100",
        "FEDCOOP_SERVER_TRUST_PROXY": "off",
        "FEDCOOP_INSTANCE_DOMAIN": "Other.Example:8443",
        "FEDCOOP_AUTH_PASSWORD_GRANT": "yes",
    }

    settings = load_settings(write(tmp_path, text), environ=environ)

    assert settings.server.port == 9100
    assert settings.server.trust_proxy is False
    assert settings.auth.password_grant is True
    assert settings.instance.domain == "other.example:8443", "normalised like the file's"


def test_the_process_environment_is_read_when_none_is_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FEDCOOP_DATABASE_READ_POOL_SIZE", "7")

    assert load_settings(write(tmp_path, MINIMAL)).database.read_pool_size == 7
    assert load_settings(tmp_path, environ={}).database.read_pool_size == 4


def test_unrelated_fedcoop_variables_are_ignored(tmp_path: Path) -> None:
    # FEDCOOP_SHARED_DIR (the test kit) is no setting: it must not trip the loader.
    environ = {"FEDCOOP_SHARED_DIR": "/x", "FEDCOOP_SERVER_COLOUR": "red"}

    assert load_settings(write(tmp_path, MINIMAL), environ=environ).server.port == 8080


def test_settings_are_frozen(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, MINIMAL), environ={})

    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.server.port = 1  # type: ignore[misc]


# invalid values: the message names the key ------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "environ", "key"),
    [
        pytest.param(MINIMAL + '[server]\ntrust_proxy = "maybe"\n', {}, "server.trust_proxy",
                     id="bool-file"),
        pytest.param(MINIMAL, {"FEDCOOP_AUTH_PASSWORD_GRANT": "maybe"}, "auth.password_grant",
                     id="bool-env"),
        pytest.param(MINIMAL + "[server]\nport = 70000\n", {}, "server.port", id="int-too-big"),
        pytest.param(MINIMAL, {"FEDCOOP_SERVER_PORT": "0"}, "server.port", id="int-too-small-env"),
        pytest.param(MINIMAL, {"FEDCOOP_DATABASE_READ_POOL_SIZE": "many"},
                     "database.read_pool_size", id="int-not-a-number"),
        pytest.param(MINIMAL + "[server]\nport = true\n", {}, "server.port", id="bool-for-int"),
        pytest.param(MINIMAL + "[auth]\ntoken_days = -1\n", {}, "auth.token_days",
                     id="int-negative"),
        pytest.param(MINIMAL + '[database]\nsynchronous = "off"\n', {}, "database.synchronous",
                     id="bad-choice"),
        pytest.param(MINIMAL, {"FEDCOOP_FEDERATION_MODE": "closed"}, "federation.mode",
                     id="bad-choice-env"),
        pytest.param(MINIMAL + "name = 5\n", {}, "instance.name", id="int-for-string"),
        pytest.param(MINIMAL + '[server]\ncolour = "red"\n', {}, "server.colour",
                     id="unknown-key"),
        pytest.param(MINIMAL + '[paint]\ncolour = "red"\n', {}, "paint", id="unknown-section"),
        pytest.param("server = 5\n" + MINIMAL, {}, "server", id="section-not-a-table"),
    ],
)  # fmt: skip
def test_an_invalid_value_raises_config_error_naming_the_key(
    tmp_path: Path, text: str, environ: dict[str, str], key: str
) -> None:
    write(tmp_path, text)

    with pytest.raises(ConfigError) as caught:
        load_settings(tmp_path, environ=environ)

    message = str(caught.value)
    assert re.match(rf"{re.escape(key)}[: ]", message), message
    if environ:
        (variable,) = environ
        assert variable in message, "the message says where the value came from"


def test_a_missing_domain_is_named(tmp_path: Path) -> None:
    write(tmp_path, '[instance]\nname = "Vélo"\n')

    with pytest.raises(ConfigError, match=r"^instance\.domain: required"):
        load_settings(tmp_path, environ={})


@pytest.mark.parametrize(
    "domain", ["not a domain", "https://coop.example", "coop.example/path", "coop.example:0",
               "coop.example:99999", "-coop.example", ""],
)  # fmt: skip
def test_a_bad_domain_is_named(tmp_path: Path, domain: str) -> None:
    write(tmp_path, f'[instance]\ndomain = "{domain}"\n')

    with pytest.raises(ConfigError, match=r"^instance\.domain"):
        load_settings(tmp_path, environ={})


def test_a_bad_domain_from_the_environment_is_named(tmp_path: Path) -> None:
    write(tmp_path, MINIMAL)

    with pytest.raises(ConfigError, match=r"^instance\.domain"):
        load_settings(tmp_path, environ={"FEDCOOP_INSTANCE_DOMAIN": "bad/host"})


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("Coop.Example.", "coop.example"), ("127.0.0.1:8001", "127.0.0.1:8001"), ("a", "a")],
)
def test_validate_domain_normalises(raw: str, expected: str) -> None:
    assert validate_domain(raw) == expected


def test_a_missing_file_says_to_run_init(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="fedcoop init"):
        load_settings(tmp_path, environ={})


def test_a_file_that_is_not_toml_is_named(tmp_path: Path) -> None:
    write(tmp_path, "[instance\n")

    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(tmp_path, environ={})


# the settings reference -------------------------------------------------------------------------
def test_describe_settings_covers_every_field_with_its_env_var() -> None:
    described = {(s.section, s.key): s for s in describe_settings()}

    expected = {
        (section, f.name) for section, cls in SECTIONS.items() for f in dataclasses.fields(cls)
    }
    assert set(described) == expected
    port = described[("server", "port")]
    assert port.env_var == "FEDCOOP_SERVER_PORT"
    assert (port.type_name, port.default) == ("int", 8080)
    assert all(s.doc.strip() for s in described.values()), "every setting is documented"
