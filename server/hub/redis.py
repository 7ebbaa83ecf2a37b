"""Redis pub/sub hub: several server processes on one database act as one system.

Each process keeps one pub/sub connection that pattern-subscribes to every
branch channel (`lobbyq:<db>:events:<branch>`, or `<prefix><branch>` with
`?channel_prefix=` in the URL), and one publisher task. An event published here is
delivered to this process's subscribers at once (no round trip through Redis) and
sent to Redis for the others; the copy Redis echoes back is recognised by its
`origin` and dropped, so a local subscriber sees it exactly once.

Redis carries notifications, not the truth: the event log in the database is. While
Redis is away, events are buffered (bounded) and sent after it returns, and every
local subscriber is marked overflowed when the connection comes back, so that each
WebSocket resyncs from the database instead of silently missing what the other
processes published meanwhile."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import uuid
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from server.events import Event
from server.hub.base import Subscription
from server.hub.memory import MemoryHub

log = logging.getLogger("lobbyq.hub.redis")

# Events waiting for Redis while it is unreachable; beyond this the oldest are
# dropped (the displays resync from the database when Redis returns).
OUTBOX_LIMIT = 10_000
BACKOFF_MIN_S = 0.1
BACKOFF_MAX_S = 5.0


def split_url(url: str) -> tuple[str, str]:
    """(URL for redis-py, channel prefix). `?channel_prefix=` is ours, not redis-py's;
    without it the prefix names the Redis database number, since pub/sub channels are
    shared by all databases of one server."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    ours = dict(query).get("channel_prefix", "")
    rest = [(k, v) for k, v in query if k != "channel_prefix"]
    clean = urlunsplit(parts._replace(query=urlencode(rest)))
    if ours:
        return clean, ours
    db = parts.path.strip("/") or "0"
    return clean, f"lobbyq:{db}:events:"


def _glob_escape(text: str) -> str:
    return "".join(f"\\{c}" if c in "*?[]\\" else c for c in text)


def encode(event: Event, origin: str) -> str:
    # default=str: a stray non-JSON value must not fail a request that already committed.
    return json.dumps(
        {"origin": origin, "branch": event.branch, **event.wire()},
        ensure_ascii=False,
        default=str,
    )


def decode(payload: str | bytes) -> tuple[str, Event]:
    data: dict[str, Any] = json.loads(payload)
    event = Event(
        branch=str(data["branch"]),
        type=str(data["type"]),
        seq=int(data["seq"]),
        at=datetime.fromisoformat(str(data["at"])),
        data=dict(data.get("data") or {}),
    )
    return str(data.get("origin", "")), event


def subscription_limit(subscription: Subscription) -> int:
    size = getattr(subscription, "queue_size", None)
    if isinstance(size, int):
        return size
    queue = getattr(subscription, "queue", None)
    return int(getattr(queue, "maxsize", 0) or 100_000)


class RedisHub:
    def __init__(self, url: str, *, queue_size: int = 256) -> None:
        self.url, self.prefix = split_url(url)
        self.queue_size = queue_size
        self.origin = uuid.uuid4().hex
        self._local = MemoryHub(queue_size=queue_size)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._redis: aioredis.Redis | None = None
        self._outbox: deque[tuple[str, str]] = deque(maxlen=OUTBOX_LIMIT)
        self._outbox_ready: asyncio.Event | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._listening = asyncio.Event()
        self._subscriptions: set[Subscription] = set()
        self.connected = False
        self.published = 0
        self.received = 0
        self.dropped = 0

    # --- lifecycle -------------------------------------------------------------------

    async def start(self) -> None:
        if self._loop is not None:
            return
        await self._local.start()
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self._outbox_ready = asyncio.Event()
        self._listening = asyncio.Event()
        self._redis = aioredis.Redis.from_url(
            self.url,
            socket_connect_timeout=2,
            socket_keepalive=True,
            health_check_interval=10,
        )
        self._tasks = [
            asyncio.create_task(self._listen(), name="lobbyq-redis-listen"),
            asyncio.create_task(self._publish_loop(), name="lobbyq-redis-publish"),
        ]
        # Give Redis a moment so that events published right after start-up reach
        # the other processes; a Redis that is down does not stop the server.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._listening.wait(), timeout=3)

    async def stop(self) -> None:
        if self._loop is None:
            return
        await self._flush(timeout=2)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []
        if self._redis is not None:
            with contextlib.suppress(RedisError, OSError):
                await self._redis.aclose()
        self._redis = None
        await self._local.stop()
        self._loop = None
        self.connected = False

    async def _flush(self, timeout: float) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while self._outbox and self.connected:
            if asyncio.get_running_loop().time() > deadline:
                break
            await asyncio.sleep(0.01)

    # --- publishing ------------------------------------------------------------------

    def publish(self, event: Event) -> None:
        """Thread-safe; returns at once."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        self._local.publish(event)
        message = (self.prefix + event.branch, encode(event, self.origin))
        if threading.get_ident() == self._loop_thread:
            self._enqueue(message)
        else:
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(self._enqueue, message)

    def _enqueue(self, message: tuple[str, str]) -> None:
        if len(self._outbox) == self._outbox.maxlen:
            self.dropped += 1
        self._outbox.append(message)
        if self._outbox_ready is not None:
            self._outbox_ready.set()

    async def _publish_loop(self) -> None:
        """One task sends everything, so this process's events leave in order."""
        assert self._outbox_ready is not None
        backoff = BACKOFF_MIN_S
        while True:
            if not self._outbox:
                self._outbox_ready.clear()
                await self._outbox_ready.wait()
                continue
            channel, payload = self._outbox[0]
            try:
                assert self._redis is not None
                await self._redis.publish(channel, payload)
            except (RedisError, OSError) as exc:
                log.warning("redis publish failed (%s); retrying in %.1fs", exc, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX_S)
                continue
            backoff = BACKOFF_MIN_S
            if self._outbox and self._outbox[0] == (channel, payload):
                self._outbox.popleft()
            self.published += 1

    # --- receiving -------------------------------------------------------------------

    async def _listen(self) -> None:
        backoff = BACKOFF_MIN_S
        lost = False
        pattern = _glob_escape(self.prefix) + "*"
        while True:
            assert self._redis is not None
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.psubscribe(pattern)
                self.connected = True
                self._listening.set()
                if lost:
                    log.warning("redis is back; local subscribers resync")
                    self._resync_all()
                    lost = False
                backoff = BACKOFF_MIN_S
                while True:
                    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=5)
                    if message is not None and message.get("type") == "pmessage":
                        self._receive(message["data"])
            except (RedisError, OSError) as exc:
                if self.connected or not lost:
                    log.warning("redis connection lost (%s); reconnecting", exc)
                self.connected = False
                lost = True
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX_S)
            finally:
                with contextlib.suppress(RedisError, OSError, RuntimeError):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]

    def _receive(self, payload: str | bytes) -> None:
        try:
            origin, event = decode(payload)
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("ignored a malformed hub message: %s", exc)
            return
        if origin == self.origin:
            return  # already delivered locally when it was published
        self.received += 1
        self._local.deliver(event)

    def _resync_all(self) -> None:
        """Events of other processes may have been missed: make every subscriber
        start again from a snapshot (Subscription.overflowed means exactly that)."""
        marker = Event(branch="", type="hub.resync", seq=0, at=datetime.now(UTC))
        for subscription in list(self._subscriptions):
            # Overflow it through its public door, which also wakes a waiting next().
            for _ in range(subscription_limit(subscription) + 1):
                if subscription.overflowed:
                    break
                subscription.offer(marker)

    # --- subscribers -----------------------------------------------------------------

    @asynccontextmanager
    async def subscribe(self, branch: str) -> AsyncIterator[Subscription]:
        if self._loop is None:
            await self.start()
        async with self._local.subscribe(branch) as subscription:
            self._subscriptions.add(subscription)
            try:
                yield subscription
            finally:
                self._subscriptions.discard(subscription)

    def health(self) -> dict[str, Any]:
        """Redis is not the truth, so its loss does not stop this process: /health says
        "degraded" (TVs on other processes see this one's calls only after Redis is
        back, when they resync), and how many events wait to be sent."""
        return {
            "backend": "redis",
            "ok": self.connected,
            "connected": self.connected,
            "waiting_to_send": len(self._outbox),
            "dropped": self.dropped,
        }

    def subscriber_count(self, branch: str | None = None) -> int:
        return self._local.subscriber_count(branch)
