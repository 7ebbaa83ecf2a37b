"""A bounded per-address rate limit on the public booking and opinion routes.

The `limits` library (moving window) rather than our own deque: its in-memory store
expires keys by itself, so a flood from many addresses cannot grow memory without
bound, and the same limiter can count in Redis when several processes serve one
branch. With a Redis hub configured the counts live there; if Redis fails, the
process counts on its own for a while rather than refusing or waving everyone through.
"""

from __future__ import annotations

import logging
import time

from limits import RateLimitItemPerMinute
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from server.errors import TooMany

log = logging.getLogger(__name__)
RETRY_S = 10.0
READS_PER_WRITE = 5  # a page polls and looks up more often than it posts


class LocalStorage(MemoryStorage):
    """`limits`' in-memory storage without a thread per hit.

    MemoryStorage schedules its expiry sweep on a 10 ms `threading.Timer` at every hit
    and starts a new thread whenever the last one has finished: with requests more
    than 10 ms apart, nearly every hit started a thread on the event loop (py-spy on
    bench/bench_booking.py: 13% of a slots request, most of it in Thread.start). Here
    the same sweep runs inline, at most once a second, so keys still expire on their
    own and memory stays bounded."""

    SWEEP_S = 1.0

    def __init__(self) -> None:
        super().__init__()
        self.timer.cancel()
        self._swept = time.monotonic()

    def _MemoryStorage__schedule_expiry(self) -> None:  # noqa: N802 (overrides the private)
        now = time.monotonic()
        if now - self._swept >= self.SWEEP_S:
            self._swept = now
            self._MemoryStorage__expire_events()  # type: ignore[attr-defined]


class PublicLimiter:
    def __init__(self, per_minute: int, *, redis_url: str = "") -> None:
        self.writes = RateLimitItemPerMinute(per_minute)
        self.reads = RateLimitItemPerMinute(per_minute * READS_PER_WRITE)
        self._local = MovingWindowRateLimiter(LocalStorage())
        self._shared: MovingWindowRateLimiter | None = None
        self._down_until = 0.0
        if redis_url.startswith(("redis://", "rediss://")):
            from server.hub.redis import split_url

            clean, _ = split_url(redis_url)
            self._shared = MovingWindowRateLimiter(
                storage_from_string(clean, socket_timeout=0.5, socket_connect_timeout=0.5)
            )

    def hit(self, client: str, kind: str, *, write: bool = True) -> None:
        """Count one request of `client` on `kind` (e.g. "booking"); 429 over the limit."""
        item = self.writes if write else self.reads
        allowed = None
        if self._shared is not None and time.monotonic() >= self._down_until:
            try:
                allowed = self._shared.hit(item, "lobbyq-public", kind, client)
            except Exception as exc:  # any Redis or socket error: count here instead
                self._down_until = time.monotonic() + RETRY_S
                log.warning("public rate limit: Redis unreachable (%s); counting in process", exc)
        if allowed is None:
            allowed = self._local.hit(item, "lobbyq-public", kind, client)
        if not allowed:
            raise TooMany(
                "请求过于频繁，请稍后再试。Too many requests; please wait a minute.",
                code="rate_limited",
            )
