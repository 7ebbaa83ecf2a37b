"""Failed-login limits that hold attackers back, not tellers (docs/security.md).

Three counts of failed sign-ins, each checked before the password is:

- per (address, account), the last minute: at `login_attempts_per_minute` that
  address may not try that account until the minute has passed (a guesser at one
  desk; the teller at their own desk is another address and unaffected);
- per address, across accounts, the last minute: at
  `login_failures_per_address_per_minute` the address may try no account (one
  password sprayed over many users);
- per account, across addresses, the last 15 minutes: past twice
  `login_attempts_per_minute` failures, an address that has never signed in to the
  account waits an exponential back-off after the account's last failure (15, 30,
  60 ... up to 300 s): a guesser spread over many addresses. An address that signed
  in to the account before (in the last 30 days) is not held back: the teller's own
  desk keeps working.

The address is the peer's, or per X-Forwarded-For only from `[server] trusted_proxies`
(server/security.py). With a Redis hub (`[server] redis_url`) the counts live in Redis,
so the limits hold once across every process; when Redis is unreachable each process
counts on its own (with one warning) and tries Redis again after a few seconds."""

from __future__ import annotations

import hashlib
import logging
import math
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass

from server.errors import TooMany

log = logging.getLogger("server.auth")

WINDOW_S = 60.0  # the per-pair and per-address limits count this many seconds back
ACCOUNT_WINDOW_S = 900.0  # the per-account back-off counts this far back
BACKOFF_FIRST_S = 15.0  # the account back-off's first wait, doubled per failure
BACKOFF_MAX_S = 300.0
KNOWN_S = 30 * 86400  # an address that signed in to an account is known this long
REDIS_TIMEOUT_S = 0.5  # a login never waits longer on Redis
RETRY_S = 5.0  # after a Redis error, count in process this long before trying it again


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Keys:
    pair: str
    address: str
    account: str
    known: str

    @classmethod
    def of(cls, client: str, username: str) -> Keys:
        who = username.lower()
        return cls(
            pair=_digest(f"{client}\0{who}"),
            address="addr:" + _digest(client),
            account="acct:" + _digest(who),
            known="known:" + _digest(f"{client}\0{who}"),
        )

    def windows(self) -> list[tuple[str, float]]:
        return [(self.pair, WINDOW_S), (self.address, WINDOW_S), (self.account, ACCOUNT_WINDOW_S)]


@dataclass(frozen=True)
class Counts:
    pair: int
    address: int
    account: int
    account_last: float  # time.time() of the account's last failure
    known: bool


class LoginLimiter:
    def __init__(self, per_minute: int, *, redis_url: str = "", per_address: int = 0) -> None:
        self.per_minute = per_minute
        self.per_address = per_address or 3 * per_minute
        self._local = LocalFailures()
        shared = redis_url.startswith(("redis://", "rediss://"))  # not "" nor memory://
        self._shared = SharedFailures(redis_url) if shared else None

    def check(self, client: str, username: str) -> None:
        """Raise TooMany when this attempt must not be tried now."""
        keys = Keys.of(client, username)
        counts = self._shared.counts(keys) if self._shared else None
        if counts is None:
            counts = self._local.counts(keys)
        if counts.pair >= self.per_minute:
            raise TooMany("too many failed logins; wait a minute", code="login_rate_limited")
        if counts.address >= self.per_address:
            raise TooMany(
                "too many failed logins from this address; wait a minute",
                code="login_rate_limited",
            )
        backoff_from = 2 * self.per_minute
        if not counts.known and counts.account >= backoff_from:
            delay = min(BACKOFF_FIRST_S * 2.0 ** (counts.account - backoff_from), BACKOFF_MAX_S)
            wait = counts.account_last + delay - time.time()
            if wait > 0:
                raise TooMany(
                    f"this account had many failed sign-ins; try again in {math.ceil(wait)} s",
                    code="login_backoff",
                )

    def failed(self, client: str, username: str) -> None:
        keys = Keys.of(client, username)
        self._local.add(keys)
        if self._shared:
            self._shared.add(keys)

    def succeeded(self, client: str, username: str) -> None:
        """The pair starts again and the address is known for the account. The
        address's and the account's counts stay: a success proves nothing about the
        other accounts tried from the address, nor the other addresses trying it."""
        keys = Keys.of(client, username)
        self._local.succeeded(keys)
        if self._shared:
            self._shared.succeeded(keys)


class LocalFailures:
    """The counts in this process (no Redis, or Redis away)."""

    def __init__(self) -> None:
        self._failures: dict[str, deque[float]] = {}
        self._known: dict[str, float] = {}
        self._lock = threading.Lock()

    def counts(self, keys: Keys) -> Counts:
        now = time.time()
        with self._lock:
            found = []
            for key, window in keys.windows():
                failures = self._failures.get(key)
                while failures and now - failures[0] > window:
                    failures.popleft()
                found.append(failures or deque())
            known = self._known.get(keys.known, 0.0) > now
        pair, address, account = found
        last = account[-1] if account else 0.0
        return Counts(len(pair), len(address), len(account), last, known)

    def add(self, keys: Keys) -> None:
        now = time.time()
        with self._lock:
            if len(self._failures) > 30_000:
                self._failures.clear()
            for key, _ in keys.windows():
                self._failures.setdefault(key, deque()).append(now)

    def succeeded(self, keys: Keys) -> None:
        with self._lock:
            self._failures.pop(keys.pair, None)
            if len(self._known) > 30_000:
                self._known.clear()
            self._known[keys.known] = time.time() + KNOWN_S


class SharedFailures:
    """The counts in Redis: a sorted set per key whose members are the failures and
    whose scores their times, and a plain key per known (address, account). Every call
    is one pipeline bounded by a short socket timeout; after an error Redis is left
    alone for RETRY_S (the caller then uses its own count), so a dead Redis costs a
    login at most one timeout."""

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
        """The Redis key of the (address, account) count."""
        return self.prefix + Keys.of(client, username).pair

    def counts(self, keys: Keys) -> Counts | None:
        """The counts, or None when Redis cannot say."""
        if not self._available():
            return None
        now = time.time()
        try:
            with self._redis.pipeline(transaction=False) as pipe:
                for key, window in keys.windows():
                    pipe.zcount(self.prefix + key, f"({now - window}", "+inf")
                pipe.zrange(self.prefix + keys.account, -1, -1, withscores=True)
                pipe.exists(self.prefix + keys.known)
                pair, address, account, last, known = pipe.execute()
        except self._errors as exc:
            self._went_away(exc)
            return None
        account_last = float(last[0][1]) if last else 0.0
        return Counts(int(pair), int(address), int(account), account_last, bool(known))

    def add(self, keys: Keys) -> None:
        if not self._available():
            return
        now = time.time()
        member = f"{now:.6f}:{secrets.token_hex(4)}"
        try:
            with self._redis.pipeline(transaction=True) as pipe:
                for key, window in keys.windows():
                    pipe.zadd(self.prefix + key, {member: now})
                    pipe.zremrangebyscore(self.prefix + key, "-inf", now - window)
                    pipe.expire(self.prefix + key, int(window) + 1)
                pipe.execute()
        except self._errors as exc:
            self._went_away(exc)

    def succeeded(self, keys: Keys) -> None:
        if not self._available():
            return
        try:
            with self._redis.pipeline(transaction=True) as pipe:
                pipe.delete(self.prefix + keys.pair)
                pipe.set(self.prefix + keys.known, 1, ex=KNOWN_S)
                pipe.execute()
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
