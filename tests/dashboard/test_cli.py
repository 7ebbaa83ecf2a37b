"""`lobbyq simulate` then `lobbyq stats` from the terminal, on a config file."""

from __future__ import annotations

import copy
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from server.cli import app
from tests.support import BASE_CONFIG, drop_database, fresh_database_url

pytestmark = pytest.mark.own_database  # makes its own databases: both passes


def write_config(tmp_path: Path) -> tuple[Path, str]:
    """The test branch as a TOML file (users without passwords: generated)."""
    url = fresh_database_url(tmp_path)
    data = copy.deepcopy(BASE_CONFIG)
    lines = [
        "[server]",
        f'database_url = "{url}"',
        f'data_dir = "{tmp_path / "data"}"',
    ]
    for user in data["users"][:2]:
        lines += ["[[users]]", f'username = "{user["username"]}"', f'role = "{user["role"]}"']
    branch = data["branches"][0]
    lines += [
        "[[branches]]",
        'code = "b1"',
        'name = { zh = "测试支行", en = "Test Branch" }',
        'timezone = "Asia/Shanghai"',
    ]
    for service in branch["services"]:
        lines += [
            "[[branches.services]]",
            f'code = "{service["code"]}"',
            f'prefix = "{service["prefix"]}"',
            f"target_wait_min = {service['target_wait_min']}",
            f'name = {{ zh = "{service["name"]["zh"]}", en = "{service["name"]["en"]}" }}',
        ]
    for counter in branch["counters"]:
        services = ", ".join(f'"{s}"' for s in counter["services"])
        lines += [
            "[[branches.counters]]",
            f'number = "{counter["number"]}"',
            f"services = [{services}]",
        ]
    path = tmp_path / "lobbyq.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    tomllib.loads(path.read_text(encoding="utf-8"))
    return path, url


def simulate(path: Path, *options: str) -> Result:
    return CliRunner().invoke(app, ["simulate", "--config", str(path), *options])


@pytest.fixture
def config_file(tmp_path: Path) -> Iterator[Path]:
    path, url = write_config(tmp_path)
    yield path
    drop_database(url)


def test_simulate_then_stats(tmp_path: Path, config_file: Path) -> None:
    path = config_file
    runner = CliRunner()
    simulated = simulate(
        path, "--branch", "b1", "--date", "2026-11-27", "--seed", "3", "--volume", "0.1"
    )
    assert simulated.exit_code == 0, simulated.output
    assert "simulated 2026-11-27 at branch b1" in simulated.output
    assert "absolute error   median" in simulated.output
    assert "created simulated tellers: sim-teller1" in simulated.output  # no tellers in it
    again = simulate(path, "--branch", "b1", "--date", "2026-11-27")
    assert again.exit_code == 1
    assert "already has tickets" in again.output
    csv_path = tmp_path / "out.csv"
    table = runner.invoke(
        app,
        [
            "stats",
            "--config",
            str(path),
            "--branch",
            "b1",
            "--date",
            "2026-11-27",
            "--group-by",
            "service",
            "--csv",
            str(csv_path),
        ],
    )
    assert table.exit_code == 0, table.output
    lines = table.output.splitlines()
    assert lines[0].startswith("branch b1, 2026-11-27T00:00:00+08:00")
    assert any(line.startswith("A 个人现金") for line in lines)
    assert any(line.startswith("合计") for line in lines)
    assert csv_path.read_bytes().startswith(b"\xef\xbb\xbf")
    bad = runner.invoke(
        app, ["stats", "--config", str(path), "--branch", "b1", "--group-by", "week"]
    )
    assert bad.exit_code == 2
    assert "group_by='week'" in bad.output
    unknown = runner.invoke(app, ["stats", "--config", str(path), "--branch", "zz"])
    assert unknown.exit_code == 2


def test_simulate_bulk_with_its_options(config_file: Path) -> None:
    path = config_file
    filled = simulate(
        *(path, "--branches", "all", "--bulk", "--date", "2026-11-20", "--to", "2026-11-23"),
        *("--distinct-days", "1", "--volume", "0.1", "--workers", "2", "--defer-indexes"),
    )
    assert filled.exit_code == 0, filled.output
    assert "filled 4 branch-days (1 branches" in filled.output
    assert "through bulk copies of template days" in filled.output
    again = simulate(
        *(path, "--branches", "b1", "--bulk", "--date", "2026-11-23", "--to", "2026-11-24"),
        "--keep-indexes",
    )
    assert again.exit_code == 1
    assert "already has tickets on 2026-11-23" in again.output
