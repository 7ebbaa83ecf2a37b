"""What every hub backend offers."""

from __future__ import annotations

import asyncio
from contextlib import AbstractAsyncContextManager
from typing import Protocol

from server.events import Event


class Subscription:
    """One subscriber's own bounded queue. When it overflows the subscriber is
    not waited for: it is marked `overflowed` and must resync from a snapshot."""

    def __init__(self, branch: str, queue_size: int) -> None:
        self.branch = branch
        self.queue: asyncio.Queue[Event] = asyncio.Queue(maxsize=queue_size)
        self.overflowed = False
        self._wake = asyncio.Event()

    def offer(self, event: Event) -> None:
        """Called on the event loop; never blocks."""
        if self.overflowed:
            return
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            self.overflowed = True
            self._wake.set()

    async def next(self, timeout: float) -> Event | None:
        """The next event; None on timeout (time for a heartbeat) or overflow."""
        if self.overflowed:
            return None
        getter = asyncio.ensure_future(self.queue.get())
        waker = asyncio.ensure_future(self._wake.wait())
        try:
            done, _ = await asyncio.wait(
                {getter, waker}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            waker.cancel()
            if not getter.done():
                getter.cancel()
        if getter in done:
            return getter.result()
        return None

    def reset(self) -> None:
        """After a resync: forget what was queued and accept events again."""
        while not self.queue.empty():
            self.queue.get_nowait()
        self.overflowed = False
        self._wake.clear()


class Hub(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def publish(self, event: Event) -> None:
        """Thread-safe; returns at once."""

    def subscribe(self, branch: str) -> AbstractAsyncContextManager[Subscription]: ...

    def subscriber_count(self, branch: str | None = None) -> int: ...
