"""GET /api/v1/branches/{b}/stats and /stats.csv (managers): wait-time statistics
from the event log (see server/stats/compute.py and docs/statistics.md)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from server.api.deps import StoreDep
from server.auth import Principal
from server.hq.access import StatsReader, check_may_read
from server.stats.answers import StatsOut
from server.stats.compute import Report, branch_report, check_group_by, parse_range
from server.stats.export import csv_filename, report_csv
from server.store import Store

router = APIRouter(prefix="/api/v1", tags=["stats"])

FromQuery = Annotated[
    str | None,
    Query(alias="from", max_length=40, description="date or ISO datetime, branch local"),
]
ToQuery = Annotated[
    str | None, Query(max_length=40, description="date (inclusive) or ISO datetime (exclusive)")
]
GroupQuery = Annotated[
    str, Query(max_length=16, description="service | counter | teller | priority | hour | day")
]


def _report(
    store: Store,
    principal: Principal,
    branch: str,
    from_: str | None,
    to: str | None,
    group_by: str,
) -> Report:
    check_may_read(store, principal, branch)
    settings = store.branch(branch)
    grouping = check_group_by(group_by)
    span = parse_range(settings, from_, to, store.now())
    with store.read() as session:
        return branch_report(session, branch=settings, group_by=grouping, span=span)


@router.get("/branches/{branch}/stats", response_model=StatsOut)
def stats(
    branch: str,
    store: StoreDep,
    principal: StatsReader,
    from_: FromQuery = None,
    to: ToQuery = None,
    group_by: GroupQuery = "service",
) -> StatsOut:
    return _report(store, principal, branch, from_, to, group_by).answer()


@router.get("/branches/{branch}/stats.csv", response_class=Response)
def stats_csv(
    branch: str,
    store: StoreDep,
    principal: StatsReader,
    from_: FromQuery = None,
    to: ToQuery = None,
    group_by: GroupQuery = "service",
) -> Response:
    report = _report(store, principal, branch, from_, to, group_by)
    return Response(
        content=report_csv(report).encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{csv_filename(report)}"'},
    )
