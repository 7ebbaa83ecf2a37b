"""The server's parts, assembled once: config, database, hub, clock. Routes reach
it through `request.app.state.store`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from server.auth import LoginLimiter, Tokens, UserDirectory
from server.config import AppConfig, BranchSettings
from server.db import Database
from server.devices.health import DeviceLinks
from server.errors import NotFound
from server.events import Event, pending_events
from server.hub import Hub
from server.ports import AppPorts

if TYPE_CHECKING:
    from server.customer.limits import PublicLimiter
    from server.customer.reminders import Jobs
    from server.hq.access import RegionalBranches
    from server.hq.routes import OverviewCache, Sealer
    from server.realtime.state import Realtime

Clock = Callable[[], datetime]
T = TypeVar("T")


def system_clock() -> datetime:
    return datetime.now(UTC)


class Store:
    # The packages' shared state, built once by `create_app` right after the store
    # (each reads the store): typed fields, not registries keyed by the store.
    realtime: Realtime  # the live streams' limits, shared snapshots and send watch
    overview: OverviewCache  # HQ's overview of every branch, recomputed at most every ~1 s
    sealer: Sealer  # HQ's background pass sealing finished days
    public_limiter: PublicLimiter  # per-address limit of the public booking routes
    reminders: Jobs  # booking reminders and retention, one task per server
    regional: RegionalBranches  # the branches each regional user oversees, cached briefly

    def __init__(
        self,
        *,
        config: AppConfig,
        db: Database,
        hub: Hub,
        clock: Clock = system_clock,
        ports: AppPorts | None = None,
    ) -> None:
        self.config = config
        self.db = db
        self.hub = hub
        self.clock = clock
        self.tokens = Tokens(config, UserDirectory(db.engine))
        self.login_limiter = LoginLimiter(
            config.server.login_attempts_per_minute,
            redis_url=config.server.redis_url,
            per_address=config.server.login_failures_per_address_per_minute,
        )
        # The printers, the voice and the webhook (server/ports.py): create_app puts
        # the real ones here once the store exists (they read the store).
        self.ports = ports or AppPorts()
        # When each hall device was last connected (server/devices/health.py).
        self.device_links = DeviceLinks(db)

    def announced(self, event: Event) -> Event:
        """The event as devices read it: a call with its announcement (server/ports.py)."""
        return self.ports.announced(event, self.config.branch(event.branch))

    def now(self) -> datetime:
        return self.clock()

    def branch(self, code: str) -> BranchSettings:
        branch = self.config.branch(code)
        if branch is None:
            raise NotFound(f"no branch {code!r}", code="branch_not_found")
        return branch

    def read(self) -> AbstractContextManager[Session]:
        return self.db.read()

    async def run(self, work: Callable[..., T], *args: Any) -> T:
        """Run a short use-case from an async route. On SQLite it runs right here on
        the event loop: a write is about a millisecond of CPU under the one write lock,
        and the hop to a worker thread and back cost more than that (bench_core: 1.8
        against 2.6 ms of server CPU per ticket). Other databases wait on the network,
        so there it goes to the thread pool like any sync route."""
        if self.db.is_sqlite:
            return work(*args)
        return await run_in_threadpool(work, *args)

    @contextmanager
    def write(self) -> Iterator[Session]:
        """One use-case: commit, then publish its events (never before)."""
        with self.db.write() as session:
            yield session
            session.commit()  # before_commit writes the facts of ended tickets (stats/facts.py)
            events = pending_events(session)
        for event in map(self.announced, events):
            self.hub.publish(event)
            self.ports.on_event(event)
