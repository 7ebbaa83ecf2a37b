"""One snapshot per branch per change, shared by every subscriber.

After a restart thousands of TVs and phones reconnect within seconds, and each needs
the branch's state first. Reading it once per subscriber (a few statements and the
ordering of the line) made 5,000 reconnects take ~11 s. Here a branch's snapshot is
built once and kept, message text and WebSocket frame included, until the next
event of that branch; subscribers arriving while it is being built wait for that one
build (single flight).

Freshness: every subscriber's hub subscription is tapped (`tap`): an event offered
to any of them bumps the branch's generation, once per event. Whoever asks for a
snapshot has subscribed first (stream.py), so while anyone asks, every event of the
branch passes a tap. A snapshot is served only if no event arrived since just before
its read began, so it is never older than what the hub has delivered; an event
committed but not yet delivered has a higher seq and reaches every subscriber through
its own subscription. When the last subscriber of a branch leaves, its snapshot is
forgotten (nobody watches it any more); age also retires one (MAX_AGE_S).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.concurrency import run_in_threadpool

from server.config import BranchSettings
from server.events import Event
from server.hub.base import Subscription
from server.realtime.fanout import text_frame
from server.store import Store

log = logging.getLogger("lobbyq.realtime")
# The weighted order of the line moves with time alone (a priority ticket's score grows
# faster), so a snapshot is also rebuilt when it is this old, events or not.
MAX_AGE_S = 2.0


@dataclass(frozen=True)
class Snapshot:
    seq: int
    text: str  # the whole message: {"type": "snapshot", "seq", "data"}
    frame: bytes  # the same as one ready-made server frame (fanout.py), for every subscriber
    generation: int
    built_at: float  # loop time


class SharedSnapshots:
    def __init__(
        self, store: Store, read: Callable[[Store, BranchSettings], dict[str, Any]]
    ) -> None:
        self.store = store
        self._read = read
        self._latest: dict[str, Snapshot] = {}
        self._generation: dict[str, int] = {}
        self._building: dict[str, asyncio.Future[Snapshot]] = {}
        self._taps: dict[str, int] = {}  # live subscribers per branch
        self._seen: dict[str, int] = {}  # the last seq that bumped the generation
        self.builds = 0  # how many snapshots were read from the database

    def _changed(self, branch: str) -> None:
        self._generation[branch] = self._generation.get(branch, 0) + 1

    async def get(self, branch: BranchSettings, dumps: Callable[[Any], str]) -> Snapshot:
        code = branch.code
        loop = asyncio.get_running_loop()
        latest = self._latest.get(code)
        if (
            latest is not None
            and latest.generation == self._generation.get(code, 0)
            and loop.time() - latest.built_at < MAX_AGE_S
        ):
            return latest
        building = self._building.get(code)
        if building is not None:
            return await asyncio.shield(building)
        future: asyncio.Future[Snapshot] = loop.create_future()
        self._building[code] = future
        try:
            generation = self._generation.get(code, 0)
            followed = self._taps.get(code, 0) > 0  # else an event could slip by unseen
            data = await run_in_threadpool(self._read, self.store, branch)
            self.builds += 1
            text = dumps({"type": "snapshot", "seq": int(data["seq"]), "data": data})
            made = Snapshot(
                int(data["seq"]), text, text_frame(text.encode()), generation, loop.time()
            )
            if followed and self._generation.get(code, 0) == generation:
                self._latest[code] = made
            future.set_result(made)
            return made
        except BaseException as exc:
            future.set_exception(exc)
            with contextlib.suppress(BaseException):
                future.exception()  # retrieved: no "never retrieved" warning
            raise
        finally:
            self._building.pop(code, None)

    def tap(self, subscription: Subscription) -> None:
        """A subscriber of the branch: every event offered to it bumps the branch's
        generation (once per event, however many subscribers see it)."""
        code = subscription.branch
        self._taps[code] = self._taps.get(code, 0) + 1
        offer = subscription.offer

        def offered(event: Event) -> None:
            if self._seen.get(code) != event.seq:
                self._seen[code] = event.seq
                self._changed(code)
            offer(event)

        subscription.offer = offered  # type: ignore[method-assign]

    def untap(self, subscription: Subscription) -> None:
        """With no subscriber left nothing watches the branch: forget its snapshot."""
        code = subscription.branch
        self._taps[code] = self._taps.get(code, 1) - 1
        if self._taps[code] <= 0:
            self._taps.pop(code, None)
            self._latest.pop(code, None)
            self._changed(code)

    def stop(self) -> None:
        self._latest.clear()
