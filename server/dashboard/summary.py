"""What the manager's dashboard shows besides the live queue: the report of a date
range grouped several ways (one read of the event log) and the distribution of
service times, for the charts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from server.config import BranchSettings
from server.stats.compute import DateRange, build_report, load_facts, teller_names

BIN_S = 120  # service-time histogram: 2-minute bins
LAST_BIN_S = 40 * 60  # ... up to 40 minutes, then one "40+" bin


def service_time_histogram(
    service_times: list[tuple[str, float]], branch: BranchSettings
) -> dict[str, Any]:
    """(service, seconds) of served tickets -> bins and one count list per service."""
    edges = list(range(0, LAST_BIN_S + 1, BIN_S))
    labels = [f"{a // 60}–{(a + BIN_S) // 60}" for a in edges[:-1]] + [f"{LAST_BIN_S // 60}+"]
    counts = {s.code: [0] * len(labels) for s in branch.services}
    for service, seconds in service_times:
        index = min(int(seconds // BIN_S), len(labels) - 1)
        counts.setdefault(service, [0] * len(labels))[index] += 1
    return {
        "bin_s": BIN_S,
        "labels": labels,
        "series": [{"service": code, "counts": values} for code, values in counts.items()],
    }


def dashboard_summary(
    session: Session, *, branch: BranchSettings, span: DateRange, now: datetime
) -> dict[str, Any]:
    tickets = load_facts(session, branch, span)
    tellers = teller_names(session)
    reports = {
        group: build_report(tickets, branch=branch, group_by=group, span=span, tellers=tellers)
        for group in ("hour", "teller", "service")
    }
    served = [
        (t.service, t.service_s)
        for t in tickets
        if t.outcome == "served" and t.service_s is not None
    ]
    return {
        "now": now.isoformat(),
        "from": span.start.isoformat(),
        "to": span.end.isoformat(),
        "totals": reports["service"].totals,
        "by_hour": reports["hour"].rows,
        "by_teller": [r for r in reports["teller"].rows if r["key"] is not None],
        "by_service": reports["service"].rows,
        "service_times": service_time_histogram(
            [(service, seconds) for service, seconds in served if seconds is not None], branch
        ),
        "tellers": tellers,
    }
