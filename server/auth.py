"""Who is asking: users (argon2 password hashes, signed expiring tokens) and
devices (kiosk and display tokens from the config)."""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import bindparam, select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from server.config import AppConfig
from server.errors import NotAuthenticated, TooMany
from server.keys import signing_key
from server.models import User

_hasher = PasswordHasher()
log = logging.getLogger(__name__)

WINDOW_S = 60.0  # the failed-login limit counts this many seconds back
REDIS_TIMEOUT_S = 0.5  # a login never waits longer on Redis
RETRY_S = 5.0  # after a Redis error, count in process this long before trying it again


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
    "admin": frozenset({"counter", "manage", "stats", "admin", "lobby"}),
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
    process, whichever hub and database they share."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._query = select(col(User.role), col(User.active), col(User.token_version)).where(
            col(User.username) == bindparam("username")
        )

    def lookup(self, username: str) -> tuple[str, bool, int] | None:
        with self._engine.connect() as connection:
            row = connection.execute(self._query, {"username": username}).first()
        if row is None:
            return None
        role, active, version = row
        return str(getattr(role, "value", role)), bool(active), int(version)


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


class LoginLimiter:
    """At most N failed logins per minute per (client, username).

    With a Redis hub configured (`[server] redis_url`) the failures are counted in Redis,
    one sorted set per (client, username) holding the last minute's failures, so the
    limit holds across every process behind the load balancer, not N times over. The
    failures are also counted in process: when Redis is unreachable the limiter falls
    back to that count (with a warning) instead of failing the login, and tries Redis
    again after a few seconds."""

    def __init__(self, per_minute: int, *, redis_url: str = "") -> None:
        self.per_minute = per_minute
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()
        shared = redis_url.startswith(("redis://", "rediss://"))  # not "" nor memory://
        self._shared = SharedFailures(redis_url) if shared else None

    def check(self, client: str, username: str) -> None:
        count = self._shared.count(client, username) if self._shared else None
        if count is None:
            count = self._local_count(client, username)
        if count >= self.per_minute:
            raise TooMany("too many failed logins; wait a minute", code="login_rate_limited")

    def failed(self, client: str, username: str) -> None:
        with self._lock:
            if len(self._failures) > 10_000:
                self._failures.clear()
            self._failures.setdefault((client, username.lower()), deque()).append(time.monotonic())
        if self._shared:
            self._shared.add(client, username)

    def succeeded(self, client: str, username: str) -> None:
        with self._lock:
            self._failures.pop((client, username.lower()), None)
        if self._shared:
            self._shared.clear(client, username)

    def _local_count(self, client: str, username: str) -> int:
        now = time.monotonic()
        with self._lock:
            failures = self._failures.get((client, username.lower()))
            while failures and now - failures[0] > WINDOW_S:
                failures.popleft()
            return len(failures) if failures else 0


class SharedFailures:
    """Failed logins of the last minute, in Redis: a sorted set per (client, username)
    whose members are the failures and whose scores their times. Every call is bounded by
    a short socket timeout; after an error Redis is left alone for RETRY_S (the caller
    then uses its own count), so a dead Redis costs a login at most one timeout."""

    def __init__(self, url: str) -> None:
        import redis

        from server.hub.redis import split_url

        clean, channel_prefix = split_url(url)
        # Installations sharing one Redis are told apart by DB number or channel_prefix.
        namespace = channel_prefix if "channel_prefix=" in url else "lobbyq:"
        self.prefix = f"{namespace}login-failures:"
        self._redis = redis.Redis.from_url(
            clean, socket_connect_timeout=REDIS_TIMEOUT_S, socket_timeout=REDIS_TIMEOUT_S
        )
        self._errors = (redis.RedisError, OSError)
        self._down_until = 0.0
        self._lock = threading.Lock()

    def key(self, client: str, username: str) -> str:
        who = hashlib.sha256(f"{client}\0{username.lower()}".encode()).hexdigest()[:32]
        return self.prefix + who

    def count(self, client: str, username: str) -> int | None:
        """Failures in the last minute, or None when Redis cannot say."""
        if not self._available():
            return None
        try:
            since = time.time() - WINDOW_S
            return int(self._redis.zcount(self.key(client, username), f"({since}", "+inf"))
        except self._errors as exc:
            self._went_away(exc)
            return None

    def add(self, client: str, username: str) -> None:
        if not self._available():
            return
        key = self.key(client, username)
        now = time.time()
        try:
            with self._redis.pipeline(transaction=True) as pipe:
                pipe.zadd(key, {f"{now:.6f}:{secrets.token_hex(4)}": now})
                pipe.zremrangebyscore(key, "-inf", now - WINDOW_S)
                pipe.expire(key, int(WINDOW_S) + 1)
                pipe.execute()
        except self._errors as exc:
            self._went_away(exc)

    def clear(self, client: str, username: str) -> None:
        if not self._available():
            return
        try:
            self._redis.delete(self.key(client, username))
        except self._errors as exc:
            self._went_away(exc)

    def _available(self) -> bool:
        with self._lock:
            return time.monotonic() >= self._down_until

    def _went_away(self, exc: BaseException) -> None:
        with self._lock:
            self._down_until = time.monotonic() + RETRY_S
        log.warning(
            "login limit: Redis unreachable (%s); counting failed logins in this process "
            "for %.0f s",
            exc,
            RETRY_S,
        )
