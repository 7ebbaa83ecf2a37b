"""The shapes of the staffing plan (GET /plan) and the live advice (GET /plan/advice):
OpenAPI shows them (Wire: extra="forbid"). Numbers are rounded floats or counts; an
int stays an int on the wire (`Number`), as the plan always wrote them."""

from __future__ import annotations

from typing import Literal

from server.public import Names, Wire

Number = int | float


class PlanSlot(Wire):
    slot: str
    arrivals_per_hour: dict[str, Number]
    erlang_c: dict[str, int]
    counters_taking: dict[str, int]
    counters: int
    beyond_branch: int
    rota: dict[str, list[str]]


class ServiceTimes(Wire):
    count: int
    mean_s: Number
    p50_s: Number
    p90_s: Number
    target_s: Number


class PriorityWait(Wire):
    priority: str
    service: str
    customers: int
    wait_p90_s: Number
    target_s: Number


class PlayedWeek(Wire):
    """A week played with a rota: per service the share within target and the p90."""

    within_target_pct: dict[str, Number]
    wait_p90_s: dict[str, Number]
    priority_p90: list[PriorityWait]
    counter_hours: Number
    customers: int


class PlanOut(Wire):
    branch: str
    weekday: str
    weeks: int
    days: list[str]
    slot_min: int
    share: Number
    services: dict[str, Names]
    service_times: dict[str, ServiceTimes]
    priorities: dict[str, Number]
    slots: list[PlanSlot]
    rounds: int
    suggested: PlayedWeek
    current: PlayedWeek


class ServiceAdviceOut(Wire):
    service: str
    arrived_last_hour: int
    per_hour: Number
    planned_per_hour: Number
    above_plan: bool
    open_counters: int
    needed: int
    open_more: int


class AdviceMessage(Wire):
    kind: Literal["above_plan", "open_more"]
    service: str
    zh: str
    en: str


class AdviceOut(Wire):
    now: str
    weekday: str
    weeks: int
    services: list[ServiceAdviceOut]
    messages: list[AdviceMessage]
