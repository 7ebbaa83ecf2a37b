"""The shapes of HQ's overview (GET /api/v1/overview): a row per branch with its
alerts; OpenAPI shows them (Wire: extra="forbid")."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from server.public import Names, Wire
from server.stats.answers import Figure


class AlertCounter(Wire):
    number: str
    name: Names
    state: str


class OverTarget(Wire):
    """Someone of this service has waited longer than its target."""

    kind: Literal["over_target"]
    service: str
    service_name: Names
    waiting: int
    longest_wait_s: int
    target_wait_s: int


class NoOpenCounter(Wire):
    """People wait for this service and no counter serving it is open."""

    kind: Literal["no_open_counter"]
    service: str
    service_name: Names
    waiting: int
    counters: list[AlertCounter]


BranchAlert = Annotated[OverTarget | NoOpenCounter, Field(discriminator="kind")]


class BranchOverview(Wire):
    branch: str
    name: Names
    waiting: int
    longest_wait_s: int | None
    open_counters: int
    paused_counters: int
    counters: int
    served_today: int
    within_target_pct: Figure
    ratings_today: int
    satisfied_pct: Figure
    alerts: list[BranchAlert]
