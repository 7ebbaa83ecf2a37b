"""The failed-login limit with a Redis hub: counted in Redis, so that it holds once across
all the processes behind the load balancer; counted in process when Redis is away."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from server.auth import LoginLimiter, SharedFailures
from server.config import AppConfig
from server.errors import TooMany
from tests.support import PASSWORDS, LiveServer, live_server, make_config

UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"  # nothing listens on port 1


def with_server(config: AppConfig, **server: Any) -> AppConfig:
    return config.model_copy(update={"server": config.server.model_copy(update=server)})


def login(server: LiveServer, username: str, password: str) -> httpx.Response:
    return httpx.post(
        f"{server.api}/auth/login", json={"username": username, "password": password}, timeout=30
    )


def statuses(*attempts: tuple[LiveServer, str, str]) -> list[int]:
    return [login(server, user, password).status_code for server, user, password in attempts]


class TestTwoProcessesSharingRedis:
    @pytest.fixture
    def pair(
        self, database_url: str, tmp_path: Path, redis_url: str
    ) -> Iterator[tuple[LiveServer, LiveServer]]:
        """Two servers on one database and one Redis, 3 failed logins a minute."""
        config = with_server(
            make_config(database_url, tmp_path / "data"),
            redis_url=redis_url,
            login_attempts_per_minute=3,
        )
        with live_server(config) as a, live_server(config) as b:
            yield a, b

    def test_the_limit_holds_once_not_per_process(
        self, pair: tuple[LiveServer, LiveServer]
    ) -> None:
        a, b = pair
        wrong = "not-the-password"
        assert statuses((a, "teller1", wrong), (b, "teller1", wrong), (a, "teller1", wrong)) == [
            401,
            401,
            401,
        ]
        # Three failures in all, though each process saw fewer than three.
        refused = login(b, "teller1", wrong)
        assert refused.status_code == 429
        assert refused.json() == {
            "error": {
                "code": "login_rate_limited",
                "message": "too many failed logins; wait a minute",
            }
        }
        assert login(a, "teller1", PASSWORDS["teller1"]).status_code == 429  # even right
        # Another username is not held back by teller1's guesser.
        assert login(b, "teller2", PASSWORDS["teller2"]).status_code == 200

    def test_a_success_on_one_process_clears_the_count_for_all(
        self, pair: tuple[LiveServer, LiveServer]
    ) -> None:
        a, b = pair
        wrong = "typo"
        assert statuses((a, "teller3", wrong), (a, "teller3", wrong)) == [401, 401]
        assert login(b, "teller3", PASSWORDS["teller3"]).status_code == 200
        # The count starts again: two more typos on process a are still plain 401s.
        assert statuses((a, "teller3", wrong), (a, "teller3", wrong)) == [401, 401]
        assert statuses((b, "teller3", wrong), (a, "teller3", wrong)) == [401, 429]


class TestLimiterOnRedis:
    def test_only_the_last_minute_counts(self, redis_url: str) -> None:
        limiter = LoginLimiter(2, redis_url=redis_url)
        shared = SharedFailures(redis_url)
        key = shared.key("10.0.0.9", "Teller1")
        old = time.time() - 61
        client = redis.Redis.from_url(redis_url.split("?")[0])
        try:
            client.zadd(key, {f"old-{i}": old for i in range(5)})
            limiter.check("10.0.0.9", "teller1")  # five failures, all over a minute ago
            limiter.failed("10.0.0.9", "TELLER1")  # usernames count case-blind
            limiter.check("10.0.0.9", "teller1")
            other = LoginLimiter(2, redis_url=redis_url)  # another process
            other.failed("10.0.0.9", "teller1")
            with pytest.raises(TooMany):
                limiter.check("10.0.0.9", "teller1")
            limiter.check("10.0.0.8", "teller1")  # another client is not held back
            assert client.zcard(key) == 2  # the old failures were dropped
            assert 0 < int(client.ttl(key)) <= 61  # and the key goes away by itself
        finally:
            client.delete(key)
            client.close()


def test_no_redis_counts_in_process() -> None:
    for url in ("", "memory://"):
        limiter = LoginLimiter(1, redis_url=url)
        limiter.failed("10.0.0.1", "teller1")
        with pytest.raises(TooMany):
            limiter.check("10.0.0.1", "teller1")
        LoginLimiter(1, redis_url=url).check("10.0.0.1", "teller1")  # another process


class TestRedisUnreachable:
    def test_the_limiter_falls_back_to_its_own_count(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        limiter = LoginLimiter(2, redis_url=UNREACHABLE_REDIS)
        with caplog.at_level(logging.WARNING, logger="server.auth"):
            limiter.check("10.0.0.1", "teller1")
            limiter.failed("10.0.0.1", "teller1")
            limiter.failed("10.0.0.1", "teller1")
            with pytest.raises(TooMany):
                limiter.check("10.0.0.1", "teller1")
            limiter.succeeded("10.0.0.1", "teller1")
            limiter.check("10.0.0.1", "teller1")
        warnings = [r for r in caplog.records if "Redis unreachable" in r.getMessage()]
        assert len(warnings) == 1  # once, then Redis is left alone for a few seconds

    def test_logins_go_on_and_the_limit_still_holds(
        self, database_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        config = with_server(
            make_config(database_url, tmp_path / "data"),
            redis_url=UNREACHABLE_REDIS,
            login_attempts_per_minute=2,
        )
        with caplog.at_level(logging.WARNING, logger="server.auth"), live_server(config) as s:
            assert login(s, "teller1", PASSWORDS["teller1"]).status_code == 200
            assert statuses((s, "teller1", "x"), (s, "teller1", "y"), (s, "teller1", "z")) == [
                401,
                401,
                429,
            ]
        assert "Redis unreachable" in caplog.text
