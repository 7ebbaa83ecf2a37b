"""What checking a staff token against the users table costs per request, next to the
floor measured in the same run: the token's signature check alone (what every request
paid before the check was added).

    .venv/bin/python bench/bench_auth.py [--rounds 3000] [--database-url URL]

In process, no HTTP: the figure is the added time per staff request (a teller's
call-next, a manager's stats); device requests (kiosk, TV) do not look up users.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from server.app import prepare_database  # noqa: E402
from server.auth import Tokens, UserDirectory  # noqa: E402
from server.db import Database  # noqa: E402
from tests.support import make_config  # noqa: E402


def timed(work: Callable[[], object], rounds: int) -> tuple[float, float]:
    """Mean and p99 in microseconds."""
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        work()
        samples.append((time.perf_counter() - start) * 1e6)
    samples.sort()
    return statistics.fmean(samples), samples[int(len(samples) * 0.99)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3000)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or f"sqlite:///{Path(folder) / 'lobbyq.db'}"
        config = make_config(url, Path(folder) / "data")
        db = Database(url)
        prepare_database(config, db)
        floor = Tokens(config)  # signature only
        checked = Tokens(config, UserDirectory(db.engine))
        token = checked.issue("teller1", "teller", 0)
        checked.resolve(token)  # warm the pool
        rows = [
            ("floor: signature check only", *timed(lambda: floor.resolve(token), args.rounds)),
            ("signature + users table", *timed(lambda: checked.resolve(token), args.rounds)),
        ]
        db.dispose()
    print(f"database: {url.split(':')[0]}, {args.rounds} rounds\n")
    print(f"| {'staff token check':<32} | {'mean us':>8} | {'p99 us':>8} |")
    print(f"|{'-' * 34}|{'-' * 10}|{'-' * 10}|")
    for name, mean, p99 in rows:
        print(f"| {name:<32} | {mean:>8.1f} | {p99:>8.1f} |")


if __name__ == "__main__":
    main()
