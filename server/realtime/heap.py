"""The garbage collector of a `lobbyq serve` process, set for thousands of sockets.

Every open WebSocket keeps ~250 container objects alive (its tasks' coroutine frames
through the ASGI middleware, closures, the protocol's parser and headers), so 5,000
displays are over a million objects on top of the ~180,000 the application leaves
after its start. CPython's collector (3.11: a young collection every 700 net
allocations, an old-generation pass every 100 of those once the heap grew by a
quarter) scans all of them on each full pass; during a reconnect storm that was
about half of the server's CPU (bench/bench_reconnect.py --clients 5000: 15-18 s
of server CPU with the defaults, 10.7 s with this, 9.7 s with the collector off,
on a loaded machine).

So, once the application is built: `gc.freeze()` moves what the start left (modules,
routes, models) out of every future scan, and the young generation is made larger,
which makes every generation's pass rarer. Reference counting still frees nearly
everything at once; only garbage in cycles waits longer, bounded by the threshold
(a few MB at most).
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 50_000  # CPython's default is 700
OLDER_THRESHOLDS = (10, 10)  # CPython's defaults


def settle_heap() -> None:
    """Call once, after the application is built and before serving."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, *OLDER_THRESHOLDS)
