"""A branch's snapshot is built once per change and shared by every subscriber; an
event (or the last subscriber leaving) retires it, so nobody gets an old one."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from server.config import AppConfig
from server.realtime.stream import BranchStream
from tests.realtime.test_realtime_stream import Recorder, make_store, write_notice
from tests.support import run_async as run


def test_one_build_per_change_for_a_crowd(config: AppConfig) -> None:
    store = make_store(config)
    snapshots = store.realtime.snapshots

    async def scenario() -> dict[str, Any]:
        await store.hub.start()
        crowd = [Recorder() for _ in range(200)]
        tasks = [
            asyncio.create_task(BranchStream(store, store.branch("b1"), r.send).run(None))
            for r in crowd
        ]
        for recorder in crowd:
            await recorder.until(1)
        first_builds = snapshots.builds
        seq = write_notice(store, "changed")
        for recorder in crowd:
            await recorder.until(2)  # the event itself, live
        late = [Recorder() for _ in range(50)]
        tasks += [
            asyncio.create_task(BranchStream(store, store.branch("b1"), r.send).run(None))
            for r in late
        ]
        for recorder in late:
            await recorder.until(1)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        return {
            "first_builds": first_builds,
            "builds": snapshots.builds,
            "seq": seq,
            "crowd": [r.messages for r in crowd],
            "late": [r.messages[0] for r in late],
        }

    found = run(scenario())
    assert found["first_builds"] == 1  # 200 subscribers, one read of the database
    assert found["builds"] == 2  # one change, one more
    for messages in found["crowd"]:
        assert [m["type"] for m in messages] == ["snapshot", "notice.updated"]
        assert messages[0]["seq"] == found["seq"] - 1
    for snapshot in found["late"]:  # after the change: the new state, never the old one
        assert snapshot["type"] == "snapshot" and snapshot["seq"] == found["seq"]
        assert snapshot["data"]["seq"] == found["seq"]


def test_the_last_subscriber_leaving_retires_the_snapshot(config: AppConfig) -> None:
    """Nobody watches the branch meanwhile: an event then must not leave the old one."""
    store = make_store(config)
    snapshots = store.realtime.snapshots

    async def scenario() -> tuple[int, int, int]:
        await store.hub.start()
        first = Recorder()
        task = asyncio.create_task(BranchStream(store, store.branch("b1"), first.send).run(None))
        await first.until(1)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        seq = write_notice(store, "while nobody watched")
        second = Recorder()
        task = asyncio.create_task(BranchStream(store, store.branch("b1"), second.send).run(None))
        await second.until(1)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return seq, int(second.messages[0]["seq"]), snapshots.builds

    seq, shown, builds = run(scenario())
    assert shown == seq and builds == 2


def test_the_crowd_is_written_one_shared_frame(config: AppConfig) -> None:
    """Where the server offers ready-made frames (fanout.py), every subscriber gets the
    very same bytes: no encoding or framing per connection. A connection refusing the
    frame (paused) gets the same snapshot through the ordinary send."""
    store = make_store(config)

    async def scenario() -> tuple[list[bytes], list[Recorder], Recorder]:
        await store.hub.start()
        frames: list[bytes] = []
        crowd = [Recorder() for _ in range(30)]

        def writer(recorder: Recorder) -> Callable[[bytes], bool]:
            def write(frame: bytes) -> bool:
                frames.append(frame)
                return recorder.write(frame)

            return write

        paused = Recorder()
        tasks = [
            asyncio.create_task(
                BranchStream(store, store.branch("b1"), r.send, writer(r)).run(None)
            )
            for r in crowd
        ]
        paused.gate.clear()  # refuses direct frames, and its send waits for the gate
        tasks.append(
            asyncio.create_task(
                BranchStream(store, store.branch("b1"), paused.send, paused.write).run(None)
            )
        )
        for recorder in crowd:
            await recorder.until(1)
        paused.gate.set()
        await paused.until(1)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        return frames, crowd, paused

    frames, crowd, paused = run(scenario())
    assert len(frames) == len(crowd)
    assert all(frame is frames[0] for frame in frames)  # one object, shared
    for recorder in crowd:
        assert recorder.direct == 1
        assert [m["type"] for m in recorder.messages] == ["snapshot"]
        assert recorder.messages[0] == crowd[0].messages[0]
    assert paused.direct == 0 and paused.messages == crowd[0].messages
