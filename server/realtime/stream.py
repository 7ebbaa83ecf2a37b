"""One WebSocket subscriber of a branch's events: snapshot or replay first, then live
events in seq order with no gap and no repeat, heartbeats in the silences, and a
fresh snapshot whenever the subscriber fell too far behind.

The order of the first steps matters: subscribe to the hub BEFORE reading the
snapshot (or the replay), so an event committed in between is queued rather than
lost; anything queued that the snapshot already covers (seq <= last sent) is
dropped, and a hole in the live stream (seq > last + 1, e.g. events of another
process arriving over Redis out of order) is filled from the event log.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlmodel import Session, col, select
from starlette.concurrency import run_in_threadpool

from server.config import BranchSettings
from server.events import Event
from server.hub.base import Subscription
from server.models import Branch, TicketEvent
from server.queue.snapshot import queue_snapshot
from server.realtime.fanout import WriteFrame, text_frame
from server.store import Store

log = logging.getLogger("lobbyq.realtime")


@dataclass
class Limits:
    """Per-server knobs (tests shorten the heartbeat)."""

    heartbeat_s: float = 15.0  # a ping after this much silence
    send_timeout_s: float = 10.0  # a client that takes longer to accept a message is dropped
    max_replay: int = 1000  # `since` further behind than this gets a snapshot


# --- reading the log ------------------------------------------------------------------


def _consistent(session: Session) -> None:
    """A snapshot reads several tables; on Postgres take them all at one instant (SQLite
    WAL read transactions are snapshots already)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))


def read_snapshot(store: Store, branch: BranchSettings) -> dict[str, Any]:
    with store.read() as session:
        _consistent(session)
        return queue_snapshot(session, branch, store.now())


def read_events(
    store: Store, branch: str, *, after: int, upto: int | None, limit: int
) -> list[Event] | None:
    """The events with after < seq <= upto (upto None: the latest), in order, or None
    when they are not all held or more than `limit` of them."""
    if after < 0:
        return None
    with store.read() as session:
        _consistent(session)
        row = session.get(Branch, branch)
        if row is None:
            return None
        last = row.event_seq if upto is None else min(upto, row.event_seq)
        if upto is not None and upto > row.event_seq:
            return None  # not committed here (yet): only a snapshot is safe
        if after > last or last - after > limit:
            return None
        rows = session.exec(
            select(TicketEvent)
            .where(TicketEvent.branch == branch, col(TicketEvent.seq) > after)
            .where(col(TicketEvent.seq) <= last)
            .order_by(col(TicketEvent.seq))
        ).all()
        events = [store.announced(Event.from_row(r)) for r in rows]
    expected = list(range(after + 1, last + 1))
    if [e.seq for e in events] != expected:
        return None
    return events


# --- the wire -------------------------------------------------------------------------

_WIRE_CACHE_SIZE = 512
# id(event) -> (event, its JSON). Keyed by the object, not by (branch, seq): another
# database in the same process (tests, a reset) reuses seq numbers. Holding the event
# keeps its id from being reused while it is cached.
_wire_cache: OrderedDict[int, tuple[Event, str]] = OrderedDict()
_frame_cache: OrderedDict[int, tuple[Event, bytes]] = OrderedDict()


def dumps(message: dict[str, Any]) -> str:
    return json.dumps(message, ensure_ascii=False, separators=(",", ":"), default=str)


def event_text(event: Event) -> str:
    """The JSON of an event, encoded once however many subscribers get it."""
    cached = _wire_cache.get(id(event))
    if cached is not None and cached[0] is event:
        return cached[1]
    text = dumps(event.wire())
    _wire_cache[id(event)] = (event, text)
    if len(_wire_cache) > _WIRE_CACHE_SIZE:
        _wire_cache.popitem(last=False)
    return text


def event_frame(event: Event) -> bytes:
    """The event as one ready-made server text frame (see fanout.py), built once."""
    cached = _frame_cache.get(id(event))
    if cached is not None and cached[0] is event:
        return cached[1]
    frame = text_frame(event_text(event).encode())
    _frame_cache[id(event)] = (event, frame)
    if len(_frame_cache) > _WIRE_CACHE_SIZE:
        _frame_cache.popitem(last=False)
    return frame


def parse_since(value: str | None) -> int | None:
    """`since` as given; None for absent or invalid (both mean: send a snapshot)."""
    if value is None or not value.strip().isdigit() or len(value.strip()) > 18:
        return None
    return int(value.strip())


Send = Callable[[str], Awaitable[None]]
Keep = Callable[[Event], bool]


def for_counter(number: str) -> Keep:
    """The events a counter's sign and pad get: those of that counter."""

    def keep(event: Event) -> bool:
        data = event.data
        if event.type == "counter.updated":
            return data.get("number") == number
        return data.get("counter") == number or data.get("from_counter") == number

    return keep


class BranchStream:
    """The messages of one subscriber; `send` writes one text frame (ASGI).

    `write_frame`, when the server offers it (fanout.py), writes a ready-made frame
    synchronously: live events then go out from the hub's delivery itself, with no
    task wake-up, as long as the subscriber is idle and the event is the next in seq
    order. Anything else (a gap to fill, a paused or closing connection, a subscriber
    busy sending) takes the queue and the task, as without it.
    """

    _loop: asyncio.AbstractEventLoop

    def __init__(
        self,
        store: Store,
        branch: BranchSettings,
        send: Send,
        write_frame: WriteFrame | None = None,
    ) -> None:
        self.store = store
        self.branch = branch
        self.limits = store.realtime.limits
        self._send = send
        self._write_frame = write_frame
        self.last = -1  # seq of the last message sent
        self.snapshots = 0
        self.direct_sent = 0  # events written by write_frame
        self.sending_since: float | None = None  # loop time a send began (see SendWatch)
        self.sent_at = 0.0  # loop time the last message went out
        # Events this subscriber is not to see are skipped, their seq still counted.
        self.keep: Keep | None = None

    async def run(self, since: int | None) -> None:
        self._loop = asyncio.get_running_loop()
        self.sent_at = self._loop.time()
        snapshots = self.store.realtime.snapshots
        async with self.store.hub.subscribe(self.branch.code) as subscription:
            snapshots.tap(subscription)
            try:
                await self._follow(subscription, since)
            finally:
                snapshots.untap(subscription)

    async def _follow(self, subscription: Subscription, since: int | None) -> None:
        await self._start(since)
        if self._write_frame is not None:
            subscription.direct = self._direct
        heartbeat = self.limits.heartbeat_s
        while True:
            if subscription.overflowed:
                # It fell behind by a whole queue: what it missed is old news.
                subscription.reset()
                await self._send_snapshot()
                continue
            # Heartbeats fill silences: events written directly count as traffic.
            quiet = self._loop.time() - self.sent_at
            if quiet < heartbeat or len(subscription):
                event = await subscription.next(max(heartbeat - quiet, 0.0))
                if event is not None:
                    await self._deliver(event)
                    continue
                if subscription.overflowed or self._loop.time() - self.sent_at < heartbeat:
                    continue
            await self._send_ping()

    def _direct(self, event: Event) -> bool:
        """Called by the hub while this subscriber is idle: write the next event now,
        or return False to have it queued (the task then handles it)."""
        if event.seq != self.last + 1 or event.branch != self.branch.code:
            return False
        if self.keep is not None and not self.keep(event):
            self.last = event.seq
            return True
        # never let one connection break the hub's delivery to others
        if not self._write_shared(event_frame(event)):
            return False
        self.last = event.seq
        self.sent_at = self._loop.time()
        self.direct_sent += 1
        return True

    async def _start(self, since: int | None) -> None:
        if since is not None:
            missed = await run_in_threadpool(
                read_events,
                self.store,
                self.branch.code,
                after=since,
                upto=None,
                limit=self.limits.max_replay,
            )
            if missed is not None:
                self.last = since
                for event in missed:
                    await self._send_event(event)
                return
        await self._send_snapshot()

    async def _deliver(self, event: Event) -> None:
        if event.seq <= self.last:
            return
        if event.seq > self.last + 1:
            between = await run_in_threadpool(
                read_events,
                self.store,
                self.branch.code,
                after=self.last,
                upto=event.seq - 1,
                limit=self.limits.max_replay,
            )
            if between is None:
                # Too far behind, or the log lacks rows: start again from the state.
                await self._send_snapshot()
                if event.seq != self.last + 1:
                    return  # covered by the snapshot
            else:
                for missed in between:
                    await self._send_event(missed)
        await self._send_event(event)

    async def _send_timed(self, text: str) -> None:
        self.sending_since = self._loop.time()
        try:
            await self._send(text)
        finally:
            self.sending_since = None
            self.sent_at = self._loop.time()

    async def _send_event(self, event: Event) -> None:
        if event.seq <= self.last:
            return
        if self.keep is not None and not self.keep(event):
            self.last = event.seq
            return
        await self._send_timed(event_text(event))
        self.last = event.seq

    async def _send_snapshot(self) -> None:
        """The branch's shared snapshot: built once per change (snapshots.py)."""
        snapshot = await self.store.realtime.snapshots.get(self.branch, dumps)
        if self._write_shared(snapshot.frame):
            self.sent_at = self._loop.time()
        else:
            await self._send_timed(snapshot.text)
        self.last = snapshot.seq
        self.snapshots += 1

    def _write_shared(self, frame: bytes) -> bool:
        """Write a frame shared by every subscriber (the branch's snapshot) as it is,
        with no encoding or framing per connection; False: use the ASGI send."""
        if self._write_frame is None:
            return False
        try:
            return self._write_frame(frame)
        except Exception:  # the ASGI send then reports what is wrong with the socket
            log.debug("shared frame write failed", exc_info=True)
            return False

    async def _send_ping(self) -> None:
        await self._send_timed(
            dumps({"type": "ping", "seq": self.last, "at": self.store.now().isoformat()})
        )


class SendWatch:
    """Drops clients that take too long to accept a message. One sweep a second over
    all streams, rather than a timeout around every send: at thousands of clients a
    timer per message costs more than the message."""

    def __init__(self, limits: Limits, interval_s: float = 1.0) -> None:
        self.limits = limits
        self.interval_s = interval_s
        self.watched: dict[BranchStream, asyncio.Task[None]] = {}
        self.dropped = 0
        self._task: asyncio.Task[None] | None = None

    def watch(self, stream: BranchStream, writer: asyncio.Task[None]) -> None:
        self.watched[stream] = writer
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._sweep())

    def unwatch(self, stream: BranchStream) -> None:
        self.watched.pop(stream, None)

    async def _sweep(self) -> None:
        loop = asyncio.get_running_loop()
        while self.watched:
            await asyncio.sleep(self.interval_s)
            now = loop.time()
            for stream, writer in list(self.watched.items()):
                since = stream.sending_since
                if since is not None and now - since > self.limits.send_timeout_s:
                    self.dropped += 1
                    self.watched.pop(stream, None)
                    writer.cancel()

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
