"""Builders and the live server used across the tests."""

from __future__ import annotations

import asyncio
import copy
import os
import threading
import time
import uuid
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx
import uvicorn

from server.app import create_app
from server.config import AppConfig, parse_config
from server.store import Store

T = TypeVar("T")


def run_async(coroutine: Coroutine[Any, Any, T], timeout: float = 60) -> T:
    """asyncio.run on a thread of its own: the Playwright fixtures (sync API) keep an
    event loop running on the main thread of a test worker, where asyncio.run fails."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result(timeout=timeout)


PASSWORDS = {
    "admin": "admin-pass-1",
    "manager": "manager-pass-1",
    "teller1": "teller1-pass",
    "teller2": "teller2-pass",
    "teller3": "teller3-pass",
    "teller4": "teller4-pass",
    "lobby1": "lobby1-pass",  # the lobby manager of tests/devices
}
KIOSK_TOKEN = "kiosk-token-k1"
DISPLAY_TOKEN = "display-token-tv1"

BASE_CONFIG: dict[str, Any] = {
    "server": {"data_dir": "data"},  # the signing key is generated in data_dir
    "users": [
        {"username": "admin", "password": PASSWORDS["admin"], "role": "admin"},
        {"username": "manager", "password": PASSWORDS["manager"], "role": "manager"},
        *[
            {"username": f"teller{i}", "password": PASSWORDS[f"teller{i}"], "role": "teller"}
            for i in range(1, 5)
        ],
    ],
    "branches": [
        {
            "code": "b1",
            "name": {"zh": "测试支行", "en": "Test Branch"},
            "timezone": "Asia/Shanghai",
            "ordering": "weighted",
            "max_consecutive_priority": 3,
            "services": [
                {
                    "code": "A",
                    "prefix": "A",
                    "target_wait_min": 15,
                    "name": {"zh": "个人现金", "en": "Cash"},
                },
                {
                    "code": "B",
                    "prefix": "B",
                    "target_wait_min": 20,
                    "name": {"zh": "非现金", "en": "Non-cash"},
                },
                {
                    "code": "C",
                    "prefix": "C",
                    "target_wait_min": 30,
                    "name": {"zh": "对公", "en": "Corporate"},
                },
            ],
            "priorities": [
                {"code": "vip", "weight": 4, "prefix": "V", "name": {"zh": "贵宾", "en": "VIP"}},
                {"code": "accessibility", "weight": 3, "name": {"zh": "爱心", "en": "Assistance"}},
                {
                    "code": "appointment",
                    "weight": 3,
                    "prefix": "Y",
                    "name": {"zh": "预约", "en": "Appointment"},
                },
            ],
            "counters": [
                {"number": "1", "services": ["A", "B"]},
                {"number": "2", "services": ["A", "B"]},
                {"number": "3", "services": ["B"]},
                {"number": "4", "services": ["C"]},
            ],
            "kiosks": [{"id": "k1", "token": KIOSK_TOKEN, "printer": "p1"}],
            "displays": [{"id": "tv1", "token": DISPLAY_TOKEN}],
            "printers": [{"id": "p1", "driver": "dummy"}],
            "vip_customers": [{"ref": "VIP001", "level": "vip"}],
        }
    ],
}


def make_config(database_url: str, data_dir: Path, **branch_overrides: Any) -> AppConfig:
    data = copy.deepcopy(BASE_CONFIG)
    data["server"]["database_url"] = database_url
    data["server"]["data_dir"] = str(data_dir)
    data["branches"][0].update(branch_overrides)
    return parse_config(data, source="<test>")


class FakeClock:
    """A clock the test moves by hand; starts at a fixed weekday morning."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 11, 30, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self.now

    def advance(self, seconds: float) -> datetime:
        with self._lock:
            self.now += timedelta(seconds=seconds)
            return self.now


@dataclass
class LiveServer:
    """The real app under uvicorn on a loopback port, in a thread."""

    config: AppConfig
    clock: Any = None
    ports: Any = None  # create_app's `ports`: fakes of the printers, voice, webhook
    url: str = ""
    store: Store | None = None
    _server: uvicorn.Server | None = None
    _thread: threading.Thread | None = None
    _tokens: dict[str, str] = field(default_factory=dict)

    def start(self) -> LiveServer:
        kwargs: dict[str, Any] = {}
        if self.clock is not None:
            kwargs["clock"] = self.clock
        if self.ports is not None:
            kwargs["ports"] = self.ports
        app = create_app(self.config, **kwargs)
        self.store = app.state.store
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=0,
            log_level="warning",
            lifespan="on",
            proxy_headers=False,  # as `lobbyq serve`: [server] trusted_proxies decides
            **self.uvicorn_options(),
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("server did not start")
            time.sleep(0.01)
        port = self._server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    def uvicorn_options(self) -> dict[str, Any]:
        """Extra uvicorn.Config arguments (a subclass may run another protocol)."""
        return {}

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=15)

    @property
    def api(self) -> str:
        return f"{self.url}/api/v1"

    def token(self, username: str) -> str:
        cached = self._tokens.get(username)
        if cached is not None and not self._still_valid(cached):
            del self._tokens[username]  # the user signed out somewhere: all tokens ended
        if username not in self._tokens:
            response = httpx.post(
                f"{self.api}/auth/login",
                json={"username": username, "password": PASSWORDS[username]},
                timeout=60,  # argon2 on a loaded machine, beside a test's own load
            )
            response.raise_for_status()
            self._tokens[username] = response.json()["access_token"]
        return self._tokens[username]

    def _still_valid(self, token: str) -> bool:
        headers = {"Authorization": f"Bearer {token}"}
        return httpx.get(f"{self.api}/auth/me", headers=headers, timeout=30).status_code == 200

    def client(self, who: str | None = None) -> httpx.Client:
        """An HTTP client acting as a user ('teller1'), 'kiosk', 'display' or nobody."""
        headers = {}
        if who == "kiosk":
            headers["Authorization"] = f"Bearer {KIOSK_TOKEN}"
        elif who == "display":
            headers["Authorization"] = f"Bearer {DISPLAY_TOKEN}"
        elif who:
            headers["Authorization"] = f"Bearer {self.token(who)}"
        return httpx.Client(base_url=self.api, headers=headers, timeout=30)


@contextmanager
def live_server(config: AppConfig, clock: Any = None) -> Iterator[LiveServer]:
    server = LiveServer(config=config, clock=clock).start()
    try:
        yield server
    finally:
        server.stop()


# --- databases: a fresh one per test, SQLite file or Postgres ------------------------

PG_ADMIN_URL = os.environ.get(
    "LOBBYQ_TEST_POSTGRES", ""
)  # e.g. postgresql+psycopg://postgres@127.0.0.1:5432/postgres


def fresh_database_url(tmp_path: Path) -> str:
    if not PG_ADMIN_URL:
        return f"sqlite:///{tmp_path / 'lobbyq.db'}"
    import sqlalchemy

    name = f"lobbyq_t_{uuid.uuid4().hex[:12]}"
    engine = sqlalchemy.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    engine.dispose()
    return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


def drop_database(url: str) -> None:
    if not url.startswith("postgresql"):
        return
    import sqlalchemy

    name = url.rsplit("/", 1)[1]
    engine = sqlalchemy.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    engine.dispose()


def wait_for_js(page: Any, expression: str, timeout: float = 30000) -> None:
    """Playwright's wait_for_function evaluates its string with eval() inside the page,
    which the pages' CSP forbids (no 'unsafe-eval'); page.evaluate goes through the
    DevTools protocol instead, so this polls it until the expression is truthy."""
    deadline = time.monotonic() + timeout / 1000
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise AssertionError(f"still false after {timeout / 1000:.0f} s: {expression}")
        page.wait_for_timeout(100)
