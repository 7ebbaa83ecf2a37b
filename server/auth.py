"""Who is asking: users (argon2 password hashes, signed expiring tokens) and
devices (kiosk and display tokens from the config)."""

from __future__ import annotations

import functools
import hmac
import logging
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from server.config import AppConfig
from server.errors import NotAuthenticated
from server.login_limit import LoginLimiter, SharedFailures

__all__ = ["LoginLimiter", "SharedFailures"]  # where they lived before
from server.keys import signing_key
from server.models import User

_hasher = PasswordHasher()
log = logging.getLogger(__name__)



@functools.cache
def _dummy_hash() -> str:
    """Verifying against this when the user does not exist keeps timing the same
    (made on first use: hashing at import slowed every `lobbyq` command)."""
    return _hasher.hash(secrets.token_hex(16))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        verified = _hasher.verify(password_hash or _dummy_hash(), password)
        return verified and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


# What each role may do. Checks ask for a capability, never for a role's name, so a
# new role is one line here (docs/security.md lists the matrix).
ROLE_CAPABILITIES: dict[str, frozenset[str]] = {
    "teller": frozenset({"counter"}),
    # 大堂经理: the lobby tablet (issue for customers, appointments, VIPs, moves).
    "lobby": frozenset({"lobby"}),
    "manager": frozenset({"counter", "manage", "stats", "lobby"}),
    "admin": frozenset({"counter", "manage", "stats", "admin", "lobby", "overview"}),
    "regional": frozenset({"stats", "overview"}),  # read-only: its branches (server/hq)
}


@dataclass(frozen=True)
class Principal:
    kind: Literal["user", "kiosk", "display", "counter"]
    name: str  # username or device id
    role: str = ""  # a key of ROLE_CAPABILITIES for users
    branch: str | None = None  # devices belong to one branch
    counter: str | None = None  # a counter device (sign and pad) belongs to one counter

    @property
    def is_staff(self) -> bool:
        return self.kind == "user"

    def can(self, capability: str) -> bool:
        return self.kind == "user" and capability in ROLE_CAPABILITIES.get(self.role, ())

    @property
    def is_manager(self) -> bool:
        return self.can("manage")


class UserDirectory:
    """Who a staff token names, as the users table says now: (role, active,
    token_version), one indexed lookup by username per request. No cache, so a logout,
    a new password or role, or a disabled user refuses the old tokens at once in every
    process, whichever hub and database they share. The query goes straight to the
    driver on a pooled connection: SQLAlchemy's execution machinery cost more than the
    lookup itself (bench/bench_auth.py)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        mark = "?" if engine.dialect.paramstyle == "qmark" else "%s"
        self._sql = f'SELECT role, active, token_version FROM "user" WHERE username = {mark}'

    def lookup(self, username: str) -> tuple[str, bool, int] | None:
        connection = self._engine.raw_connection()
        try:
            cursor = connection.cursor()
            try:
                cursor.execute(self._sql, (username,))
                row = cursor.fetchone()
            finally:
                cursor.close()
        finally:
            connection.close()  # back to the pool
        if row is None:
            return None
        role, active, version = row
        return str(role), bool(active), int(version)


def end_sessions(session: Session, username: str) -> None:
    """Every token the user holds stops working (logout, new password or role,
    disabled): the next request of each finds a newer token_version."""
    session.execute(
        update(User)
        .where(col(User.username) == username)
        .values(token_version=col(User.token_version) + 1)
    )


class Tokens:
    def __init__(self, config: AppConfig, users: UserDirectory | None = None) -> None:
        key = signing_key(config.server.secret_key, Path(config.server.data_dir))
        self._serializer = URLSafeTimedSerializer(key, salt="lobbyq-access")
        self._ttl_s = int(config.server.token_ttl_hours * 3600)
        self._users = users
        self._devices: dict[str, Principal] = {}
        for branch in config.branches:
            for kiosk in branch.kiosks:
                self._devices[kiosk.token] = Principal("kiosk", kiosk.id, branch=branch.code)
            for display in branch.displays:
                self._devices[display.token] = Principal("display", display.id, branch=branch.code)
            for device in branch.counter_devices:
                self._devices[device.token] = Principal(
                    "counter", device.id, branch=branch.code, counter=device.counter
                )

    def issue(self, username: str, role: str, version: int) -> str:
        return self._serializer.dumps({"u": username, "r": role, "v": version})

    def device(self, token: str) -> Principal | None:
        for device_token, device in self._devices.items():
            if hmac.compare_digest(device_token.encode(), token.encode()):
                return device
        return None

    def resolve(self, token: str) -> Principal:
        device = self.device(token)
        if device is not None:
            return device
        try:
            data = self._serializer.loads(token, max_age=self._ttl_s)
        except SignatureExpired as exc:
            raise NotAuthenticated(
                "your session has expired; sign in again", code="token_expired"
            ) from exc
        except BadSignature as exc:
            raise NotAuthenticated("invalid token", code="invalid_token") from exc
        if not isinstance(data, dict) or not isinstance(data.get("u"), str):
            raise NotAuthenticated("invalid token", code="invalid_token")
        principal = Principal("user", data["u"], role=str(data.get("r", "")))
        if self._users is not None:
            found = self._users.lookup(principal.name)
            if found is None or found != (principal.role, True, data.get("v")):
                raise NotAuthenticated(
                    "this session has ended (signed out, password or role changed, or the "
                    "user was disabled); sign in again",
                    code="token_revoked",
                )
        return principal

    @property
    def ttl_s(self) -> int:
        return self._ttl_s
