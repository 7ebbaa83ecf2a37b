"""The estimated wait the simulator measures (server/queue/estimate.py estimate_wait_s):
the open counters played forward, on situations worked out by hand."""

from __future__ import annotations

from server.queue import tickets
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
