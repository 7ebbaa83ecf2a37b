"""The estimated wait the simulator measures (server/queue/estimate.py estimate_wait_s):
the open counters played forward, on situations worked out by hand."""

from __future__ import annotations

from datetime import date

from server.queue import counters, estimate, tickets
from tests.stats.history import Day


def issue(day: Day, s: float, service: str, priority: str = "normal") -> tickets.Issued:
    with day.db.write() as session:
        return tickets.issue_ticket(
            session=session, branch=day.branch, service=service, priority=priority, now=day.at(s)
        )


def test_a_shared_counter_serves_the_older_ticket_first(day: Day) -> None:
    # Counter 1 serves A and B, counter 3 only B. Counter 3 is busy with B001 from
    # 0 s (5 min, the default service time); B002 waits since 0 s. A new A ticket
    # at 60 s has nobody ahead in A, but counter 1 takes the older B002 first (free
    # again at 300 s from now), and counter 3, free at 240 s, cannot serve A: the
    # wait is 300 s, where the plain division (0 ahead) promised 0 s.
    day.open(0, "1", "teller1")
    day.open(0, "3", "teller3")
    issue(day, 0, "B")
    day.call(0, "3", "teller3", "B001")
    issue(day, 0, "B")
    issued = issue(day, 60, "A")
    assert issued.place.position == 0
    assert issued.place.estimated_wait_s == 300


def test_a_busy_counter_frees_up_after_the_rest_of_its_service(day: Day) -> None:
    day.open(0, "4", "teller4")
    issue(day, 0, "C")
    day.call(0, "4", "teller4", "C001")
    # 120 s into a 300 s service: the next C ticket waits the remaining 180 s.
    assert issue(day, 120, "C").place.estimated_wait_s == 180


def test_a_vip_overtakes_as_its_score_grows(day: Day) -> None:
    # One counter, one C ticket served until 300 s; normal C tickets issued at 0 and
    # 100 s; a VIP (weight 4) at 200 s. At 300 s the scores are 300, 200 and 400: the
    # VIP goes first, after one service: 300 - 200 = 100 s.
    day.open(0, "4", "teller4")
    issue(day, 0, "C")
    day.call(0, "4", "teller4", "C001")
    issue(day, 0, "C")
    issue(day, 100, "C")
    vip = issue(day, 200, "C", "vip")
    assert vip.place.position == 2  # at issue its score is 0: both are ahead of it
    assert vip.place.estimated_wait_s == 100


# --- counters that are away: paused, at their usual pause, not open yet ----------------

DAY_S = 24 * 3600  # day.at(s) counts from 10:00 local today: -DAY_S is 10:00 yesterday


def test_a_paused_counter_is_expected_back_after_the_usual_pause_length(day: Day) -> None:
    # No history: a paused counter is back PAUSE_BACK_S (15 min) after it paused.
    # Counter 4 (the only one for C) pauses at 0 s; a C ticket at 120 s waits for it:
    # 900 - 120 = 780 s (before: no open counter served C, so the plain division
    # answered 0 people ahead x 300 s = 0 s).
    assert estimate.PAUSE_BACK_S == 900
    day.open(0, "4", "teller4")
    day.counter(0, counters.pause_counter, "4", "teller4")
    assert issue(day, 120, "C").place.estimated_wait_s == 780
    # Paused for longer than that: back at the earliest in PAUSE_MIN_LEFT_S (60 s); it
    # then serves C001 (still waiting, 300 s) first: 60 + 300 = 360 s.
    assert issue(day, 1000, "C").place.estimated_wait_s == 360


def lunch_history(day: Day, days: int = 3) -> None:
    """Counter 4, each of the last `days` days: opens 09:00, pauses 11:30 for 30 minutes,
    closes at 17:00."""
    for k in range(1, days + 1):
        base = -k * DAY_S
        day.open(base - 3600, "4", "teller4")  # 09:00
        day.counter(base + 5400, counters.pause_counter, "4", "teller4")  # 11:30
        day.counter(base + 7200, counters.resume_counter, "4", "teller4")  # 12:00
        day.counter(base + 7 * 3600, counters.close_counter, "4", "teller4")  # 17:00


def test_a_counter_goes_to_its_usual_lunch_once_its_customer_is_served(day: Day) -> None:
    lunch_history(day)
    # Today counter 4 opens at 09:00 and calls C001 at 11:26 (5160 s). At 11:28 (5280 s)
    # a new C ticket: counter 4 is free at 11:31 (C001's 300 s), after its usual lunch
    # time (11:30, 30 min on all three days), so it goes to lunch first:
    # 180 s + 1800 s = 1980 s. Without the habit it would have been 180 s.
    day.open(-3600, "4", "teller4")
    issue(day, 5100, "C")
    day.call(5160, "4", "teller4", "C001")
    assert issue(day, 5280, "C").place.estimated_wait_s == 1980


def test_a_paused_counter_is_back_after_its_usual_lunch_length(day: Day) -> None:
    lunch_history(day)
    # Paused at 11:32 today, near its usual 11:30 lunch of 30 min: back at 12:02.
    # A C ticket at 11:40 (6000 s) waits 22 min = 1320 s (not the 15-minute default).
    day.open(-3600, "4", "teller4")
    day.counter(5520, counters.pause_counter, "4", "teller4")
    assert issue(day, 6000, "C").place.estimated_wait_s == 1320


def test_a_closed_counter_is_expected_at_its_usual_opening(day: Day) -> None:
    lunch_history(day)
    # Counter 4 usually opens at 09:00. At 08:50 (-4200 s) a C ticket waits for it:
    # 600 s. At 09:20 it is still closed, more than LATE_GRACE_S (15 min) late: not
    # expected any more, and with no counter for C the plain division answers 0 people
    # ahead x 300 s = 0 s.
    assert issue(day, -4200, "C").place.estimated_wait_s == 600
    day.cancel(-4100, "C001")
    assert issue(day, -2400, "C").place.estimated_wait_s == 0


def test_habits_are_what_most_days_do() -> None:
    # Counter 1 opens at 09:00, 09:02 and 08:58: usually at 09:00 (the median). It
    # pauses at 11:30 for 35 min, 11:40 for 30 min, 11:35 for 40 min: one habit (the
    # starts are within 30 minutes), at 11:35 for 35 min (medians). The 15:10 break of
    # one day out of three is not a habit (it needs 2 days of 3).
    h = 3600.0
    d1, d2, d3 = date(2026, 11, 25), date(2026, 11, 26), date(2026, 11, 27)
    changes = [
        (d1, "1", 9 * h, "open"),
        (d1, "1", 11.5 * h, "paused"),
        (d1, "1", 11.5 * h + 35 * 60, "open"),
        (d1, "1", 15 * h + 600, "paused"),
        (d1, "1", 15 * h + 1200, "open"),
        (d2, "1", 9 * h + 120, "open"),
        (d2, "1", 11 * h + 40 * 60, "paused"),
        (d2, "1", 12 * h + 10 * 60, "open"),
        (d3, "1", 9 * h - 120, "open"),
        (d3, "1", 11 * h + 35 * 60, "paused"),
        (d3, "1", 12 * h + 15 * 60, "open"),
    ]
    habits = estimate.learn_habits(changes)
    assert habits.opens == {"1": 9 * h}
    assert habits.pauses == {"1": [estimate._Habit(start=11 * h + 35 * 60, length=35 * 60)]}
