"""Call-next with 5,000 waiting: what the fast path (server/queue/desk.py and the heads
of server/queue/line.py) calls is exactly what the ordering rules rank first over the
whole line, call after call, as the clock runs (scores grow, targets pass, appointment
windows open, the priority streak cap bites)."""

from __future__ import annotations

import random

from sqlmodel import select

from bench.line_seed import top_up
from server.errors import QueueEmpty
from server.models import Counter
from server.queue import ordering, tickets
from server.queue.line import rules_for, waiting_in_line
from server.queue.today import Today
from tests.server.builders import QueueEnv

WAITING = 5000
TELLERS = {"1": "t1", "2": "t2", "3": "t3", "4": "t4"}


def expected_next(env: QueueEnv, number: str) -> int | None:
    """The reference: the rules over every waiting ticket."""
    with env.db.read() as session:
        row = session.exec(select(Counter).where(Counter.number == number)).one()
        whole = waiting_in_line(session, Today.of(env.branch, env.clock()))
    chosen = ordering.choose_next(
        whole,
        counter=number,
        services=row.services,
        consecutive_priority=row.consecutive_priority,
        rules=rules_for(env.branch),
        now=env.clock(),
    )
    return chosen[0].id if chosen else None


def test_call_next_calls_what_the_whole_line_ranks_first(ordered_env: QueueEnv) -> None:
    env, clock = ordered_env, ordered_env.clock
    shares = {"vip": 0.08, "accessibility": 0.04, "appointment": 0.06}
    added = top_up(env.db, env.branch, WAITING, clock(), seed=3, shares=shares, spread_min=14)
    assert added == WAITING
    for number, teller in TELLERS.items():
        env.open(number, teller)
    rng = random.Random(5)
    called: list[str] = []
    for _ in range(40):
        clock.advance(rng.uniform(5, 45))
        number = rng.choice(list(TELLERS))
        expected = expected_next(env, number)
        try:
            ticket = env.act(tickets.call_next, number, TELLERS[number])
        except QueueEmpty:
            ticket = None
        assert (ticket.id if ticket else None) == expected
        if ticket is not None:
            called.append(ticket.priority)
            env.act(tickets.complete, number, TELLERS[number])
    # The line held a real mix, and the calls went through it.
    assert len(called) == 40
    assert "normal" in called and set(called) - {"normal"}
