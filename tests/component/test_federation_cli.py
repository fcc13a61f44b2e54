"""`fedcoop federation block|unblock|allow|list`, as an admin types them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from fedcoop.cli import main
from fedcoop.config import Settings
from fedcoop.db import Database
from fedcoop.social.domain_policies import list_policies


class Cli:
    def __init__(self, capsys: pytest.CaptureFixture[str], data_dir: Path) -> None:
        self.capsys = capsys
        self.data_dir = data_dir

    def __call__(self, *args: str) -> tuple[int, str, str]:
        self.capsys.readouterr()
        try:
            code = main(["federation", *args, "--data-dir", str(self.data_dir)])
        except SystemExit as exc:
            code = int(exc.code or 0)
        out, err = self.capsys.readouterr()
        return code, out, err

    def rules(self) -> list[tuple[str, str, str]]:
        db = Database(self.data_dir / "fedcoop.sqlite3")
        return [(r.policy, r.domain, r.reason) for r in db.read_sync(list_policies)]


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], settings: Settings) -> Cli:
    return Cli(capsys, settings.data_dir)


def test_block_normalises_and_lists_the_domain(cli: Cli) -> None:
    code, out, _ = cli("block", "Evil.EXAMPLE.", "--reason", "spam waves")
    assert code == 0
    assert "Blocked evil.example" in out
    assert cli.rules() == [("block", "evil.example", "spam waves")]

    code, out, _ = cli("list")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "mode: open"
    assert lines[1].split()[:2] == ["block", "evil.example"]
    assert lines[1].endswith("spam waves")


def test_idna_domains_are_stored_as_punycode(cli: Cli) -> None:
    assert cli("block", "bücher.example")[0] == 0
    assert cli.rules() == [("block", "xn--bcher-kva.example", "")]


@pytest.mark.parametrize(
    "junk", ["evil.example/path", "evil@good.example", "evil example", "https://evil.example/"]
)
def test_junk_domains_are_refused_with_one_line(cli: Cli, junk: str) -> None:
    code, _, err = cli("block", junk)
    assert code == 2
    assert err.startswith("fedcoop: error") and len(err.strip().splitlines()) == 1
    assert "Traceback" not in err
    assert cli.rules() == []


def test_our_own_domain_cannot_be_blocked(cli: Cli, settings: Settings) -> None:
    code, _, err = cli("block", settings.instance.domain.upper())
    assert code == 2
    assert "own domain" in err
    assert cli.rules() == []


def test_unblock_removes_the_block_and_refuses_an_unknown_domain(cli: Cli) -> None:
    cli("block", "evil.example")
    code, out, _ = cli("unblock", "EVIL.example")
    assert (code, out.strip()) == (0, "Unblocked evil.example")
    assert cli.rules() == []
    code, _, err = cli("unblock", "evil.example")
    assert code == 2
    assert "not blocked" in err


def test_allow_replaces_a_block_and_shows_in_the_list(cli: Cli) -> None:
    cli("block", "friend.example")
    code, out, _ = cli("allow", "friend.example")
    assert code == 0 and "Allowed friend.example" in out
    assert cli.rules() == [("allow", "friend.example", "")]
    assert "allow  friend.example" in cli("list")[1]


def test_list_shows_allowlist_mode(
    capsys: pytest.CaptureFixture[str], make_instance: Callable[..., Settings]
) -> None:
    settings = make_instance(extra={"federation": {"mode": "allowlist"}})
    code, out, _ = Cli(capsys, settings.data_dir)("list")
    assert (code, out.splitlines()[0]) == (0, "mode: allowlist")


def test_every_subcommand_needs_a_data_dir(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["federation", "block", "evil.example"])
    assert info.value.code == 2
    assert "--data-dir" in capsys.readouterr().err
