"""The report as a plain-text table for the terminal (`lobbyq stats`). Column widths
count a Chinese character as two cells, as terminals show them."""

from __future__ import annotations

import unicodedata
from typing import Any

from server.stats.compute import Report

COLUMNS = (
    ("issued", "issued"),
    ("served", "served"),
    ("no_show", "no-show"),
    ("cancelled", "cancel"),
    ("transferred", "transf"),
    ("wait_avg_s", "wait avg"),
    ("wait_p50_s", "p50"),
    ("wait_p90_s", "p90"),
    ("wait_max_s", "max"),
    ("service_avg_s", "svc avg"),
    ("service_p90_s", "svc p90"),
    ("within_target_pct", "in target"),
    ("satisfied_pct", "satisfied"),
)
DURATIONS = {"wait_avg_s", "wait_p50_s", "wait_p90_s", "wait_max_s", "service_avg_s"}
DURATIONS |= {"service_p90_s"}


def width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def pad(text: str, size: int, right: bool = False) -> str:
    gap = " " * max(0, size - width(text))
    return gap + text if right else text + gap


def minutes(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    whole = round(seconds)
    return f"{whole // 60}:{whole % 60:02d}"


def cell(column: str, value: Any) -> str:
    if value is None:
        return "-"
    if column in DURATIONS:
        return minutes(float(value))
    if column.endswith("_pct"):
        return f"{value:.1f}%"
    return str(value)


def report_table(report: Report) -> str:
    head = ["", *(title for _, title in COLUMNS)]
    body = []
    for row in [*report.rows, report.totals]:
        name = row.get("name") or {}
        key = row["key"]
        label = name.get("zh", "") if key is None else f"{key} {name.get('zh', '')}".strip()
        if report.group_by in ("hour", "day") or row is report.totals:
            label = name.get("zh", str(key))
        body.append([label, *(cell(c, row.get(c)) for c, _ in COLUMNS)])
    sizes = [max(width(line[i]) for line in [head, *body]) for i in range(len(head))]

    def render(line: list[str]) -> str:
        return "  ".join(pad(v, sizes[i], right=i > 0) for i, v in enumerate(line))

    rule = "-" * (sum(sizes) + 2 * (len(sizes) - 1))
    start = report.span.start.isoformat()
    end = report.span.end.isoformat()
    title = f"branch {report.branch}, {start} .. {end}, by {report.group_by} (times m:ss)"
    lines = [title, render(head), rule, *(render(line) for line in body[:-1]), rule]
    lines.append(render(body[-1]))
    return "\n".join(lines)
