"""`GET /api/v1/overview`, the comparison of branches, and the `/hq` page.

The overview of every branch is computed at most once per OVERVIEW_TTL_S per process
and shared by every HQ page asking meanwhile (each user then sees the branches it
may); the page polls it every second, so what it shows is at most ~2 s old.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from server.api.deps import StoreDep, drop_token_from_address
from server.auth import Principal
from server.dashboard.routes import _who as signed_in
from server.hq.access import OverviewReader, visible_branches
from server.hq.answers import BranchOverview
from server.hq.compare import compare_branches, compare_csv
from server.hq.overview import overview
from server.stats.answers import CompareOut
from server.stats.facts import seal_days
from server.store import Store
from server.web.pages import page_templates

log = logging.getLogger("lobbyq.hq")

HERE = Path(__file__).resolve().parent
OVERVIEW_TTL_S = 0.9
templates = page_templates(HERE / "templates")
router = APIRouter(tags=["hq"])

FromQuery = Annotated[str | None, Query(alias="from", max_length=40)]
ToQuery = Annotated[str | None, Query(max_length=40)]


@dataclass
class OverviewCache:
    """The last overview of every branch; one per app (`store.overview`)."""

    at: float = -1e9
    rows: list[BranchOverview] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def all_branches_overview(store: Store) -> list[BranchOverview]:
    """Every configured branch, recomputed once per OVERVIEW_TTL_S (single flight:
    callers arriving meanwhile wait for the one computation and share it)."""
    cache = store.overview
    with cache.lock:
        if time.monotonic() - cache.at >= OVERVIEW_TTL_S:
            with store.read() as session:
                cache.rows = overview(session, branches=store.config.branches, now=store.now())
            cache.at = time.monotonic()
        return cache.rows


def overview_for(store: Store, principal: Principal) -> list[BranchOverview]:
    mine = {b.code for b in visible_branches(store, principal)}
    return [row for row in all_branches_overview(store) if row.branch in mine]


@router.get("/api/v1/overview", response_model=list[BranchOverview])
def get_overview(store: StoreDep, principal: OverviewReader) -> list[BranchOverview]:
    return overview_for(store, principal)


def _compare(
    store: Store, principal: Principal, from_: str | None, to: str | None
) -> CompareOut:
    with store.read() as session:
        return compare_branches(
            session,
            branches=visible_branches(store, principal),
            from_=from_,
            to=to,
            now=store.now(),
        )


@router.get("/api/v1/overview/compare", response_model=CompareOut)
def compare(
    store: StoreDep, principal: OverviewReader, from_: FromQuery = None, to: ToQuery = None
) -> CompareOut:
    return _compare(store, principal, from_, to)


@router.get("/api/v1/overview/compare.csv", response_class=Response)
def compare_as_csv(
    store: StoreDep, principal: OverviewReader, from_: FromQuery = None, to: ToQuery = None
) -> Response:
    table = _compare(store, principal, from_, to)
    name = f"lobbyq-branches-{str(table.from_)[:10]}-{str(table.to)[:10]}.csv"
    return Response(
        content=compare_csv(table).encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/hq", response_class=HTMLResponse, include_in_schema=False)
def hq_page(request: Request, store: StoreDep) -> Response:
    token = request.query_params.get("token")
    if token:
        return drop_token_from_address("/hq")
    headers = {"Cache-Control": "no-store"}
    principal = signed_in(request, store)
    if principal is None:
        return templates.TemplateResponse(request, "hq_login.html", {}, headers=headers)
    if not principal.can("overview"):
        context = {"who": principal.name, "role": principal.role or principal.kind}
        return templates.TemplateResponse(
            request, "hq_refused.html", context, status_code=403, headers=headers
        )
    return templates.TemplateResponse(
        request, "hq.html", {"user": principal.name, "role": principal.role}, headers=headers
    )


# --- sealing days in the background ----------------------------------------------------

SEAL_EVERY_S = 600.0
SEAL_DAYS_PER_PASS = 31  # a backlog (an upgrade) is worked off a month per pass


def seal_all(store: Store) -> int:
    """Seal what can be sealed in every branch (server/stats/facts.py). Several
    processes may race for one day: the loser's transaction fails and is retried on
    the next pass."""
    sealed = 0
    for branch in store.config.branches:
        try:
            with store.db.write() as session:
                sealed += seal_days(session, branch, store.now(), limit=SEAL_DAYS_PER_PASS)
        except SQLAlchemyError as exc:
            log.warning("sealing %s: %s (retried next pass)", branch.code, exc)
    return sealed


async def _keep_sealing(store: Store) -> None:
    while True:
        try:
            await run_in_threadpool(seal_all, store)
        except Exception:  # never let the loop die: reports stay exact from the log
            log.exception("sealing days failed")
        await asyncio.sleep(SEAL_EVERY_S)


class Sealer:
    """The background pass that seals days; one per app (`store.sealer`), run by the
    app's lifespan."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(_keep_sealing(self._store))

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
