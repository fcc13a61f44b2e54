"""docs/SETTINGS.md documents every setting and is what scripts/gen_settings_doc.py makes."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType

import pytest

from fedcoop.config import describe_settings, load_settings
from fedcoop.errors import ConfigError

REPO_ROOT = Path(__file__).resolve().parents[2]
DOC = REPO_ROOT / "docs" / "SETTINGS.md"
GENERATOR = REPO_ROOT / "scripts" / "gen_settings_doc.py"


def load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_settings_doc", GENERATOR)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def table_rows(text: str) -> dict[tuple[str, str], list[str]]:
    """(section, key) -> the cells of its row, read from the Markdown tables."""
    rows: dict[tuple[str, str], list[str]] = {}
    section = None
    for line in text.splitlines():
        heading = re.match(r"^## `\[(\w+)\]`$", line)
        if heading:
            section = heading.group(1)
        elif section and line.startswith("| `"):
            cells = [c.strip() for c in line.strip("|").split(" | ")]
            rows[(section, cells[0].strip("`"))] = cells
    return rows


def test_every_setting_has_a_row_with_its_env_var_type_and_default() -> None:
    rows = table_rows(DOC.read_text())

    for setting in describe_settings():
        row = rows.get((setting.section, setting.key))
        assert row is not None, f"{setting.section}.{setting.key} is missing from {DOC}"
        assert row[1] == f"`{setting.env_var}`"
        assert row[2] in {"string", "integer", "boolean"}
        assert setting.doc.split(".")[0] in row[4], "the meaning comes from config.py"
    assert len(rows) == len(describe_settings()), "no row for a setting that does not exist"


def test_the_page_is_exactly_what_the_generator_makes() -> None:
    # If this fails: .venv/bin/python scripts/gen_settings_doc.py
    assert DOC.read_text() == load_generator().render()


def test_the_example_error_in_the_page_is_the_real_message(tmp_path: Path) -> None:
    (tmp_path / "fedcoop.toml").write_text('[instance]\ndomain = "coop.example"\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(tmp_path, environ={"FEDCOOP_SERVER_PORT": "70000"})

    assert f"(`{caught.value}`)" in DOC.read_text()
