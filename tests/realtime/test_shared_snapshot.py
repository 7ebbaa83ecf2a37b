"""A branch's snapshot is built once per change and shared by every subscriber; an
event (or the last subscriber leaving) retires it, so nobody gets an old one."""

from __future__ import annotations

import asyncio
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
