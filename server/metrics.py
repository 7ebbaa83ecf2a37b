"""Prometheus metrics, computed from the database at scrape time so that every
server process reports the same truth."""

from __future__ import annotations

from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Gauge, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from server.models import utc
from server.queue.tickets import waiting_tickets

if TYPE_CHECKING:
    from server.store import Store


def render_metrics(store: Store) -> tuple[bytes, str]:
    registry = CollectorRegistry()
    waiting = Gauge("lobbyq_waiting", "Tickets waiting", ["branch", "service"], registry=registry)
    longest = Gauge(
        "lobbyq_longest_wait_seconds",
        "Longest current wait",
        ["branch", "service"],
        registry=registry,
    )
    clients = Gauge("lobbyq_websocket_clients", "Connected WebSocket clients", registry=registry)
    now = store.now()
    with store.read() as session:
        for branch in store.config.branches:
            tickets = waiting_tickets(session, branch, now)
            for service in branch.services:
                mine = [t for t in tickets if t.service == service.code]
                waiting.labels(branch.code, service.code).set(len(mine))
                waits = [(now - e).total_seconds() for t in mine if (e := utc(t.enqueued_at))]
                longest.labels(branch.code, service.code).set(max(waits, default=0))
    clients.set(store.hub.subscriber_count())
    for extend in store.metric_hooks:
        extend(registry)
    return generate_latest(registry), CONTENT_TYPE_LATEST
