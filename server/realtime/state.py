"""The live streams' shared parts, one set per app: built once by `create_app` and kept
on the store as `store.realtime` (no registry keyed by the store)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from server.realtime.snapshots import SharedSnapshots
from server.realtime.stream import Limits, SendWatch, read_snapshot

if TYPE_CHECKING:
    from server.store import Store


@dataclass
class Realtime:
    limits: Limits  # tests shorten the heartbeat or the replay through it
    snapshots: SharedSnapshots  # one snapshot per branch per change (snapshots.py)
    watch: SendWatch  # drops the clients too slow to take their messages

    @classmethod
    def build(cls, store: Store) -> Realtime:
        limits = Limits()
        return cls(limits, SharedSnapshots(store, read_snapshot), SendWatch(limits))

    def stop(self) -> None:
        self.snapshots.stop()
        self.watch.stop()
