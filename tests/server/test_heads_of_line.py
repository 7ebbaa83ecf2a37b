"""Call-next reads only the first tickets of each (service, class) group
(server/queue/line.py heads_of_line). It must choose exactly what the rules choose
over the whole line, whatever the line holds: long groups, escalation, appointments
that rank as normal for a while, tickets transferred to a counter, both orderings."""

from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import update
from sqlmodel import col

from server.models import Ticket
from server.queue import ordering
from server.queue.line import HEADS_PER_GROUP, heads_of_line, rules_for, waiting_in_line
from server.queue.today import Today
from tests.server.builders import QueueEnv

COUNTERS = {"1": ["A", "B"], "3": ["B"], "4": ["C"]}


def best(env: QueueEnv, counter: str, line: list[ordering.Waiting], streak: int) -> list[int]:
    """The counter's candidates, best first, as far as the heads promise them: the
    first HEADS_PER_GROUP (call-next falls back down this list when another counter
    claimed a ticket a moment earlier)."""
    chosen = ordering.choose_next(
        line,
        counter=counter,
        services=COUNTERS[counter],
        consecutive_priority=streak,
        rules=rules_for(env.branch),
        now=env.clock(),
    )
    return [w.id for w in chosen[:HEADS_PER_GROUP]]


def fill(env: QueueEnv, rng: random.Random) -> None:
    """A long, mixed line: most normal, some VIP and assistance, appointments of which
    some only rank as such later, and a few tickets sent to counter 3."""
    classes = ["normal"] * 6 + ["vip", "accessibility"] + ["appointment"] * 3
    for _ in range(8 * HEADS_PER_GROUP):
        env.clock.advance(rng.uniform(0, 8))
        ticket = env.issue(rng.choice("AABC"), rng.choice(classes))
        changes: dict[str, object] = {}
        if ticket.priority == "appointment" and rng.random() < 0.5:
            changes["priority_from"] = env.clock() + timedelta(minutes=rng.uniform(-5, 10))
        if rng.random() < 0.05:
            changes["target_counter"] = "3"
        if changes:
            with env.write() as session:
                session.execute(update(Ticket).where(col(Ticket.id) == ticket.id).values(**changes))


def test_heads_choose_what_the_whole_line_chooses(ordered_env: QueueEnv) -> None:
    env = ordered_env
    rng = random.Random(7)
    fill(env, rng)
    checked = 0
    for _ in range(12):  # later and later: scores grow, targets pass, windows open
        env.clock.advance(rng.uniform(20, 60))
        with env.db.read() as session:
            whole = waiting_in_line(session, Today.of(env.branch, env.clock()))
            for counter in COUNTERS:
                heads = heads_of_line(
                    session,
                    Today.of(env.branch, env.clock()),
                    counter=counter,
                    services=COUNTERS[counter],
                )
                for streak in (0, 3):
                    assert best(env, counter, heads, streak) == best(env, counter, whole, streak)
                    checked += 1
    # The line was long enough for the heads to be a real cut of it.
    assert len(whole) > 3 * HEADS_PER_GROUP
    assert len(heads) < len(whole)
    assert checked == 12 * len(COUNTERS) * 2


def test_an_appointment_whose_window_opened_overtakes_a_long_group(env: QueueEnv) -> None:
    # Twelve appointments checked in early rank as normal until their windows open in
    # an hour; one issued 5 minutes later has its window open already. Ten minutes on,
    # its score is 3 x 300 s = 900 against 1 x 600 s for the early ones: it goes first
    # although eleven tickets of its group came before it.
    env.open("1")
    early = []
    for _ in range(HEADS_PER_GROUP + 2):
        early.append(env.issue("A", "appointment"))
    with env.write() as session:
        session.execute(
            update(Ticket)
            .where(col(Ticket.id).in_([t.id for t in early]))
            .values(priority_from=env.clock() + timedelta(hours=1))
        )
    env.clock.advance(300)
    late = env.issue("A", "appointment")
    env.clock.advance(300)
    with env.db.read() as session:
        today = Today.of(env.branch, env.clock())
        heads = heads_of_line(session, today, counter="1", services=["A", "B"])
    assert best(env, "1", heads, 0)[0] == late.id
    assert env.call("1").id == late.id
