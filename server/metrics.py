"""Prometheus metrics, computed from the database at scrape time so that every
server process reports the same truth.

- lobbyq_waiting, lobbyq_longest_wait_seconds: the live queue, per service;
- lobbyq_{issued,calls,recalls,served,no_shows,cancelled}_today: counts of today's
  events (the branch's local day) per service, from the event log;
- lobbyq_counters: counters per state;
- lobbyq_printer_online / lobbyq_printer_state: from the printers' health probe,
  when the kiosk package installed one;
- lobbyq_websocket_clients (all) and lobbyq_branch_websocket_clients (per branch).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Gauge, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from sqlmodel import Session, col, select

from server.events import EventType
from server.models import Counter, CounterState, TicketEvent, as_utc, utc
from server.queue.line import waiting_tickets
from server.queue.today import Today

if TYPE_CHECKING:
    from server.store import Store

# metric name -> the event type it counts
TODAY_COUNTS = {
    "issued": EventType.ticket_issued,
    "calls": EventType.ticket_called,
    "recalls": EventType.ticket_recalled,
    "served": EventType.ticket_completed,
    "no_shows": EventType.ticket_no_show,
    "cancelled": EventType.ticket_cancelled,
}
PRINTER_STATES = ("ok", "busy", "paper_low", "paper_out", "offline", "error")


def today_counts(session: Session, today: Today) -> dict[tuple[str, str], int]:
    """(metric, service) -> events of that type today (the business day, from the
    branch's reset time). A reinstated
    no-show's second call counts as a call; `no_shows` counts no-show events."""
    branch, start = today.branch, today.starts
    kinds = {str(t): name for name, t in TODAY_COUNTS.items()}
    rows = session.exec(
        select(TicketEvent.type, TicketEvent.data).where(
            TicketEvent.branch == branch.code,
            col(TicketEvent.type).in_(list(kinds)),
            col(TicketEvent.at) >= as_utc(start),
        )
    ).all()
    counts: dict[tuple[str, str], int] = {}
    for kind, data in rows:
        key = (kinds[kind], str((data or {}).get("service") or ""))
        counts[key] = counts.get(key, 0) + 1
    return counts


def _printer_metrics(store: Store, registry: CollectorRegistry) -> None:
    online = Gauge(
        "lobbyq_printer_online",
        "Ticket printer online (1) or not (0)",
        ["branch", "printer"],
        registry=registry,
    )
    state = Gauge(
        "lobbyq_printer_state",
        "Ticket printer state: 1 for the current one",
        ["branch", "printer", "state"],
        registry=registry,
    )
    try:
        report: Any = store.ports.printing.health()
    except Exception:  # a failing probe must not take /metrics down
        return
    if not isinstance(report, dict):
        return
    for branch, printers in report.items():
        for printer in printers if isinstance(printers, list) else []:
            if not isinstance(printer, dict) or "id" not in printer:
                continue
            name = str(printer["id"])
            online.labels(str(branch), name).set(1 if printer.get("online") else 0)
            current = str(printer.get("state") or "error")
            for known in sorted({*PRINTER_STATES, current}):
                state.labels(str(branch), name, known).set(1 if known == current else 0)


def render_metrics(store: Store) -> tuple[bytes, str]:
    registry = CollectorRegistry()
    waiting = Gauge("lobbyq_waiting", "Tickets waiting", ["branch", "service"], registry=registry)
    longest = Gauge(
        "lobbyq_longest_wait_seconds",
        "Longest current wait",
        ["branch", "service"],
        registry=registry,
    )
    today = {
        name: Gauge(
            f"lobbyq_{name}_today",
            f"{name.replace('_', '-')} events today (branch local day), from the event log",
            ["branch", "service"],
            registry=registry,
        )
        for name in TODAY_COUNTS
    }
    counters = Gauge(
        "lobbyq_counters", "Counters per state", ["branch", "state"], registry=registry
    )
    clients = Gauge("lobbyq_websocket_clients", "Connected WebSocket clients", registry=registry)
    branch_clients = Gauge(
        "lobbyq_branch_websocket_clients",
        "Connected WebSocket clients per branch",
        ["branch"],
        registry=registry,
    )
    now = store.now()
    with store.read() as session:
        for branch in store.config.branches:
            day = Today.of(branch, now)  # the branch's day, worked out once
            tickets = waiting_tickets(session, day)
            counts = today_counts(session, day)
            for service in branch.services:
                mine = [t for t in tickets if t.service == service.code]
                waiting.labels(branch.code, service.code).set(len(mine))
                waits = [(now - e).total_seconds() for t in mine if (e := utc(t.enqueued_at))]
                longest.labels(branch.code, service.code).set(max(waits, default=0))
                for name, gauge in today.items():
                    gauge.labels(branch.code, service.code).set(counts.get((name, service.code), 0))
            states = [
                c.state for c in session.exec(select(Counter).where(Counter.branch == branch.code))
            ]
            for state in CounterState:
                counters.labels(branch.code, str(state)).set(states.count(state))
            branch_clients.labels(branch.code).set(store.hub.subscriber_count(branch.code))
    clients.set(store.hub.subscriber_count())
    _printer_metrics(store, registry)
    store.ports.printing.metrics(registry)
    return generate_latest(registry), CONTENT_TYPE_LATEST
