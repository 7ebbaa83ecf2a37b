"""The ordering rules as properties (hypothesis), on the pure functions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from server.queue import ordering
from server.queue.ordering import NORMAL, Rules, Waiting

T0 = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)
SERVICES = ["A", "B", "C"]
PRIORITIES = [NORMAL, "vip", "accessibility"]


def rules(mode: str = "weighted", cap: int = 3, target_s: float = 900) -> Rules:
    return Rules(
        mode=mode,  # type: ignore[arg-type]
        weights={NORMAL: 1, "vip": 4, "accessibility": 3},
        ranks={"vip": 0, "accessibility": 1, NORMAL: 2},
        target_wait_s={s: target_s for s in SERVICES},
        max_consecutive_priority=cap,
    )


tickets_strategy = st.lists(
    st.tuples(
        st.sampled_from(SERVICES),
        st.sampled_from(PRIORITIES),
        st.integers(min_value=0, max_value=3600),
    ),
    min_size=1,
    max_size=40,
)


def build(raw: list[tuple[str, str, int]]) -> list[Waiting]:
    return [
        Waiting(
            id=i, number=f"{s}{i:03d}", service=s, priority=p, enqueued_at=T0 + timedelta(seconds=o)
        )
        for i, (s, p, o) in enumerate(raw)
    ]


@given(tickets_strategy, st.integers(0, 7200), st.sampled_from(["weighted", "strict"]))
def test_fifo_within_a_service_and_class(
    raw: list[tuple[str, str, int]], later: int, mode: str
) -> None:
    waiting = build(raw)
    now = T0 + timedelta(seconds=3600 + later)
    ordered = ordering.in_order(waiting, rules(mode), now)
    for i, first in enumerate(ordered):
        for second in ordered[i + 1 :]:
            if (first.service, first.priority) == (second.service, second.priority):
                assert (first.enqueued_at, first.number) <= (second.enqueued_at, second.number)


@given(
    st.lists(st.sampled_from(SERVICES), min_size=1, max_size=3, unique=True),
    tickets_strategy,
    st.integers(0, 5),
)
def test_a_counter_never_calls_a_service_it_does_not_serve(
    served: list[str], raw: list[tuple[str, str, int]], streak: int
) -> None:
    waiting = build(raw)
    choice = ordering.choose_next(
        waiting,
        counter="1",
        services=served,
        consecutive_priority=streak,
        rules=rules(),
        now=T0 + timedelta(hours=2),
    )
    assert all(t.service in served for t in choice)
    assert len(choice) == sum(1 for t in waiting if t.service in served)


def test_transferred_ticket_goes_only_to_its_counter() -> None:
    sent = Waiting(
        id=1, number="A001", service="A", priority=NORMAL, enqueued_at=T0, target_counter="2"
    )
    assert (
        ordering.choose_next(
            [sent], counter="1", services=["A"], consecutive_priority=0, rules=rules(), now=T0
        )
        == []
    )
    assert ordering.choose_next(
        [sent], counter="2", services=["C"], consecutive_priority=0, rules=rules(), now=T0
    ) == [sent]


def simulate(
    arrivals: list[tuple[int, str, str]],
    *,
    mode: str,
    cap: int,
    service_s: int,
    target_s: float,
    steps: int,
) -> tuple[list[tuple[Waiting, datetime, bool]], list[Waiting]]:
    """One counter serving A and B, calling every `service_s` seconds. Returns the calls
    (ticket, when, whether a normal ticket was waiting then) and who is left."""
    pending = sorted(
        (
            Waiting(
                id=i,
                number=f"{s}{i:04d}",
                service=s,
                priority=p,
                enqueued_at=T0 + timedelta(seconds=at),
            )
            for i, (at, s, p) in enumerate(arrivals)
        ),
        key=lambda t: t.enqueued_at,
    )
    waiting: list[Waiting] = []
    calls: list[tuple[Waiting, datetime, bool]] = []
    streak = 0
    for step in range(steps):
        now = T0 + timedelta(seconds=step * service_s)
        while pending and pending[0].enqueued_at <= now:
            waiting.append(pending.pop(0))
        choice = ordering.choose_next(
            waiting,
            counter="1",
            services=["A", "B"],
            consecutive_priority=streak,
            rules=rules(mode, cap, target_s),
            now=now,
        )
        if not choice:
            continue
        chosen = choice[0]
        normal_waiting = any(t.priority == NORMAL for t in waiting)
        waiting.remove(chosen)
        calls.append((chosen, now, normal_waiting))
        streak = streak + 1 if chosen.priority != NORMAL else 0
    return calls, waiting + pending


arrival_strategy = st.lists(
    st.tuples(st.integers(0, 3000), st.sampled_from(["A", "B"]), st.sampled_from(PRIORITIES)),
    min_size=1,
    max_size=60,
)


@settings(max_examples=60, deadline=None)
@given(arrival_strategy, st.integers(1, 5), st.sampled_from(["weighted", "strict"]))
def test_the_consecutive_priority_cap_holds(
    arrivals: list[tuple[int, str, str]], cap: int, mode: str
) -> None:
    calls, _ = simulate(arrivals, mode=mode, cap=cap, service_s=60, target_s=10**9, steps=200)
    streak = 0
    for ticket, _, normal_waiting in calls:
        if ticket.priority == NORMAL:
            streak = 0
            continue
        streak += 1
        if normal_waiting:
            assert streak <= cap, "more priority calls in a row than the cap while a normal waited"


@settings(max_examples=60, deadline=None)
@given(
    st.integers(0, 600),
    st.integers(1, 4),
    st.sampled_from(["weighted", "strict"]),
    st.sampled_from(["vip", "accessibility"]),
)
def test_no_ticket_waits_forever_whatever_arrives(
    start: int, flood: int, mode: str, kind: str
) -> None:
    """A normal ticket among a flood of priority tickets (several arriving per service
    slot, more than the counter can ever serve, cap off) is still called: it is
    escalated at its target and then only older tickets go before it."""
    service_s, target_s = 60, 900
    arrivals = [(start, "A", NORMAL)]
    arrivals += [(t, "B", kind) for t in range(0, 6000, service_s // flood)]
    calls, _ = simulate(
        arrivals, mode=mode, cap=0, service_s=service_s, target_s=target_s, steps=100
    )
    called = {t.priority: when for t, when, _ in calls if t.priority == NORMAL}
    assert NORMAL in called, "the normal ticket starved"
    older = sum(1 for at, _, _ in arrivals if at < start)
    bound = T0 + timedelta(seconds=start + target_s + (older + 2) * service_s)
    assert called[NORMAL] <= bound


def test_weighted_priority_ages_faster_but_a_long_wait_wins() -> None:
    normal = Waiting(id=1, number="A001", service="A", priority=NORMAL, enqueued_at=T0)
    vip = Waiting(
        id=2, number="VA002", service="A", priority="vip", enqueued_at=T0 + timedelta(seconds=200)
    )
    r = rules(target_s=10**9)
    # At +300 s: normal 300 vs vip 4 x 100 = 400 -> vip first.
    assert ordering.in_order([normal, vip], r, T0 + timedelta(seconds=300))[0] is vip
    # At +250 s: normal 250 vs vip 4 x 50 = 200 -> normal first.
    assert ordering.in_order([normal, vip], r, T0 + timedelta(seconds=250))[0] is normal


def test_strict_orders_by_class_then_fifo() -> None:
    a = Waiting(id=1, number="A001", service="A", priority=NORMAL, enqueued_at=T0)
    b = Waiting(
        id=2,
        number="A002",
        service="A",
        priority="accessibility",
        enqueued_at=T0 + timedelta(seconds=5),
    )
    c = Waiting(
        id=3, number="VA003", service="A", priority="vip", enqueued_at=T0 + timedelta(seconds=9)
    )
    order = ordering.in_order(
        [a, b, c], rules("strict", target_s=10**9), T0 + timedelta(seconds=10)
    )
    assert [t.number for t in order] == ["VA003", "A002", "A001"]


def test_escalated_tickets_go_first_oldest_first() -> None:
    late = Waiting(id=1, number="A001", service="A", priority=NORMAL, enqueued_at=T0)
    vip = Waiting(
        id=2, number="VA002", service="A", priority="vip", enqueued_at=T0 + timedelta(seconds=800)
    )
    now = T0 + timedelta(seconds=901)  # A001 is past its 900 s target
    assert ordering.is_escalated(late, rules(), now)
    assert ordering.in_order([vip, late], rules("strict"), now)[0] is late


def test_an_early_appointment_ranks_normal_until_its_window() -> None:
    early = Waiting(
        id=1,
        number="YA001",
        service="A",
        priority="appointment",
        enqueued_at=T0,
        priority_from=T0 + timedelta(minutes=30),
    )
    assert ordering.effective_priority(early, T0 + timedelta(minutes=10)) == NORMAL
    assert ordering.effective_priority(early, T0 + timedelta(minutes=31)) == "appointment"


def test_people_ahead_counts_only_those_served_before_in_the_same_queue() -> None:
    r = rules(target_s=10**9)
    now = T0 + timedelta(seconds=100)
    mine = Waiting(
        id=5, number="A005", service="A", priority=NORMAL, enqueued_at=T0 + timedelta(seconds=50)
    )
    others = [
        Waiting(id=1, number="A001", service="A", priority=NORMAL, enqueued_at=T0),
        Waiting(
            id=2,
            number="VA002",
            service="A",
            priority="vip",
            enqueued_at=T0 + timedelta(seconds=60),
        ),
        Waiting(id=3, number="B003", service="B", priority=NORMAL, enqueued_at=T0),
        Waiting(
            id=4,
            number="A004",
            service="A",
            priority=NORMAL,
            enqueued_at=T0 + timedelta(seconds=70),
        ),
    ]
    # A001 (older) and VA002 (4 x 40 = 160 > 50) go first; B003 is another queue; A004 is behind.
    assert ordering.people_ahead(mine, [mine, *others], r, now) == 2
