"""What the manager's dashboard shows besides the live queue: the report of a date
range grouped several ways (one read of the event log) and the distribution of
service times, for the charts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from server.config import BranchSettings
from server.stats import aggregate
from server.stats.compute import DateRange, GroupBy, teller_names

BIN_S = 120  # service-time histogram: 2-minute bins
LAST_BIN_S = 40 * 60  # ... up to 40 minutes, then one "40+" bin
GROUPS: tuple[GroupBy, ...] = ("hour", "teller", "service")


def service_time_histogram(
    bins: list[tuple[str, int, int]], branch: BranchSettings
) -> dict[str, Any]:
    """(service, bin, served) of served tickets -> labels and one count list per
    service; bins of BIN_S seconds, the last one open (LAST_BIN_S and more)."""
    edges = list(range(0, LAST_BIN_S + 1, BIN_S))
    labels = [f"{a // 60}–{(a + BIN_S) // 60}" for a in edges[:-1]] + [f"{LAST_BIN_S // 60}+"]
    counts = {s.code: [0] * len(labels) for s in branch.services}
    for service, index, served in sorted(bins):
        counts.setdefault(service, [0] * len(labels))[index] += served
    return {
        "bin_s": BIN_S,
        "labels": labels,
        "series": [{"service": code, "counts": values} for code, values in counts.items()],
    }


def dashboard_summary(
    session: Session, *, branch: BranchSettings, span: DateRange, now: datetime
) -> dict[str, Any]:
    tellers = teller_names(session)
    tickets, reports = aggregate.reports(
        session, branch=branch, groupings=GROUPS, span=span, tellers=tellers
    )
    return {
        "now": now.isoformat(),
        "from": span.start.isoformat(),
        "to": span.end.isoformat(),
        "totals": reports["service"].totals,
        "by_hour": reports["hour"].rows,
        "by_teller": [r for r in reports["teller"].rows if r["key"] is not None],
        "by_service": reports["service"].rows,
        "service_times": service_time_histogram(
            tickets.service_bins(BIN_S, LAST_BIN_S // BIN_S), branch
        ),
        "tellers": tellers,
    }
