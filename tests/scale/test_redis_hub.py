"""RedisHub against the real test Redis: two hubs stand for two server processes."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from server.events import Event
from server.hub import create_hub
from server.hub.base import Subscription
from server.hub.redis import RedisHub, decode, encode, split_url
from tests.support import live_server, make_config
from tests.support import run_async as run


def event(seq: int, branch: str = "b1", **data: object) -> Event:
    return Event(
        branch=branch,
        type="ticket.called",
        seq=seq,
        at=datetime(2026, 11, 30, 2, 0, seq % 60, tzinfo=UTC),
        data={"number": f"A{seq:03d}", **data},
    )


async def drain(sub: Subscription, count: int, timeout: float = 5) -> list[Event]:
    got: list[Event] = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while len(got) < count and loop.time() < deadline:
        item = await sub.next(timeout=0.2)
        if item is not None:
            got.append(item)
    return got


async def quiet(sub: Subscription, seconds: float = 0.3) -> list[Event]:
    """Whatever else arrives in a short while (to prove nothing is duplicated)."""
    extra: list[Event] = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while loop.time() < deadline:
        item = await sub.next(timeout=0.05)
        if item is not None:
            extra.append(item)
    return extra


@asynccontextmanager
async def running(url: str, queue_size: int = 256) -> AsyncIterator[RedisHub]:
    hub = RedisHub(url, queue_size=queue_size)
    await hub.start()
    try:
        yield hub
    finally:
        await hub.stop()


def test_split_url_keeps_redis_options_and_takes_the_prefix() -> None:
    assert split_url("redis://h:1/3") == ("redis://h:1/3", "lobbyq:3:events:")
    assert split_url("redis://h:1") == ("redis://h:1", "lobbyq:0:events:")
    url, prefix = split_url("redis://h:1/2?channel_prefix=t1:&socket_timeout=5")
    assert prefix == "t1:"
    assert url == "redis://h:1/2?socket_timeout=5"


def test_wire_round_trip_keeps_every_field() -> None:
    original = event(7, zh="请A007号", nested={"a": [1, 2]})
    origin, back = decode(encode(original, "me"))
    assert origin == "me"
    assert back == original


def test_create_hub_picks_redis_by_scheme(redis_url: str) -> None:
    assert isinstance(create_hub(redis_url), RedisHub)


async def _two_processes(redis_url: str) -> None:
    async with running(redis_url) as a, running(redis_url) as b:
        assert a.connected and b.connected
        async with a.subscribe("b1") as on_a, b.subscribe("b1") as on_b, b.subscribe("b2") as other:
            assert b.subscriber_count("b1") == 1 and b.subscriber_count() == 2
            for seq in range(1, 21):
                a.publish(event(seq))
            remote = await drain(on_b, 20)
            local = await drain(on_a, 20)
            assert [e.seq for e in remote] == list(range(1, 21))
            assert remote[4] == event(5)
            # The publishing process's own subscriber: each event exactly once.
            assert [e.seq for e in local] == list(range(1, 21))
            assert await quiet(on_a) == []
            assert await quiet(other) == []  # another branch hears nothing
        assert b.subscriber_count() == 0  # the context manager cleans up


def test_events_cross_processes_in_order_and_once_locally(redis_url: str) -> None:
    run(_two_processes(redis_url))


def publish_25(hub: RedisHub, first: int) -> None:
    for i in range(25):
        hub.publish(event(first + i))


async def _from_threads(redis_url: str) -> None:
    async with (
        running(redis_url) as a,
        running(redis_url) as b,
        b.subscribe("b1") as on_b,
        a.subscribe("b1") as on_a,
    ):
        threads = [threading.Thread(target=publish_25, args=(a, k * 100)) for k in range(1, 5)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        expected = sorted(k * 100 + i for k in range(1, 5) for i in range(25))
        assert sorted(e.seq for e in await drain(on_b, 100)) == expected
        assert sorted(e.seq for e in await drain(on_a, 100)) == expected
        assert await quiet(on_a) == []


def test_publish_from_worker_threads_returns_at_once_and_delivers(redis_url: str) -> None:
    run(_from_threads(redis_url))


class Proxy:
    """A TCP proxy in front of Redis, so a test can cut the connection."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.server: asyncio.Server | None = None
        self.port = 0
        self.writers: set[asyncio.StreamWriter] = set()

    async def start(self, port: int = 0) -> None:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", port)
        self.port = self.server.sockets[0].getsockname()[1]

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self.writers |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    async def cut(self, stop_listening: bool) -> None:
        if stop_listening and self.server is not None:
            self.server.close()
        for writer in list(self.writers):
            writer.close()
        self.writers.clear()


async def _redis_loss(redis_url: str) -> None:
    parts = urlsplit(redis_url)
    proxy = Proxy(parts.hostname or "127.0.0.1", parts.port or 6379)
    await proxy.start()
    via_proxy = redis_url.replace(f"{parts.hostname}:{parts.port}", f"127.0.0.1:{proxy.port}")
    async with (
        running(via_proxy) as a,
        running(redis_url) as b,
        a.subscribe("b1") as on_a,
        b.subscribe("b1") as on_b,
    ):
        b.publish(event(1))
        assert [e.seq for e in await drain(on_a, 1)] == [1]
        assert [e.seq for e in await drain(on_b, 1)] == [1]

        # Redis goes away for process A: it keeps serving its own subscribers...
        await proxy.cut(stop_listening=True)
        await asyncio.sleep(0.3)
        assert not a.connected
        a.publish(event(2))
        assert [e.seq for e in await drain(on_a, 1)] == [2]
        # ...and what B publishes meanwhile cannot reach A.
        b.publish(event(3))
        await asyncio.sleep(0.3)

        # Redis is back: A's buffered event reaches B, and A's subscriber is told
        # to resync (it may have missed event 3).
        await proxy.start(port=proxy.port)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 10
        while not a.connected and loop.time() < deadline:
            await asyncio.sleep(0.05)
        assert a.connected
        assert [e.seq for e in await drain(on_b, 2)] == [3, 2]
        while not on_a.overflowed and loop.time() < deadline:
            await asyncio.sleep(0.05)
        assert on_a.overflowed
        on_a.reset()
        b.publish(event(4))
        assert [e.seq for e in await drain(on_a, 1)] == [4]
    await proxy.cut(stop_listening=True)


def test_redis_loss_buffers_reconnects_and_asks_subscribers_to_resync(redis_url: str) -> None:
    run(asyncio.wait_for(_redis_loss(redis_url), timeout=60))


async def _slow_subscriber(redis_url: str) -> None:
    async with (
        running(redis_url, queue_size=5) as a,
        running(redis_url, queue_size=5) as b,
        b.subscribe("b1") as slow,
        b.subscribe("b1") as fast,
    ):
        for seq in range(1, 11):
            a.publish(event(seq))
            got = await drain(fast, 1)
            assert [e.seq for e in got] == [seq]
        assert slow.overflowed  # never read: told to resync, not waited for
        assert not fast.overflowed


def test_one_slow_subscriber_does_not_stall_the_others(redis_url: str) -> None:
    run(_slow_subscriber(redis_url))


def test_a_hub_without_redis_still_serves_its_own_process() -> None:
    async def scenario() -> None:
        async with running("redis://127.0.0.1:1/0?channel_prefix=nowhere:") as hub:
            assert not hub.connected
            async with hub.subscribe("b1") as sub:
                hub.publish(event(1))
                assert [e.seq for e in await drain(sub, 1)] == [1]

    run(asyncio.wait_for(scenario(), timeout=30))


@pytest.mark.parametrize("payload", [b"not json", b"{}", b'{"branch": "b1", "seq": "x"}'])
def test_malformed_messages_are_ignored(redis_url: str, payload: bytes) -> None:
    async def scenario() -> None:
        async with running(redis_url) as hub, hub.subscribe("b1") as sub:
            hub._receive(payload)
            assert await quiet(sub, 0.1) == []

    run(scenario())


def test_health_says_whether_redis_is_reachable(redis_url: str) -> None:
    async def scenario() -> None:
        async with running(redis_url) as hub:
            assert hub.health() == {
                "backend": "redis",
                "ok": True,
                "connected": True,
                "waiting_to_send": 0,
                "dropped": 0,
            }
        async with running("redis://127.0.0.1:1/0?channel_prefix=nowhere:") as hub:
            hub.publish(event(1))
            await asyncio.sleep(0)
            health = hub.health()
            assert health["ok"] is False and health["connected"] is False
            assert health["waiting_to_send"] == 1  # kept for when Redis is back

    run(asyncio.wait_for(scenario(), timeout=30))


def test_the_health_page_of_a_process_without_redis_is_degraded_but_serving(
    database_url: str, tmp_path: Path
) -> None:
    config = make_config(database_url, tmp_path / "data")
    config = config.model_copy(
        update={"server": config.server.model_copy(update={"redis_url": "redis://127.0.0.1:1/0"})}
    )
    with live_server(config) as server:
        response = httpx.get(f"{server.api}/health")
        assert response.status_code == 200  # a load balancer keeps sending it work
        body = response.json()
        assert body["status"] == "degraded" and body["database"] == "ok"
        assert body["hub"]["backend"] == "redis" and body["hub"]["connected"] is False
        with server.client("kiosk") as kiosk:
            assert kiosk.post("/branches/b1/tickets", json={"service": "A"}).status_code == 201
