"""The report as CSV for Excel: UTF-8 with a BOM (so Excel reads the Chinese names
right), comma separated, CRLF line ends, one header line, a totals line last."""

from __future__ import annotations

import csv
import io
from typing import Any

from server.stats.compute import FIGURES, Report

BOM = "\ufeff"


def _cell(value: Any) -> Any:
    return "" if value is None else value


def _name(row: dict[str, Any]) -> str:
    name = row.get("name") or {}
    zh, en = str(name.get("zh", "")), str(name.get("en", ""))
    return zh if zh == en else f"{zh} / {en}"


def report_csv(report: Report) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([report.group_by, "name", *FIGURES])
    for row in [*report.rows, report.totals]:
        key = row["key"]
        writer.writerow([_cell(key), _name(row), *(_cell(row.get(f)) for f in FIGURES)])
    return BOM + out.getvalue()


def csv_filename(report: Report) -> str:
    start = report.span.start.date().isoformat()
    return f"lobbyq-stats-{report.branch}-{start}-by-{report.group_by}.csv"
