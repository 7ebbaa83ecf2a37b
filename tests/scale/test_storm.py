"""The storm of tests/scale/storm.py on PostgreSQL, bounded: 30 counters calling as
fast as they can and 16 kiosks issuing against a real `lobbyq serve` process for
25 s, then the line is drained. Fails if the process dies (a segfault in a driver
shows in its log: PYTHONFAULTHANDLER), if any request gets a 5xx or no answer, or if
any acknowledged ticket is lost, left uncalled or called twice."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.scale.storm import COUNTERS, KIOSKS, Storm, start_storm_server

STORM_S = 25


@pytest.mark.timeout(900)
def test_storm_of_counters_and_kiosks_on_postgres(pg_url: str, workdir: Path) -> None:
    server, tokens = start_storm_server(pg_url, workdir)
    try:
        storm = Storm(server)
        elapsed = storm.run(STORM_S, tokens)
        problems = storm.problems(pg_url)
    finally:
        server.stop()
    print(
        f"{COUNTERS} counters, {KIOSKS} kiosks, {elapsed:.0f} s: {storm.requests} requests, "
        f"{len(storm.acked)} tickets issued, {len(storm.calls)} called"
    )
    assert problems == [], "\n".join(problems)
    assert len(storm.calls) == len(storm.acked) > 0
    assert "Fatal Python error" not in server.log.read_text()
