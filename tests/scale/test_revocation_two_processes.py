"""Two real `lobbyq serve` processes on one database: a logout or a disabled user on
one ends the user's tokens on the other at once (no cache to wait for)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from server.cli import app as cli
from tests.scale.procs import ServerProcess, config_data, login, write_config
from tests.support import PASSWORDS

Pair = tuple[ServerProcess, ServerProcess]


@pytest.fixture(params=["postgres", "sqlite"])
def pair(request: pytest.FixtureRequest, workdir: Path, redis_url: str) -> Iterator[Pair]:
    if request.param == "postgres":
        database_url = request.getfixturevalue("pg_url")
    else:
        database_url = f"sqlite:///{workdir / 'lobbyq.db'}"
    config = write_config(
        workdir / "lobbyq.toml",
        config_data(
            database_url, workdir / "data", redis_url=redis_url, users=("teller1", "teller2")
        ),
    )
    a = ServerProcess(config, log=workdir / "a.log")
    b = ServerProcess(config, log=workdir / "b.log")
    try:
        a.start()
        b.start()
        yield a, b
    finally:
        a.stop()
        b.stop()


def me(process: ServerProcess, token: str) -> int:
    headers = {"Authorization": f"Bearer {token}"}
    return httpx.get(f"{process.api}/auth/me", headers=headers, timeout=10).status_code


def test_logout_on_one_process_ends_the_token_on_the_other(pair: Pair) -> None:
    a, b = pair
    token = login(a.api, "teller1", PASSWORDS["teller1"])
    assert me(b, token) == 200  # one generated key in the shared data folder
    headers = {"Authorization": f"Bearer {token}"}
    assert httpx.post(f"{b.api}/auth/logout", headers=headers, timeout=10).status_code == 200
    assert (me(a, token), me(b, token)) == (401, 401)


def test_disable_user_ends_the_tokens_on_both(pair: Pair) -> None:
    a, b = pair
    token_a = login(a.api, "teller2", PASSWORDS["teller2"])
    token_b = login(b.api, "teller2", PASSWORDS["teller2"])
    result = CliRunner().invoke(cli, ["disable-user", "teller2", "--config", str(a.config_path)])
    assert result.exit_code == 0, result.output
    assert [me(p, t) for p in (a, b) for t in (token_a, token_b)] == [401] * 4
