"""The shapes the statistics answer (GET /stats, the branches compared): one row of
figures per group (docs/statistics.md), OpenAPI shows them, and a figure the tally
writes but a model lacks fails the tests (Wire: extra="forbid")."""

from __future__ import annotations

from pydantic import AliasChoices, Field

from server.public import Names, Wire

# A figure rounded from a float, or a count: an int stays an int on the wire.
Figure = int | float | None

# `from` is a Python keyword: the field is `from_`, the wire says `from`.
FROM = AliasChoices("from_", "from")


class Figures(Wire):
    """The columns of a row, each defined in docs/statistics.md (FIGURES' order)."""

    issued: int
    served: int
    no_show: int
    cancelled: int
    transferred: int
    wait_avg_s: Figure
    wait_p50_s: Figure
    wait_p90_s: Figure
    wait_max_s: Figure
    service_avg_s: Figure
    service_p90_s: Figure
    within_target_pct: Figure
    ratings: int
    satisfied_pct: Figure
    called: int
    no_show_pct: Figure
    transfer_wait_avg_s: Figure
    recalls: int
    rating_avg: Figure


class StatsRow(Figures):
    """One group's row (a service, counter, teller, priority, hour or day; `total`)."""

    key: str | int | None
    name: Names


class StatsOut(Wire):
    branch: str
    group_by: str
    from_: str = Field(validation_alias=FROM, serialization_alias="from")
    to: str
    timezone: str
    rows: list[StatsRow]
    totals: StatsRow


class CompareOut(Wire):
    """The branches side by side: each branch's totals, keyed by its code."""

    from_: str | None = Field(validation_alias=FROM, serialization_alias="from")
    to: str | None
    rows: list[StatsRow]
