"""The in-process hub: order, isolation of a slow subscriber, cleanup."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime
from typing import TypeVar

import pytest

from server.events import Event
from server.hub import MemoryHub, Subscription, create_hub
from tests.support import run_async as run

T = TypeVar("T")
AT = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)


def event(seq: int, branch: str = "b1") -> Event:
    return Event(branch=branch, type="ticket.issued", seq=seq, at=AT, data={"n": seq})


async def drain(subscription: Subscription) -> list[int]:
    seqs = []
    while (got := await subscription.next(0.01)) is not None:
        seqs.append(got.seq)
    return seqs


class TestDelivery:
    def test_events_arrive_in_publish_order_for_each_subscriber(self) -> None:
        async def scenario() -> tuple[list[int], list[int]]:
            hub = MemoryHub()
            await hub.start()
            async with hub.subscribe("b1") as one, hub.subscribe("b1") as two:
                for seq in range(1, 51):
                    hub.publish(event(seq))
                return await drain(one), await drain(two)

        one, two = run(scenario())
        assert one == two == list(range(1, 51))

    def test_events_published_from_other_threads_keep_their_order(self) -> None:
        async def scenario() -> list[int]:
            hub = MemoryHub()
            await hub.start()
            async with hub.subscribe("b1") as subscription:

                def publish_all() -> None:
                    for seq in range(1, 101):
                        hub.publish(event(seq))

                thread = threading.Thread(target=publish_all)
                thread.start()
                await asyncio.to_thread(thread.join)
                return await drain(subscription)

        assert run(scenario()) == list(range(1, 101))

    def test_a_subscriber_gets_only_its_branch(self) -> None:
        async def scenario() -> list[int]:
            hub = MemoryHub()
            await hub.start()
            async with hub.subscribe("b1") as subscription:
                hub.publish(event(1, "b2"))
                hub.publish(event(2, "b1"))
                return await drain(subscription)

        assert run(scenario()) == [2]

    def test_next_wakes_when_an_event_arrives_and_times_out_in_silence(self) -> None:
        async def scenario() -> tuple[Event | None, Event | None]:
            hub = MemoryHub()
            await hub.start()
            async with hub.subscribe("b1") as subscription:
                silent = await subscription.next(0.05)
                asyncio.get_running_loop().call_later(0.05, hub.publish, event(7))
                woken = await subscription.next(5)
                return silent, woken

        silent, woken = run(scenario())
        assert silent is None
        assert woken is not None and woken.seq == 7


class TestSlowSubscriber:
    def test_a_stuck_subscriber_overflows_and_others_get_everything(self) -> None:
        async def scenario() -> tuple[Subscription, list[int], list[int]]:
            hub = MemoryHub(queue_size=8)
            await hub.start()
            async with hub.subscribe("b1") as stuck, hub.subscribe("b1") as live:
                received: list[int] = []

                async def reader() -> None:
                    while len(received) < 100:
                        got = await live.next(5)
                        assert got is not None
                        received.append(got.seq)

                task = asyncio.create_task(reader())
                for seq in range(1, 101):
                    hub.publish(event(seq))
                    await asyncio.sleep(0)  # the live reader keeps up; `stuck` never reads
                await asyncio.wait_for(task, 5)
                told_to_resync = await stuck.next(0.01)
                assert told_to_resync is None
                state = (stuck.overflowed, len(stuck))
                stuck.reset()
                hub.publish(event(101))
                after = await drain(stuck)
                assert state == (True, 0)  # overflowed, and holds nothing meanwhile
                return stuck, received, after

        stuck, received, after = run(scenario())
        assert received == list(range(1, 101))
        assert stuck.overflows == 1 and not stuck.overflowed
        assert after == [101]

    def test_overflow_wakes_a_waiting_subscriber(self) -> None:
        async def scenario() -> tuple[Event | None, bool]:
            hub = MemoryHub(queue_size=1)
            await hub.start()
            async with hub.subscribe("b1") as subscription:
                waiting = asyncio.create_task(subscription.next(5))
                await asyncio.sleep(0)
                subscription.offer(event(1))
                subscription.offer(event(2))  # before the reader runs: overflow
                return await waiting, subscription.overflowed

        got, overflowed = run(scenario())
        assert got is None  # no event: resync
        assert overflowed


class TestCleanup:
    def test_subscriber_count_returns_to_zero(self) -> None:
        async def scenario() -> list[int]:
            hub = MemoryHub()
            await hub.start()
            counts = []
            async with hub.subscribe("b1"), hub.subscribe("b1"), hub.subscribe("b2"):
                counts += [hub.subscriber_count("b1"), hub.subscriber_count()]
            counts.append(hub.subscriber_count())
            return counts

        assert run(scenario()) == [2, 3, 0]

    def test_a_failing_subscriber_is_removed(self) -> None:
        async def scenario() -> int:
            hub = MemoryHub()
            await hub.start()
            with pytest.raises(RuntimeError):
                async with hub.subscribe("b1"):
                    raise RuntimeError("client went away")
            return hub.subscriber_count()

        assert run(scenario()) == 0

    def test_a_cancelled_subscriber_is_removed(self) -> None:
        async def scenario() -> tuple[int, int]:
            hub = MemoryHub()
            await hub.start()

            async def listen() -> None:
                async with hub.subscribe("b1") as subscription:
                    await subscription.next(60)

            task = asyncio.create_task(listen())
            await asyncio.sleep(0.01)
            during = hub.subscriber_count("b1")
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            return during, hub.subscriber_count("b1")

        assert run(scenario()) == (1, 0)


def test_backend_by_url() -> None:
    assert isinstance(create_hub(""), MemoryHub)
    assert isinstance(create_hub("memory://"), MemoryHub)
    with pytest.raises(ValueError):
        create_hub("kafka://x")


class TestDirect:
    """Subscription.direct: events offered while the subscriber is idle go to it at
    once; anything else is queued, and order holds across the two."""

    def test_idle_subscriber_takes_events_directly_and_a_refusal_is_queued(self) -> None:
        async def scenario() -> tuple[list[int], list[int], list[int]]:
            hub = MemoryHub()
            await hub.start()
            taken: list[int] = []
            refuse = {3}
            async with hub.subscribe("b1") as subscription:

                def direct(got: Event) -> bool:
                    if got.seq in refuse:
                        return False
                    taken.append(got.seq)
                    return True

                subscription.direct = direct
                # Not idle yet (nobody waits in next()): queued.
                hub.publish(event(1))
                queued = await drain(subscription)
                # Idle in next(): 2 is taken; 3 is refused, so it and 4 are queued
                # (4 must not overtake 3) and next() returns them in order.
                waiting = asyncio.ensure_future(subscription.next(5))
                await asyncio.sleep(0)
                for seq in (2, 3, 4):
                    hub.publish(event(seq))
                after = [] if (first := await waiting) is None else [first.seq]
                after += await drain(subscription)
                return queued, taken, after

        queued, taken, after = run(scenario())
        assert queued == [1]
        assert taken == [2]
        assert after == [3, 4]

    def test_overflow_still_happens_when_direct_refuses(self) -> None:
        async def scenario() -> tuple[bool, int]:
            hub = MemoryHub(queue_size=2)
            await hub.start()
            async with hub.subscribe("b1") as subscription:
                subscription.direct = lambda got: False
                waiting = asyncio.ensure_future(subscription.next(5))
                await asyncio.sleep(0)
                for seq in range(1, 5):
                    hub.publish(event(seq))
                await waiting
                return subscription.overflowed, subscription.overflows

        assert run(scenario()) == (True, 1)
