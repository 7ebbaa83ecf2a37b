"""In-process hub: one event loop, subscribers in a dict of sets."""

from __future__ import annotations

import asyncio
import threading
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from server.events import Event
from server.hub.base import Subscription


class MemoryHub:
    def __init__(self, *, queue_size: int = 256) -> None:
        self.queue_size = queue_size
        self._subscribers: dict[str, set[Subscription]] = defaultdict(set)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()

    async def stop(self) -> None:
        self._subscribers.clear()

    def publish(self, event: Event) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        if threading.get_ident() == self._loop_thread:
            self.deliver(event)
        else:
            loop.call_soon_threadsafe(self.deliver, event)

    def deliver(self, event: Event) -> None:
        for subscription in list(self._subscribers.get(event.branch, ())):
            subscription.offer(event)

    @asynccontextmanager
    async def subscribe(self, branch: str) -> AsyncIterator[Subscription]:
        if self._loop is None:
            await self.start()
        subscription = Subscription(branch, self.queue_size)
        self._subscribers[branch].add(subscription)
        try:
            yield subscription
        finally:
            subscribers = self._subscribers.get(branch)
            if subscribers is not None:
                subscribers.discard(subscription)
                if not subscribers:
                    del self._subscribers[branch]

    def health(self) -> dict[str, Any]:
        return {"backend": "memory", "ok": True}

    def subscriber_count(self, branch: str | None = None) -> int:
        if branch is not None:
            return len(self._subscribers.get(branch, ()))
        return sum(len(s) for s in self._subscribers.values())
