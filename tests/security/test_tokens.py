"""Staff tokens: no public key signs them, the users table is asked on every request,
and logout, a new password or role, and disabling a user end them at once."""

from __future__ import annotations

import stat
from pathlib import Path

import httpx
import pytest
from itsdangerous import URLSafeTimedSerializer
from typer.testing import CliRunner

from server.bootstrap import create_user
from server.cli import app as cli
from server.config import ConfigError, parse_config
from server.keys import KEY_FILE, generated_key
from tests.scale.procs import to_toml
from tests.support import BASE_CONFIG, PASSWORDS, LiveServer, live_server, make_config

DEMO_KEY = "demo-only-change-me-in-production"
HTTP = httpx.Client(timeout=30)  # the machine may be busy: the tests' usual timeout


def me(server: LiveServer, token: str) -> httpx.Response:
    return HTTP.get(f"{server.api}/auth/me", headers={"Authorization": f"Bearer {token}"})


def fresh_login(server: LiveServer, username: str, password: str | None = None) -> str:
    response = HTTP.post(
        f"{server.api}/auth/login",
        json={"username": username, "password": password or PASSWORDS[username]},
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


class TestSigningKey:
    def test_the_demo_key_never_signs_a_token(self, database_url: str, tmp_path: Path) -> None:
        config = make_config(database_url, tmp_path / "data")
        config = config.model_copy(
            update={"server": config.server.model_copy(update={"secret_key": DEMO_KEY})}
        )
        with live_server(config) as server:
            forged = URLSafeTimedSerializer(DEMO_KEY, salt="lobbyq-access").dumps(
                {"u": "admin", "r": "admin", "v": 0}
            )
            refused = me(server, forged)
            assert refused.status_code == 401
            assert refused.json()["error"]["code"] == "invalid_token"
            assert me(server, fresh_login(server, "admin")).status_code == 200
        key_file = tmp_path / "data" / KEY_FILE
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        assert len(key_file.read_text().strip()) >= 32

    def test_the_generated_key_is_kept_and_shared(self, tmp_path: Path) -> None:
        first = generated_key(tmp_path / "d")
        assert generated_key(tmp_path / "d") == first  # a restart or a second process
        assert generated_key(tmp_path / "other") != first

    @pytest.mark.parametrize(
        ("key", "reason"),
        [("short-key-123", "is 13 characters"), ("ab" * 20, "different characters")],
    )
    def test_a_weak_key_of_ones_own_stops_start_up(
        self, tmp_path: Path, key: str, reason: str
    ) -> None:
        data = {**BASE_CONFIG, "server": {"secret_key": key, "data_dir": str(tmp_path)}}
        with pytest.raises(ConfigError) as refused:
            parse_config(data)
        assert "server.secret_key" in str(refused.value) and reason in str(refused.value)
        path = tmp_path / "weak.toml"
        path.write_text(to_toml(data), encoding="utf-8")
        result = CliRunner().invoke(cli, ["serve", "--config", str(path), "--port", "1"])
        assert result.exit_code == 2
        assert "server.secret_key" in result.output

    def test_a_user_not_in_the_table_is_refused(self, server: LiveServer) -> None:
        assert server.store is not None
        ghost = server.store.tokens.issue("ghost", "admin", 0)  # signed with the real key
        refused = me(server, ghost)
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == "token_revoked"
        # Nor may a real user's token claim another role.
        claimed = server.store.tokens.issue("teller1", "admin", 0)
        assert me(server, claimed).status_code == 401
        stats = HTTP.get(
            f"{server.api}/branches/b1/stats", headers={"Authorization": f"Bearer {claimed}"}
        )
        assert stats.status_code == 401


class TestRevocation:
    def test_logout_ends_every_token_of_the_user(self, server: LiveServer) -> None:
        desk, keypad = fresh_login(server, "teller1"), fresh_login(server, "teller1")
        other = fresh_login(server, "teller2")
        out = HTTP.post(f"{server.api}/auth/logout", headers={"Authorization": f"Bearer {desk}"})
        assert out.status_code == 200
        for token in (desk, keypad):
            refused = me(server, token)
            assert refused.status_code == 401
            assert refused.json()["error"]["code"] == "token_revoked"
        opened = HTTP.post(
            f"{server.api}/branches/b1/counters/1/open",
            headers={"Authorization": f"Bearer {keypad}"},
        )
        assert opened.status_code == 401
        assert me(server, other).status_code == 200  # others stay signed in
        assert me(server, fresh_login(server, "teller1")).status_code == 200

    def test_a_new_password_or_role_ends_the_old_tokens(self, server: LiveServer) -> None:
        assert server.store is not None
        token = fresh_login(server, "manager")
        notice = {"zh": "通知", "en": "Notice"}
        put = HTTP.put(
            f"{server.api}/branches/b1/notice",
            json=notice,
            headers={"Authorization": f"Bearer {token}"},
        )
        assert put.status_code == 200
        with server.store.db.write() as session:  # what `lobbyq create-user` does
            create_user(session, username="manager", password="new-pass-123", role="teller")
        again = HTTP.put(
            f"{server.api}/branches/b1/notice",
            json=notice,
            headers={"Authorization": f"Bearer {token}"},
        )
        assert again.status_code == 401
        demoted = fresh_login(server, "manager", "new-pass-123")
        assert me(server, demoted).json()["role"] == "teller"

    def test_disable_user_from_the_command_line(self, server: LiveServer, tmp_path: Path) -> None:
        token = fresh_login(server, "teller3")
        path = tmp_path / "same.toml"
        data = {**BASE_CONFIG, "server": {**server.config.server.model_dump()}}
        path.write_text(to_toml(data), encoding="utf-8")
        result = CliRunner().invoke(cli, ["disable-user", "teller3", "--config", str(path)])
        assert result.exit_code == 0, result.output
        assert me(server, token).status_code == 401
        login = HTTP.post(
            f"{server.api}/auth/login",
            json={"username": "teller3", "password": PASSWORDS["teller3"]},
        )
        assert login.status_code == 401
        missing = CliRunner().invoke(cli, ["disable-user", "nobody", "--config", str(path)])
        assert missing.exit_code == 1
