"""`lobbyq init-db`, `create-user` and `serve` as an operator runs them."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]


def lobbyq(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "server.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
    )


def demo_copy(tmp_path: Path, database_url: str) -> Path:
    text = (ROOT / "config.example.toml").read_text(encoding="utf-8")
    text = text.replace(
        'database_url = "sqlite:///data/lobbyq.db"', f'database_url = "{database_url}"'
    )
    text = text.replace('data_dir = "data"', f'data_dir = "{tmp_path / "data"}"')
    path = tmp_path / "lobbyq.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_init_db_generates_passwords_once_and_create_user_sets_one(
    tmp_path: Path, database_url: str
) -> None:
    config = demo_copy(tmp_path, database_url)
    first = lobbyq("init-db", "--config", str(config), cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    passwords = (
        (tmp_path / "data" / "initial-passwords.txt").read_text(encoding="utf-8").splitlines()
    )
    assert [line.split("\t")[0] for line in passwords][:2] == ["admin", "manager"]
    assert all(len(line.split("\t")[1]) >= 10 for line in passwords)
    again = lobbyq("init-db", "--config", str(config), cwd=tmp_path)
    assert again.returncode == 0
    assert len((tmp_path / "data" / "initial-passwords.txt").read_text().splitlines()) == len(
        passwords
    )
    made = lobbyq(
        "create-user",
        "zhao",
        "--role",
        "manager",
        "--password",
        "zhao-pass-123",
        cwd=tmp_path,
        env={"LOBBYQ_CONFIG": str(config)},
    )
    assert made.returncode == 0 and "zhao" in made.stdout
    weak = lobbyq(
        "create-user", "qian", "--password", "short", "--config", str(config), cwd=tmp_path
    )
    assert weak.returncode == 2 and "at least 8" in weak.stderr


def test_serve_prints_the_pages_and_answers(tmp_path: Path, database_url: str) -> None:
    config = demo_copy(tmp_path, database_url)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "server.cli", "serve", "--config", str(config), "--port", str(port)],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        deadline = time.monotonic() + 180  # start-up on a loaded machine
        health = None
        while time.monotonic() < deadline:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        assert health is not None and health.json()["status"] == "ok"
        services = httpx.get(f"http://127.0.0.1:{port}/api/v1/branches/sz01/services").json()
        assert len(services) == 5 and services[0]["name"]["zh"] == "个人现金业务"
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=30)
    assert f"http://127.0.0.1:{port}/kiosk/sz01/k1?token=" in output
    assert (
        "/display/sz01/tv1?token=" in output
        and "/counter/sz01" in output
        and "/dashboard/sz01" in output
    )
    assert "initial-passwords.txt" in output
