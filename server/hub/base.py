"""What every hub backend offers."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

from server.events import Event


class Subscription:
    """One subscriber's own bounded queue. When it overflows the subscriber is
    not waited for: it is marked `overflowed`, its queue is dropped (so a stuck
    client holds no memory) and it must resync from a snapshot.

    `offer` and `next` run on the subscriber's event loop. `next` creates no task
    per call: with thousands of subscribers one event must stay cheap to deliver.

    `direct`, when the subscriber sets it, is tried first for an event offered while
    the subscriber is idle (waiting in `next` with nothing queued): it takes the event
    synchronously and returns True, or returns False and the event is queued as usual.
    This spares a task wake-up per subscriber per event, the bulk of a fan-out's cost;
    order is kept because it is only tried when nothing is queued or being handled.
    """

    def __init__(self, branch: str, queue_size: int) -> None:
        self.branch = branch
        self.queue_size = queue_size
        self.overflowed = False
        self.overflows = 0  # how many times it was told to resync
        self._events: deque[Event] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self.direct: Callable[[Event], bool] | None = None

    def __len__(self) -> int:
        return len(self._events)

    def offer(self, event: Event) -> None:
        """Called on the event loop; never blocks."""
        if self.overflowed:
            return
        waiter = self._waiter
        if (
            self.direct is not None
            and waiter is not None
            and not waiter.done()
            and not self._events
            and self.direct(event)
        ):
            return
        if len(self._events) >= self.queue_size:
            self.overflowed = True
            self.overflows += 1
            self._events.clear()
        else:
            self._events.append(event)
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def next(self, timeout: float) -> Event | None:
        """The next event; None on timeout (time for a heartbeat) or overflow."""
        if self.overflowed:
            return None
        if not self._events:
            loop = asyncio.get_running_loop()
            waiter = self._waiter = loop.create_future()
            # A bare timer, not asyncio.timeout(): with thousands of subscribers its
            # cancellation bookkeeping was most of the cost of delivering one event.
            timer = loop.call_later(timeout, _wake, waiter)
            try:
                await waiter
            finally:
                timer.cancel()
                self._waiter = None
            if self.overflowed or not self._events:
                return None
        return self._events.popleft()

    def reset(self) -> None:
        """After a resync: forget what was queued and accept events again."""
        self._events.clear()
        self.overflowed = False


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


class Hub(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def publish(self, event: Event) -> None:
        """Thread-safe; returns at once."""

    def subscribe(self, branch: str) -> AbstractAsyncContextManager[Subscription]: ...

    def subscriber_count(self, branch: str | None = None) -> int: ...

    def health(self) -> dict[str, Any]:
        """For /health: the backend, and whether it can reach what it needs."""
