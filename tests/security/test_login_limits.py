"""Login limits hold attackers back, not tellers: a guesser at one address, a password
sprayed over many accounts, a guesser spread over many addresses; X-Forwarded-For is
believed only from `[server] trusted_proxies`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support import PASSWORDS, LiveServer, live_server, make_config

WRONG = "not-the-password"


def attempt(server: LiveServer, username: str, password: str, address: str) -> httpx.Response:
    return httpx.post(
        f"{server.api}/auth/login",
        json={"username": username, "password": password},
        headers={"X-Forwarded-For": address},
        timeout=30,
    )


@pytest.fixture(params=["memory", "redis"])
def behind_proxy(
    request: pytest.FixtureRequest, database_url: str, tmp_path: Path
) -> Iterator[LiveServer]:
    """A server behind a proxy on 127.0.0.1: 3 failures a minute per (address,
    account), 5 per address; counted in process or in Redis."""
    config = make_config(database_url, tmp_path / "data")
    server = {
        "trusted_proxies": ["127.0.0.1/32"],
        "login_attempts_per_minute": 3,
        "login_failures_per_address_per_minute": 5,
    }
    if request.param == "redis":
        server["redis_url"] = request.getfixturevalue("redis_url")
    config = config.model_copy(update={"server": config.server.model_copy(update=server)})
    with live_server(config) as live:
        yield live


@pytest.fixture
def redis_url() -> str:
    import uuid

    from tests.scale.conftest import REDIS_URL

    return f"{REDIS_URL}?channel_prefix=lobbyq-test-{uuid.uuid4().hex[:10]}:"


def test_a_guesser_does_not_lock_the_teller_out(behind_proxy: LiveServer) -> None:
    server = behind_proxy
    right = PASSWORDS["teller1"]
    assert [attempt(server, "teller1", WRONG, "10.0.0.66").status_code for _ in range(3)] == [
        401
    ] * 3
    held = attempt(server, "teller1", right, "10.0.0.66")
    assert held.status_code == 429  # the guesser's address, even with the right password
    assert held.json()["error"]["code"] == "login_rate_limited"
    assert attempt(server, "teller1", right, "10.0.0.5").status_code == 200  # the desk


def test_spraying_one_password_over_many_accounts_is_limited(behind_proxy: LiveServer) -> None:
    server = behind_proxy
    users = ["teller1", "teller2", "teller3", "teller4", "manager"]
    assert [attempt(server, u, WRONG, "10.0.0.77").status_code for u in users] == [401] * 5
    sprayed = attempt(server, "admin", PASSWORDS["admin"], "10.0.0.77")
    assert sprayed.status_code == 429
    assert attempt(server, "admin", PASSWORDS["admin"], "10.0.0.6").status_code == 200


def test_a_spread_guesser_backs_the_account_off_but_not_the_tellers_desk(
    behind_proxy: LiveServer,
) -> None:
    server = behind_proxy
    right = PASSWORDS["teller2"]
    assert attempt(server, "teller2", right, "10.0.0.5").status_code == 200  # her desk
    guesses = [
        attempt(server, "teller2", WRONG, f"10.0.1.{n}").status_code
        for n in range(1, 5)
        for _ in range(2)
    ]
    assert guesses == [401] * 6 + [429, 429]  # 6 = twice the limit, then the back-off
    newcomer = attempt(server, "teller2", right, "10.0.2.1")
    assert newcomer.status_code == 429
    assert newcomer.json()["error"]["code"] == "login_backoff"
    assert "try again in" in newcomer.json()["error"]["message"]
    assert attempt(server, "teller2", right, "10.0.0.5").status_code == 200  # still works


def test_forwarded_for_is_ignored_unless_from_a_trusted_proxy(
    database_url: str, tmp_path: Path
) -> None:
    config = make_config(database_url, tmp_path / "data")
    limited = config.server.model_copy(update={"login_attempts_per_minute": 3})
    with live_server(config.model_copy(update={"server": limited})) as server:
        codes = [attempt(server, "teller3", WRONG, f"10.9.9.{n}").status_code for n in range(4)]
        assert codes == [401, 401, 401, 429]  # one address (the peer's), however it claims
