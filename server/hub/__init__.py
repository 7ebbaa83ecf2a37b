"""The event hub: committed events out to WebSocket subscribers. The backend is
chosen by URL scheme (`memory://` or empty: in-process; `redis://`: several
processes)."""

from __future__ import annotations

from server.hub.base import Hub, Subscription
from server.hub.memory import MemoryHub


def create_hub(url: str, *, queue_size: int = 256) -> Hub:
    if not url or url.startswith("memory://"):
        return MemoryHub(queue_size=queue_size)
    if url.startswith(("redis://", "rediss://")):
        from server.hub.redis import RedisHub

        hub: Hub = RedisHub(url, queue_size=queue_size)
        return hub
    raise ValueError(f"unknown hub backend {url!r}")


__all__ = ["Hub", "MemoryHub", "Subscription", "create_hub"]
