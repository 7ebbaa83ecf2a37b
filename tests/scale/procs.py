"""Real `lobbyq serve` processes for the scale and crash tests (and bench/soak.py):
a TOML config written to disk, a subprocess on a loopback port, waits and kills."""

from __future__ import annotations

import copy
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from tests.support import BASE_CONFIG

ROOT = Path(__file__).resolve().parents[2]


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot write {type(value).__name__} as TOML")


# Sections written as [tables]; small maps such as name = { zh, en } stay inline.
TABLES = ("server", "voice", "hours")


def to_toml(data: dict[str, Any], prefix: str = "") -> str:
    """Enough TOML for our configs: tables, arrays of tables, inline values."""
    lines: list[str] = []
    tables: list[tuple[str, Any]] = []
    for key, value in data.items():
        is_list_of_tables = isinstance(value, list) and all(isinstance(v, dict) for v in value)
        if (isinstance(value, dict) and key in TABLES) or (value and is_list_of_tables):
            tables.append((key, value))
        else:
            lines.append(f"{key} = {toml_value(value)}")
    out = "\n".join(lines) + ("\n" if lines else "")
    for key, value in tables:
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out += f"\n[{name}]\n" + to_toml(value, name + ".")
        else:
            for item in value:
                out += f"\n[[{name}]]\n" + to_toml(item, name + ".")
    return out


def config_data(
    database_url: str,
    data_dir: Path,
    *,
    redis_url: str = "",
    server: dict[str, Any] | None = None,
    users: tuple[str, ...] | None = None,
    **branch_overrides: Any,
) -> dict[str, Any]:
    """The tests' config (tests.support.BASE_CONFIG) as a dict; `users` keeps only
    the named accounts (each password hash costs a moment at start-up)."""
    data = copy.deepcopy(BASE_CONFIG)
    if users is not None:
        data["users"] = [u for u in data["users"] if u["username"] in users]
    data["server"].update(
        {"database_url": database_url, "data_dir": str(data_dir), "redis_url": redis_url}
    )
    data["server"].update(server or {})
    data["branches"][0].update(branch_overrides)
    return data


def write_config(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(to_toml(data), encoding="utf-8")
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PortTaken(Exception):
    """The server could not bind its port: another process took it first."""


def listens_on(pid: int, port: int) -> bool:
    """Whether process `pid` holds a listening TCP socket on `port` (Linux /proc)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:  # LISTEN
                inodes.add(f"socket:[{fields[9]}]")
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return False
    for fd in fds:
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}") in inodes:
                return True
        except OSError:
            continue
    return False


class ServerProcess:
    """`lobbyq serve --config PATH --port P` in a subprocess of its own."""

    def __init__(
        self,
        config_path: Path,
        *,
        port: int | None = None,
        log: Path | None = None,
        args: tuple[str, ...] = (),
    ):
        self.config_path = config_path
        self.args = args  # more `lobbyq serve` options, e.g. ("--log-format", "json")
        self._port_given = port is not None
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log or config_path.with_suffix(f".{self.port}.log")
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def api(self) -> str:
        return f"{self.url}/api/v1"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self, timeout: float = 180) -> ServerProcess:
        """Start and wait until this process answers. A free port can be taken by
        another test's server between free_port() and the bind (seen in CI: the
        health check then reached the other server); the bind failing on a port of
        our own choosing is retried on a new one, a few times."""
        for _ in range(5):
            try:
                return self._start_once(timeout)
            except PortTaken:
                if self._port_given:
                    raise
                self.port = free_port()
                self.url = f"http://127.0.0.1:{self.port}"
        raise RuntimeError("no free port after 5 tries")

    def _start_once(self, timeout: float) -> ServerProcess:
        # PYTHONFAULTHANDLER: a crash of the process leaves its threads' stacks in the log.
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONFAULTHANDLER": "1"}
        env.pop("LOBBYQ_CONFIG", None)
        log_start = self.log.stat().st_size if self.log.exists() else 0
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "server.cli",
                    "serve",
                    "--config",
                    str(self.config_path),
                    "--port",
                    str(self.port),
                    *self.args,
                ],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            self.wait_ready(timeout)
        except BaseException:
            self.kill()  # never leave a half-started server behind
            if b"address already in use" in self.log.read_bytes()[log_start:]:
                raise PortTaken(self.port) from None
            raise
        return self

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.tail()}")
            try:
                answered = httpx.get(f"{self.api}/health", timeout=5).status_code == 200
            except httpx.HTTPError:
                answered = False
            # Someone answered on the port: it must be this process listening there.
            if answered and listens_on(self.proc.pid, self.port):
                return
            time.sleep(0.1)
        raise RuntimeError(f"server did not start in {timeout}s:\n{self.tail()}")

    def tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def kill(self) -> None:
        """SIGKILL: no shutdown handler runs."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()

    def rss_kb(self) -> int:
        """Resident memory of the server process, from /proc."""
        try:
            for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        except OSError:
            pass
        return 0


def login(api: str, username: str, password: str) -> str:
    response = httpx.post(
        f"{api}/auth/login", json={"username": username, "password": password}, timeout=60
    )
    response.raise_for_status()
    return str(response.json()["access_token"])


# --- Postgres databases of their own --------------------------------------------------


def fresh_pg_database(admin_url: str) -> str:
    import sqlalchemy

    name = f"lobbyq_s_{uuid.uuid4().hex[:12]}"
    engine = sqlalchemy.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    engine.dispose()
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


def drop_pg_database(admin_url: str, url: str) -> None:
    import sqlalchemy

    name = url.rsplit("/", 1)[1]
    engine = sqlalchemy.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    engine.dispose()
