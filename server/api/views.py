"""Turning rows into the public shapes of API.md."""

from __future__ import annotations

from typing import Any

from server.config import BranchSettings
from server.models import Ticket
from server.public import iso
from server.queue.tickets import Place


def ticket_out(
    ticket: Ticket, place: Place, branch: BranchSettings, base: str, **extra: Any
) -> dict[str, Any]:
    service = branch.service(ticket.service)
    return {
        "id": ticket.id,
        "token": ticket.token,
        "number": ticket.number,
        "service": ticket.service,
        "service_name": service.name.model_dump() if service else None,
        "priority": ticket.priority,
        "status": str(ticket.status),
        "issued_at": iso(ticket.issued_at),
        "enqueued_at": iso(ticket.enqueued_at),
        "called_at": iso(ticket.called_at),
        "counter": ticket.counter,
        "position": place.position,
        "estimated_wait_s": place.estimated_wait_s,
        "estimated_wait_range_s": place.range_json,
        "track_url": f"{base}/t/{ticket.token}",
        **extra,
    }
