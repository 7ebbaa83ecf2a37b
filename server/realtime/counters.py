"""Which counters are open, read once at start-up by the lobby voice (which then follows
`counter.updated` events); UI packages never read tables themselves."""

from __future__ import annotations

from sqlmodel import select

from server.models import Counter, CounterState
from server.store import Store


def open_counters(store: Store) -> dict[str, dict[str, dict[str, object]]]:
    """branch -> counter number -> {"services": [...], "name": {zh, en}} of open counters."""
    found: dict[str, dict[str, dict[str, object]]] = {}
    with store.read() as session:
        for row in session.exec(select(Counter).where(Counter.state == CounterState.open)):
            found.setdefault(row.branch, {})[row.number] = {
                "services": list(row.services),
                "name": {"zh": row.name_zh, "en": row.name_en},
            }
    return found
