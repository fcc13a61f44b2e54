"""The `fedcoop` command as an admin meets it: init, user, coop, check, serve.

Most tests call `fedcoop.cli.main([...])` in-process (the same function the console script
runs) and read what it printed; `serve` and the password prompt need a real subprocess. A user
mistake must end in exit status 2 and one line on stderr, never a traceback.
"""

from __future__ import annotations

import sqlite3
import stat
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from fedcoop.app import make_app
from fedcoop.cli import main
from fedcoop.config import load_settings
from fedcoop.db.migrations import latest_version
from tests.conftest import ADMIN_PASSWORD
from tests.support.processes import free_port, run_fedcoop

DOMAIN = "coop.example:8443"


class Cli:
    """Runs `fedcoop ARGS` in-process and keeps what it printed."""

    def __init__(self, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
        self.capsys = capsys
        self.data_dir = tmp_path / "instance"
        self.password_file = tmp_path / "password"
        self.password_file.write_text(ADMIN_PASSWORD + "\n")

    def __call__(self, *args: str) -> tuple[int, str, str]:
        self.capsys.readouterr()
        try:
            code = main(list(args))
        except SystemExit as exc:  # argparse's own exits (usage errors)
            code = int(exc.code or 0)
        out, err = self.capsys.readouterr()
        return code, out, err

    def init(self, *extra: str, domain: str = DOMAIN) -> tuple[int, str, str]:
        return self(
            "init", "--data-dir", str(self.data_dir), "--domain", domain, "--coop", "velo",
            "--admin", "alice", "--password-file", str(self.password_file), *extra,
        )  # fmt: skip

    def ok(self, *args: str) -> str:
        code, out, err = self(*args)
        assert code == 0, (args, out, err)
        return out


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> Cli:
    return Cli(capsys, tmp_path)


def assert_one_line_error(err: str, *needles: str) -> None:
    assert "Traceback" not in err
    assert err.count("\n") == 1 and err.endswith("\n"), err
    for needle in needles:
        assert needle in err, (needle, err)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# init -------------------------------------------------------------------------------------------
def test_init_creates_a_private_config_and_database(cli: Cli) -> None:
    code, out, err = cli.init("--http")

    assert code == 0, err
    config, database = cli.data_dir / "fedcoop.toml", cli.data_dir / "fedcoop.sqlite3"
    assert mode(cli.data_dir) == 0o700
    assert mode(config) == 0o600
    assert mode(database) == 0o600, "the database holds private keys"
    settings = load_settings(cli.data_dir, environ={})
    assert settings.instance.domain == DOMAIN
    assert settings.base_url == f"http://{DOMAIN}"
    assert f"@velo@{DOMAIN}" in out and f"@alice@{DOMAIN}" in out
    assert ADMIN_PASSWORD not in out, "a password the admin chose is never echoed"


def test_init_twice_refuses_and_keeps_the_first_instance(cli: Cli) -> None:
    cli.init()
    config = (cli.data_dir / "fedcoop.toml").read_text()

    code, _, err = cli.init(domain="other.example")

    assert code == 2
    assert_one_line_error(err, "already exists")
    assert (cli.data_dir / "fedcoop.toml").read_text() == config


@pytest.mark.parametrize("domain", ["bad domain", "https://coop.example", "coop.example:99999"])
def test_init_with_a_bad_domain_names_the_setting_and_creates_nothing(
    cli: Cli, domain: str
) -> None:
    code, _, err = cli.init(domain=domain)

    assert code == 2
    assert_one_line_error(err, "instance.domain")
    assert not (cli.data_dir / "fedcoop.toml").exists()
    assert not (cli.data_dir / "fedcoop.sqlite3").exists()


def test_init_without_a_password_file_generates_and_shows_one(tmp_path: Path) -> None:
    # stdin is not a terminal (closed), so there is nobody to prompt: a password is made up.
    done = run_fedcoop(
        "init", "--data-dir", str(tmp_path / "d"), "--domain", DOMAIN, "--coop", "velo",
        "--admin", "alice", timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    (line,) = [line for line in done.stdout.splitlines() if line.startswith("Password")]
    assert len(line.split()[1]) >= 12


@pytest.mark.parametrize(
    "args",
    [
        pytest.param([], id="no-command"),
        pytest.param(["init", "--data-dir", "x"], id="init-without-domain"),
        pytest.param(["user", "add", "bob"], id="user-add-without-data-dir"),
        pytest.param(["coop", "add", "--data-dir", "x", "club"], id="coop-add-without-admin"),
        pytest.param(["serve"], id="serve-without-data-dir"),
        pytest.param(["user", "add", "--data-dir", "x", "bob", "--role", "boss"], id="bad-role"),
    ],
)
def test_missing_or_bad_arguments_exit_2_with_one_line(cli: Cli, args: list[str]) -> None:
    code, out, err = cli(*args)

    assert code == 2
    assert out == ""
    assert_one_line_error(err, "error:")


@pytest.mark.parametrize("command", [["user", "list"], ["worker"], ["backup"], ["check"]])
def test_a_command_on_a_directory_without_an_instance_says_to_init(
    cli: Cli, command: list[str]
) -> None:
    code, out, err = cli(*command, "--data-dir", str(cli.data_dir))
    if command == ["check"]:  # check reports it as a failed finding instead
        assert code == 1 and "FAIL" in out
        return

    assert code == 2
    assert_one_line_error(err, "fedcoop init")


# user -------------------------------------------------------------------------------------------
def test_user_add_then_list(cli: Cli) -> None:
    cli.init()
    pw = str(cli.password_file)

    out = cli.ok("user", "add", "--data-dir", str(cli.data_dir), "bob", "--password-file", pw)
    assert "@bob" in out
    cli.ok("user", "add", "--data-dir", str(cli.data_dir), "carol", "--role", "admin",
           "--password-file", pw, "--display-name", "Carol C.")  # fmt: skip

    listing = cli.ok("user", "list", "--data-dir", str(cli.data_dir)).splitlines()
    rows = {line.split()[0]: line.split()[1:] for line in listing[1:]}
    assert listing[0].split()[:2] == ["username", "role"]
    assert set(rows) == {"alice", "bob", "carol"}
    assert rows["alice"][0] == "admin" and rows["bob"][0] == "member"
    assert rows["carol"][0] == "admin"
    assert all(row[-1] == "active" for row in rows.values())


@pytest.mark.parametrize("taken", ["alice", "velo"], ids=["a-user", "a-coop"])
def test_user_add_refuses_a_taken_name(cli: Cli, taken: str) -> None:
    # One namespace per host for people and coops (PROTOCOL.md section 1).
    cli.init()

    code, _, err = cli("user", "add", "--data-dir", str(cli.data_dir), taken,
                       "--password-file", str(cli.password_file))  # fmt: skip

    assert code == 2
    assert_one_line_error(err, taken, "taken")
    listing = cli.ok("user", "list", "--data-dir", str(cli.data_dir))
    assert len(listing.splitlines()) == 2, "nothing was added"


def test_user_add_refuses_a_short_password(cli: Cli, tmp_path: Path) -> None:
    cli.init()
    short = tmp_path / "short"
    short.write_text("abc\n")

    code, _, err = cli(
        "user", "add", "--data-dir", str(cli.data_dir), "bob", "--password-file", str(short)
    )

    assert code == 2
    assert_one_line_error(err, "password")


# coop -------------------------------------------------------------------------------------------
async def test_an_instance_hosts_several_coops_and_webfinger_finds_each(
    cli: Cli, aiohttp_client: Any
) -> None:
    # Given an instance with its first coop, when a second one is added
    cli.init("--http")
    out = cli.ok("coop", "add", "--data-dir", str(cli.data_dir), "club", "--title", "Bike Club",
                 "--admin", "alice", "--admission", "open")  # fmt: skip
    assert "@club" in out

    # then both are listed
    listing = cli.ok("coop", "list", "--data-dir", str(cli.data_dir)).splitlines()
    assert [line.split()[:2] for line in listing] == [["velo", "approval"], ["club", "open"]]
    assert "Bike Club" in listing[1]

    # and WebFinger answers for both, each with its own Group actor
    client = await aiohttp_client(make_app(load_settings(cli.data_dir, environ={})))
    for name in ("velo", "club"):
        resp = await client.get(
            "/.well-known/webfinger", params={"resource": f"acct:{name}@{DOMAIN}"}
        )
        assert resp.status == 200, name
        doc = await resp.json(content_type=None)
        (link,) = [link for link in doc["links"] if link["rel"] == "self"]
        assert link["href"] == f"http://{DOMAIN}/coops/{name}"
        resp = await client.get(f"/coops/{name}", headers={"Accept": "application/activity+json"})
        assert (await resp.json(content_type=None))["type"] == "Group"


def test_coop_add_refuses_an_unknown_admin_and_a_taken_name(cli: Cli) -> None:
    cli.init()
    data_dir = str(cli.data_dir)

    code, _, err = cli("coop", "add", "--data-dir", data_dir, "club", "--admin", "nobody")
    assert code == 2
    assert_one_line_error(err, "nobody")

    code, _, err = cli("coop", "add", "--data-dir", data_dir, "alice", "--admin", "alice")
    assert code == 2
    assert_one_line_error(err, "taken")
    assert cli.ok("coop", "list", "--data-dir", data_dir).split()[0] == "velo"
    assert len(cli.ok("coop", "list", "--data-dir", data_dir).splitlines()) == 1


# check ------------------------------------------------------------------------------------------
def test_check_reports_ok_lines_on_a_fresh_instance(cli: Cli) -> None:
    cli.init()

    code, out, _ = cli("check", "--data-dir", str(cli.data_dir))

    assert code == 0, out
    lines = out.splitlines()
    assert len(lines) >= 4
    assert all(line.startswith("ok    ") for line in lines), out
    assert any("instance actor present" in line for line in lines)
    assert any("integrity: ok" in line for line in lines)


def set_schema_version(data_dir: Path, version: int) -> None:
    conn = sqlite3.connect(data_dir / "fedcoop.sqlite3")
    try:
        conn.execute(f"PRAGMA user_version = {version}")
        conn.commit()
    finally:
        conn.close()


def test_check_fails_on_a_database_from_a_newer_fedcoop(cli: Cli) -> None:
    cli.init()
    set_schema_version(cli.data_dir, latest_version() + 1)

    code, out, _ = cli("check", "--data-dir", str(cli.data_dir))

    assert code == 1
    (failure,) = [line for line in out.splitlines() if line.startswith("FAIL")]
    assert "newer" in failure and "upgrade" in failure


def test_check_fails_on_a_database_others_can_read(cli: Cli) -> None:
    cli.init()
    (cli.data_dir / "fedcoop.sqlite3").chmod(0o644)

    code, out, _ = cli("check", "--data-dir", str(cli.data_dir))

    assert code == 1
    (failure,) = [line for line in out.splitlines() if line.startswith("FAIL")]
    assert "chmod 600" in failure


def test_check_fails_on_an_invalid_setting(cli: Cli) -> None:
    cli.init()
    config = cli.data_dir / "fedcoop.toml"
    config.write_text(config.read_text() + "\n[server]\nport = 0\n")

    code, out, _ = cli("check", "--data-dir", str(cli.data_dir))

    assert code == 1
    assert out.startswith("FAIL") and "server.port" in out


# serve ------------------------------------------------------------------------------------------
def test_serve_refuses_a_database_from_a_newer_fedcoop(cli: Cli) -> None:
    # Given an instance whose schema was written by a newer fedcoop
    cli.init("--http")
    set_schema_version(cli.data_dir, latest_version() + 1)

    # when it is served (a subprocess: if it wrongly starts, the timeout ends it)
    done = run_fedcoop(
        "serve", "--data-dir", str(cli.data_dir), "--port", str(free_port()), timeout=30
    )

    # then it refuses before listening, and says what to do
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert "upgrade" in done.stderr
    assert "refusing to start" in done.stderr


# backup -----------------------------------------------------------------------------------------
def test_backup_copies_a_running_instance_consistently(cli: Cli, tmp_path: Path) -> None:
    # given an instance that keeps writing while the backup runs
    cli.init()
    database = cli.data_dir / "fedcoop.sqlite3"
    stop = threading.Event()
    written: list[int] = []

    def keep_writing() -> None:
        conn = sqlite3.connect(database, timeout=5)
        conn.execute("CREATE TABLE IF NOT EXISTS churn (n INTEGER, pad TEXT)")
        n = 0
        while not stop.is_set():
            with conn:
                conn.executemany(
                    "INSERT INTO churn VALUES (?, ?)", [(n + i, "x" * 500) for i in range(50)]
                )
            n += 50
            written.append(n)
        conn.close()

    writer = threading.Thread(target=keep_writing)
    writer.start()
    try:
        while not written:
            time.sleep(0.01)
        target = tmp_path / "backup"
        out = cli.ok("backup", "--data-dir", str(cli.data_dir), "--output", str(target))
    finally:
        stop.set()
        writer.join()

    # then the copy is one consistent snapshot, private, and a working instance
    assert f"Backed up to {target}" in out and "integrity ok" in out
    assert mode(target) == 0o700
    assert mode(target / "fedcoop.sqlite3") == 0o600
    assert mode(target / "fedcoop.toml") == 0o600
    assert not (target / "fedcoop.sqlite3-wal").exists()
    copy = sqlite3.connect(target / "fedcoop.sqlite3")
    rows = copy.execute("SELECT count(*), max(n) FROM churn").fetchone()
    copy.close()
    assert rows[0] % 50 == 0 and (rows[0] == 0 or rows[1] == rows[0] - 1)  # whole commits only
    code, checked, _ = cli("check", "--data-dir", str(target))
    assert code == 0, checked
    assert load_settings(target).instance.domain == DOMAIN


def test_backup_never_overwrites(cli: Cli, tmp_path: Path) -> None:
    cli.init()
    target = tmp_path / "taken"
    target.mkdir()
    code, _, err = cli("backup", "--data-dir", str(cli.data_dir), "--output", str(target))
    assert code == 2
    assert_one_line_error(err, "already exists")
    assert list(target.iterdir()) == []


def test_backup_of_a_directory_without_an_instance_says_so(cli: Cli, tmp_path: Path) -> None:
    code, _, err = cli("backup", "--data-dir", str(tmp_path / "nothing"))
    assert code == 2
    assert_one_line_error(err)
    assert not list(tmp_path.glob("nothing-backup-*"))
