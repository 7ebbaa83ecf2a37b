"""The branches side by side over a date range: each branch's report totals (the
statistics' columns, docs/statistics.md), read through the fast path (fact rows of
sealed days, the log for the rest), and the same table as CSV for Excel."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import datetime

from sqlmodel import Session

from server.config import BranchSettings
from server.public import Names
from server.stats.aggregate import TOTAL, tickets_of
from server.stats.answers import CompareOut, StatsRow
from server.stats.compute import FIGURES, figures_of, parse_range
from server.stats.export import BOM, _cell, _name


def compare_branches(
    session: Session,
    *,
    branches: Sequence[BranchSettings],
    from_: str | None,
    to: str | None,
    now: datetime,
) -> CompareOut:
    """Dates are read in each branch's own timezone (a day is that branch's day)."""
    rows = []
    first = None
    for branch in branches:
        span = parse_range(branch, from_, to, now)
        first = first or span
        total = tickets_of(session, branch, span).tallies(())[TOTAL][None]
        rows.append(
            StatsRow(key=branch.code, name=Names.of(branch.name), **figures_of(total))
        )
    return CompareOut(
        from_=first.start.isoformat() if first else from_,
        to=first.end.isoformat() if first else to,
        rows=rows,
    )


def compare_csv(table: CompareOut) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["branch", "name", *FIGURES])
    for row in table.rows:
        shown = row.model_dump()
        writer.writerow([row.key, _name(shown), *(_cell(shown.get(f)) for f in FIGURES)])
    return BOM + out.getvalue()
