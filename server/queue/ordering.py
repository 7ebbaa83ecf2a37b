"""Who is served next: the declarative ordering rules, as pure functions of the
waiting tickets and `now` (no database), so they can be tested as properties.

- weighted (default): score = weight(priority) x seconds waited since enqueued_at;
  the highest score goes first, ties by enqueued_at then number. A priority ticket
  ages faster, and a normal ticket's score grows without bound, so nobody starves.
- strict: class rank (the order the classes are configured in, most urgent first),
  then FIFO.
- In both, a ticket that has waited past its service's target is escalated: the
  escalated go before everyone else, oldest first.
- max_consecutive_priority: after a counter has called that many priority tickets
  in a row, it calls the best normal ticket if one waits (0 turns the cap off).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

NORMAL = "normal"


@dataclass(frozen=True)
class Waiting:
    """What the rules need to know about one waiting ticket."""

    id: int
    number: str
    service: str
    priority: str
    enqueued_at: datetime
    priority_from: datetime | None = None
    target_counter: str | None = None


@dataclass(frozen=True)
class Rules:
    mode: Literal["weighted", "strict"] = "weighted"
    weights: dict[str, float] = field(default_factory=lambda: {NORMAL: 1.0})
    # Strict order of the classes; a class not listed ranks after all listed ones.
    ranks: dict[str, int] = field(default_factory=dict)
    target_wait_s: dict[str, float] = field(default_factory=dict)
    max_consecutive_priority: int = 3


def effective_priority(ticket: Waiting, now: datetime) -> str:
    """An appointment checked in early ranks as normal until its window opens."""
    if ticket.priority_from is not None and now < ticket.priority_from:
        return NORMAL
    return ticket.priority


def is_escalated(ticket: Waiting, rules: Rules, now: datetime) -> bool:
    target = rules.target_wait_s.get(ticket.service)
    return target is not None and (now - ticket.enqueued_at).total_seconds() > target


def sort_key(ticket: Waiting, rules: Rules, now: datetime) -> tuple[object, ...]:
    """Smaller goes first."""
    if is_escalated(ticket, rules, now):
        return (0, 0.0, ticket.enqueued_at, ticket.number)
    priority = effective_priority(ticket, now)
    if rules.mode == "strict":
        rank = float(rules.ranks.get(priority, len(rules.ranks)))
        return (1, rank, ticket.enqueued_at, ticket.number)
    waited = max(0.0, (now - ticket.enqueued_at).total_seconds())
    score = rules.weights.get(priority, 1.0) * waited
    return (1, -score, ticket.enqueued_at, ticket.number)


def in_order(tickets: Iterable[Waiting], rules: Rules, now: datetime) -> list[Waiting]:
    return sorted(tickets, key=lambda t: sort_key(t, rules, now))


def callable_by(ticket: Waiting, counter: str, services: Sequence[str]) -> bool:
    """A counter calls the services it serves, and tickets transferred to it."""
    if ticket.target_counter is not None:
        return ticket.target_counter == counter
    return ticket.service in services


def choose_next(
    waiting: Iterable[Waiting],
    *,
    counter: str,
    services: Sequence[str],
    consecutive_priority: int,
    rules: Rules,
    now: datetime,
) -> list[Waiting]:
    """The tickets this counter should call, best first (the caller claims the first
    one it can: another counter may have taken it a moment ago)."""
    ordered = in_order((t for t in waiting if callable_by(t, counter, services)), rules, now)
    cap = rules.max_consecutive_priority
    if cap and consecutive_priority >= cap and ordered:
        normals = [t for t in ordered if effective_priority(t, now) == NORMAL]
        if normals and effective_priority(ordered[0], now) != NORMAL:
            others = [t for t in ordered if effective_priority(t, now) != NORMAL]
            return normals + others
    return ordered


def people_ahead(ticket: Waiting, waiting: Iterable[Waiting], rules: Rules, now: datetime) -> int:
    """Waiting tickets of the same queue (service, or the counter it was sent to)
    that will be served before this one under the ordering rules."""
    mine = sort_key(ticket, rules, now)
    return sum(
        1
        for other in waiting
        if other.id != ticket.id
        and other.service == ticket.service
        and other.target_counter == ticket.target_counter
        and sort_key(other, rules, now) < mine
    )
