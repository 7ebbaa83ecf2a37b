"""BranchStream on its own event loop: gap filling from the event log, resync after an
overflow, and resume decisions, with a real database and the in-process hub."""

from __future__ import annotations

import asyncio
import json
from typing import Any, TypeVar

import pytest

from server.app import create_app
from server.config import AppConfig
from server.events import EventType, NoticeUpdatedData, record
from server.hub import MemoryHub
from server.realtime.stream import BranchStream
from server.store import Store
from tests.support import run_async as run

T = TypeVar("T")


def make_store(config: AppConfig, queue_size: int = 256) -> Store:
    store: Store = create_app(config).state.store
    store.hub = MemoryHub(queue_size=queue_size)
    return store


def write_notice(store: Store, text: str) -> int:
    with store.write() as session:
        event = record(
            session,
            branch="b1",
            type=EventType.notice_updated,
            now=store.now(),
            data=NoticeUpdatedData(zh=text, en=text),
        )
    return event.seq


class Recorder:
    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.gate = asyncio.Event()
        self.gate.set()
        self.changed = asyncio.Event()
        self.direct = 0

    async def send(self, text: str) -> None:
        await self.gate.wait()
        self.messages.append(json.loads(text))
        self.changed.set()

    def write(self, frame: bytes) -> bool:
        """A ready-made frame written directly (fanout.py); refused while the gate is
        shut, as a paused transport refuses it."""
        if not self.gate.is_set():
            return False
        length = frame[1] & 0x7F
        start = {126: 4, 127: 10}.get(length, 2)
        assert frame[0] == 0x81 and not frame[1] & 0x80
        self.messages.append(json.loads(frame[start:]))
        self.direct += 1
        self.changed.set()
        return True

    async def until(self, count: int) -> None:
        while len(self.messages) < count:
            self.changed.clear()
            await asyncio.wait_for(self.changed.wait(), 10)


DIRECT = pytest.mark.parametrize("direct", [False, True], ids=["asgi", "direct"])


@DIRECT
def test_a_hole_in_the_live_stream_is_filled_from_the_event_log(
    config: AppConfig, direct: bool
) -> None:
    store = make_store(config)

    async def scenario() -> list[dict[str, Any]]:
        await store.hub.start()
        recorder = Recorder()
        write = recorder.write if direct else None
        stream = BranchStream(store, store.branch("b1"), recorder.send, write)
        task = asyncio.create_task(stream.run(None))
        await recorder.until(1)  # the snapshot
        publish = store.hub.publish
        store.hub.publish = lambda event: None  # type: ignore[method-assign]
        write_notice(store, "one")
        write_notice(store, "two")  # committed, but (like a lost Redis message) never published
        store.hub.publish = publish  # type: ignore[method-assign]
        write_notice(store, "three")
        await recorder.until(4)
        write_notice(store, "four")  # no hole: directly when it can
        await recorder.until(5)
        assert recorder.direct == (2 if direct else 0)  # the shared snapshot, and "four"
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return recorder.messages

    messages = run(scenario())
    assert [m["type"] for m in messages] == ["snapshot"] + ["notice.updated"] * 4
    assert [m["seq"] for m in messages] == [0, 1, 2, 3, 4]
    assert [m["data"]["zh"] for m in messages[1:]] == ["one", "two", "three", "four"]


@DIRECT
def test_an_overflowed_subscriber_gets_a_fresh_snapshot_and_goes_on(
    config: AppConfig, direct: bool
) -> None:
    store = make_store(config, queue_size=2)

    async def scenario() -> tuple[list[dict[str, Any]], int]:
        await store.hub.start()
        stuck, healthy = Recorder(), Recorder()
        slow = BranchStream(store, store.branch("b1"), stuck.send, stuck.write if direct else None)
        fast = BranchStream(
            store, store.branch("b1"), healthy.send, healthy.write if direct else None
        )
        tasks = [asyncio.create_task(slow.run(None)), asyncio.create_task(fast.run(None))]
        await stuck.until(1)
        await healthy.until(1)
        stuck.gate.clear()  # this TV stops taking messages
        for n in range(6):
            write_notice(store, f"n{n}")
            await asyncio.sleep(0)
        await healthy.until(7)  # the others are not held up
        stuck.gate.set()
        await stuck.until(3)
        write_notice(store, "after")
        await stuck.until(4)
        await healthy.until(8)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        assert [m["seq"] for m in healthy.messages] == list(range(0, 8))
        return stuck.messages, slow.snapshots

    messages, snapshots = run(scenario())
    # The snapshot, the event it was stuck sending, then a resync snapshot at the latest
    # seq (what it missed is in it), then live again.
    assert messages[0]["type"] == "snapshot"
    assert messages[1]["type"] == "notice.updated"
    assert messages[2]["type"] == "snapshot" and messages[2]["seq"] == 6
    assert messages[3]["type"] == "notice.updated" and messages[3]["seq"] == 7
    assert snapshots == 2


def test_resume_from_the_log_or_a_snapshot(config: AppConfig) -> None:
    store = make_store(config)
    store.realtime.limits.max_replay = 2

    async def first_messages(since: int | None, count: int) -> list[dict[str, Any]]:
        recorder = Recorder()
        stream = BranchStream(store, store.branch("b1"), recorder.send)
        task = asyncio.create_task(stream.run(since))
        await recorder.until(count)
        await asyncio.sleep(0.05)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return recorder.messages

    async def scenario() -> dict[str, list[tuple[str, int]]]:
        await store.hub.start()
        for n in range(4):
            write_notice(store, f"n{n}")
        cases = {"2": (2, 2), "4": (4, 0), "1": (1, 1), "9": (9, 1), "none": (None, 1)}
        out = {}
        for name, (since, count) in cases.items():
            if count == 0:
                write_notice(store, "later")
                count = 1
            out[name] = [(m["type"], m["seq"]) for m in await first_messages(since, count)]
        return out

    got = run(scenario())
    assert got["2"] == [("notice.updated", 3), ("notice.updated", 4)]
    assert got["4"] == [("notice.updated", 5)]  # nothing missed: only what comes next
    assert got["1"] == [("snapshot", 5)]  # 4 behind, more than max_replay
    assert got["9"] == [("snapshot", 5)]  # from the future: another database
    assert got["none"] == [("snapshot", 5)]


def test_the_wire_cache_never_mixes_up_events_of_two_databases() -> None:
    from datetime import UTC, datetime

    from server.events import Event
    from server.realtime.stream import event_text

    at = datetime(2026, 11, 30, tzinfo=UTC)
    first = Event(branch="b1", type="notice.updated", seq=1, at=at, data={"zh": "one"})
    other = Event(branch="b1", type="notice.updated", seq=1, at=at, data={"zh": "two"})
    assert json.loads(event_text(first))["data"]["zh"] == "one"
    assert json.loads(event_text(other))["data"]["zh"] == "two"
    assert event_text(first) is event_text(first)  # encoded once


def test_a_client_stuck_in_a_send_is_dropped_and_others_are_not(config: AppConfig) -> None:
    from server.realtime.stream import SendWatch

    store = make_store(config)
    store.realtime.limits.send_timeout_s = 0.3

    async def scenario() -> tuple[bool, bool, int]:
        await store.hub.start()
        stuck, healthy = Recorder(), Recorder()
        stuck.gate.clear()  # never takes its first message
        watch = SendWatch(store.realtime.limits, interval_s=0.05)
        streams = [
            BranchStream(store, store.branch("b1"), stuck.send),
            BranchStream(store, store.branch("b1"), healthy.send),
        ]
        tasks = [asyncio.create_task(s.run(None)) for s in streams]
        for stream, task in zip(streams, tasks, strict=True):
            watch.watch(stream, task)
        await healthy.until(1)
        await asyncio.wait({tasks[0]}, timeout=5)
        write_notice(store, "still here")
        await healthy.until(2)
        result = tasks[0].cancelled(), tasks[1].done(), watch.dropped
        tasks[1].cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        watch.stop()
        return result

    dropped_stuck, healthy_done, dropped = run(scenario())
    assert dropped_stuck and not healthy_done and dropped == 1


def test_a_direct_write_that_fails_falls_back_and_spares_the_others(config: AppConfig) -> None:
    store = make_store(config)

    async def scenario() -> tuple[list[int], list[int], int, int]:
        await store.hub.start()
        broken, healthy = Recorder(), Recorder()

        def explode(frame: bytes) -> bool:
            raise ConnectionResetError("gone")

        streams = [
            BranchStream(store, store.branch("b1"), broken.send, explode),
            BranchStream(store, store.branch("b1"), healthy.send, healthy.write),
        ]
        tasks = [asyncio.create_task(s.run(None)) for s in streams]
        await broken.until(1)
        await healthy.until(1)
        await asyncio.sleep(0.05)  # both idle in next()
        write_notice(store, "one")
        write_notice(store, "two")
        await broken.until(3)
        await healthy.until(3)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        return (
            [m["seq"] for m in broken.messages],
            [m["seq"] for m in healthy.messages],
            broken.direct,
            healthy.direct,
        )

    broken, healthy, broken_direct, healthy_direct = run(scenario())
    assert broken == healthy == [0, 1, 2]
    assert broken_direct == 0 and healthy_direct == 3  # the shared snapshot and both events
