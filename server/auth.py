"""Who is asking: users (argon2 password hashes, signed expiring tokens) and
devices (kiosk and display tokens from the config)."""

from __future__ import annotations

import functools
import hmac
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from server.config import AppConfig
from server.errors import NotAuthenticated, TooMany

_hasher = PasswordHasher()


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


@dataclass(frozen=True)
class Principal:
    kind: Literal["user", "kiosk", "display"]
    name: str  # username or device id
    role: str = ""  # teller | manager | admin for users
    branch: str | None = None  # devices belong to one branch

    @property
    def is_staff(self) -> bool:
        return self.kind == "user"

    @property
    def is_manager(self) -> bool:
        return self.kind == "user" and self.role in ("manager", "admin")


class Tokens:
    def __init__(self, config: AppConfig) -> None:
        self._serializer = URLSafeTimedSerializer(config.server.secret_key, salt="lobbyq-access")
        self._ttl_s = int(config.server.token_ttl_hours * 3600)
        self._devices: dict[str, Principal] = {}
        for branch in config.branches:
            for kiosk in branch.kiosks:
                self._devices[kiosk.token] = Principal("kiosk", kiosk.id, branch=branch.code)
            for display in branch.displays:
                self._devices[display.token] = Principal("display", display.id, branch=branch.code)

    def issue(self, username: str, role: str) -> str:
        return self._serializer.dumps({"u": username, "r": role})

    def resolve(self, token: str) -> Principal:
        for device_token, device in self._devices.items():
            if hmac.compare_digest(device_token.encode(), token.encode()):
                return device
        try:
            data = self._serializer.loads(token, max_age=self._ttl_s)
        except SignatureExpired as exc:
            raise NotAuthenticated(
                "your session has expired; sign in again", code="token_expired"
            ) from exc
        except BadSignature as exc:
            raise NotAuthenticated("invalid token", code="invalid_token") from exc
        if not isinstance(data, dict) or "u" not in data:
            raise NotAuthenticated("invalid token", code="invalid_token")
        return Principal("user", str(data["u"]), role=str(data.get("r", "")))

    @property
    def ttl_s(self) -> int:
        return self._ttl_s


class LoginLimiter:
    """At most N failed logins per minute per (client, username)."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def check(self, client: str, username: str) -> None:
        now = time.monotonic()
        with self._lock:
            failures = self._failures.get((client, username.lower()))
            while failures and now - failures[0] > 60:
                failures.popleft()
            if failures and len(failures) >= self.per_minute:
                raise TooMany("too many failed logins; wait a minute", code="login_rate_limited")

    def failed(self, client: str, username: str) -> None:
        with self._lock:
            if len(self._failures) > 10_000:
                self._failures.clear()
            self._failures.setdefault((client, username.lower()), deque()).append(time.monotonic())

    def succeeded(self, client: str, username: str) -> None:
        with self._lock:
            self._failures.pop((client, username.lower()), None)
