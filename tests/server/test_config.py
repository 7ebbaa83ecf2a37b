"""The config: the demo loads, and a bad config names the key and why."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from server.config import ConfigError, demo_config_path, load_config


def test_the_demo_config_is_a_realistic_branch() -> None:
    config = load_config(demo_config_path())
    branch = config.branches[0]
    assert len(branch.services) >= 5 and len(branch.counters) == 8
    assert {p.code for p in branch.priorities} >= {"vip", "accessibility", "appointment"}
    assert len(branch.kiosks) == 1 and len(branch.displays) == 1 and len(branch.printers) == 1
    served = [set(c.services) for c in branch.counters]
    assert any(a & b for i, a in enumerate(served) for b in served[i + 1 :]), "counters overlap"
    assert all(not u.password for u in config.users), "no default password in the demo"


@pytest.mark.parametrize(
    ("text", "key", "why"),
    [
        (
            '[[branches]]\ncode="b"\nname={zh="x",en="y"}\ntimezone="Mars/Base"\n[[branches.services]]\ncode="A"\nprefix="A"\nname={zh="a",en="a"}\n',
            "branches.0.timezone",
            "unknown timezone",
        ),
        (
            '[[branches]]\ncode="b"\nname={zh="x",en="y"}\n[[branches.services]]\ncode="A"\nprefix="A"\nname={zh="a",en="a"}\n[[branches.counters]]\nnumber="1"\nservices=["Q"]\n',
            "branches.0",
            "unknown service 'Q'",
        ),
        (
            '[server]\ndatabase_url="mysql://x"\n[[branches]]\ncode="b"\nname={zh="x",en="y"}\n[[branches.services]]\ncode="A"\nprefix="A"\nname={zh="a",en="a"}\n',
            "server.database_url",
            "must start with",
        ),
        (
            '[[branches]]\ncode="b"\nname={zh="x",en="y"}\nordering="random"\n[[branches.services]]\ncode="A"\nprefix="A"\nname={zh="a",en="a"}\n',
            "branches.0.ordering",
            "weighted",
        ),
        (
            '[[branches]]\ncode="b"\nname={zh="x",en="y"}\nservices=[]\n',
            "branches.0.services",
            "at least 1",
        ),
        (
            '[[branches]]\ncode="b"\nname={zh="x",en="y"}\nreset_time="25:00"\n[[branches.services]]\ncode="A"\nprefix="A"\nname={zh="a",en="a"}\n',
            "branches.0.reset_time",
            "HH:MM",
        ),
        (
            '[[users]]\nusername="a"\npassword="short"\n[[branches]]\ncode="b"\nname={zh="x",en="y"}\n[[branches.services]]\ncode="A"\nprefix="A"\nname={zh="a",en="a"}\n',
            "users.0.password",
            "at least 8",
        ),
        (
            '[[branches]]\ncode="b"\nname={zh="x",en="y"}\ncolour="red"\n[[branches.services]]\ncode="A"\nprefix="A"\nname={zh="a",en="a"}\n',
            "branches.0.colour",
            "Extra inputs",
        ),
    ],
)
def test_a_bad_config_names_the_key_and_why(tmp_path: Path, text: str, key: str, why: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert key in str(error.value) and why in str(error.value)


def test_not_toml_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[server\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(path)


def test_serve_refuses_to_start_on_a_bad_config(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(
        '[[branches]]\ncode="b"\nname={zh="x",en="y"}\ntimezone="Nowhere/Land"\n'
        '[[branches.services]]\ncode="A"\nprefix="A"\nname={zh="a",en="a"}\n',
        encoding="utf-8",
    )
    result = subprocess.run(
        [sys.executable, "-m", "server.cli", "serve", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "branches.0.timezone" in result.stderr and "unknown timezone" in result.stderr
