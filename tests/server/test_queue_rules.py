"""The queue use-cases on a real database with a hand clock: one class per use-case."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import col, select

from server.errors import Conflict, Forbidden, InvalidInput, QueueEmpty
from server.models import Appointment, Ticket, TicketEvent, TicketStatus
from server.queue import counters, tickets
from server.queue.calendar import BranchClosed
from server.queue.today import Today
from tests.server.builders import QueueEnv, make_env
from tests.support import FakeClock


def events(env: QueueEnv) -> list[TicketEvent]:
    with env.db.read() as session:
        return list(session.exec(select(TicketEvent).order_by(col(TicketEvent.seq))))


class TestIssueTicket:
    def test_numbers_run_per_service_with_the_class_prefix(self, env: QueueEnv) -> None:
        numbers = [env.issue("A").number, env.issue("A").number, env.issue("B").number]
        numbers.append(env.issue("A", "vip").number)
        assert numbers == ["A001", "A002", "B001", "VA003"]

    def test_each_change_appends_one_event_with_the_next_seq(self, env: QueueEnv) -> None:
        env.issue("A")
        env.open("1")
        env.call("1")
        rows = events(env)
        assert [e.type for e in rows] == ["ticket.issued", "counter.updated", "ticket.called"]
        assert [e.seq for e in rows] == [1, 2, 3]

    def test_unknown_service_or_priority_is_invalid(self, env: QueueEnv) -> None:
        with pytest.raises(InvalidInput):
            env.issue("Z")
        with pytest.raises(InvalidInput):
            env.issue("A", "gold")

    def test_numbering_restarts_at_the_branch_reset_time(
        self, database_url: str, tmp_path: Path
    ) -> None:
        # 04:00 Shanghai = 20:00 UTC the day before.
        clock = FakeClock(datetime(2026, 11, 30, 19, 50, tzinfo=UTC))  # 03:50 local
        env = make_env(database_url, tmp_path, clock, reset_time="04:00")
        assert env.issue("A").number == "A001"
        assert env.issue("A").number == "A002"
        clock.advance(15 * 60)  # 04:05 local: a new business day
        fresh = env.issue("A")
        assert fresh.number == "A001"
        assert str(fresh.business_day) == "2026-12-01"
        env.db.dispose()

    def test_no_ticket_outside_hours_and_the_message_says_when(
        self, database_url: str, tmp_path: Path
    ) -> None:
        hours = {
            "mon": "09:00-17:00",
            "tue": "09:00-17:00",
            "sat": "closed",
            "sun": "closed",
            "holidays": ["2026-12-01"],
        }
        # Monday 2026-11-30 18:00 Shanghai: closed; Tuesday is a holiday; Wednesday has no hours.
        clock = FakeClock(datetime(2026, 11, 30, 10, 0, tzinfo=UTC))
        env = make_env(database_url, tmp_path, clock, hours={**hours, "wed": "09:30-16:00"})
        with pytest.raises(BranchClosed) as closed:
            env.issue("A")
        assert "2026-12-02" in closed.value.message and "09:30" in closed.value.message
        clock.now = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)  # Monday 10:00
        assert env.issue("A").number == "A001"
        env.db.dispose()

    def test_last_ticket_time_per_service(self, database_url: str, tmp_path: Path) -> None:
        clock = FakeClock(datetime(2026, 11, 30, 8, 45, tzinfo=UTC))  # 16:45 local
        services = [
            {
                "code": "A",
                "prefix": "A",
                "name": {"zh": "现金", "en": "Cash"},
                "last_ticket": "16:30",
            },
            {"code": "B", "prefix": "B", "name": {"zh": "非现金", "en": "Non-cash"}},
        ]
        counters_ = [{"number": "1", "services": ["A", "B"]}]
        env = make_env(database_url, tmp_path, clock, services=services, counters=counters_)
        with pytest.raises(BranchClosed) as closed:
            env.issue("A")
        assert "16:30" in closed.value.message
        assert env.issue("B").number == "B001"
        env.db.dispose()

    def test_appointment_on_time_ranks_from_its_early_window(self, env: QueueEnv) -> None:
        at = env.clock() + timedelta(minutes=30)
        appointment = self._book(env, at)
        with env.write() as session:
            issued = tickets.issue_ticket(
                session=session,
                branch=env.branch,
                service="A",
                appointment=session.get(Appointment, appointment),
                now=env.clock(),
            )
        # Before the early window: told plainly when the priority starts.
        assert issued.ticket.priority == "appointment"
        assert issued.notice and "You are early" in issued.notice
        assert issued.ticket.number.startswith("YA")
        assert issued.ticket.priority_from == at - timedelta(minutes=15)

    def test_late_appointment_becomes_a_normal_walk_in_said_plainly(self, env: QueueEnv) -> None:
        appointment = self._book(env, env.clock() - timedelta(minutes=11))
        with env.write() as session:
            issued = tickets.issue_ticket(
                session=session,
                branch=env.branch,
                service="A",
                appointment=session.get(Appointment, appointment),
                now=env.clock(),
            )
        assert issued.ticket.priority == "normal"
        assert issued.notice and "late" in issued.notice

    @staticmethod
    def _book(env: QueueEnv, at: datetime) -> int:
        with env.write() as session:
            row = Appointment(branch="b1", service="A", at=at, code="AP1", created_at=env.clock())
            session.add(row)
            session.flush()
            assert row.id is not None
            return row.id


class TestCallNext:
    def test_calls_the_longest_waiting_and_holds_it(self, env: QueueEnv) -> None:
        first = env.issue("A")
        env.clock.advance(10)
        env.issue("A")
        env.open("1")
        called = env.call("1")
        assert called.id == first.id and called.status == TicketStatus.called
        assert called.counter == "1" and called.teller == "teller1"
        with pytest.raises(Conflict) as held:
            env.call("1")
        assert held.value.code == "ticket_held"

    def test_nothing_waiting_is_queue_empty(self, env: QueueEnv) -> None:
        env.issue("C")  # counter 1 does not serve C
        env.open("1")
        with pytest.raises(QueueEmpty):
            env.call("1")

    def test_only_the_teller_signed_in_may_call(self, env: QueueEnv) -> None:
        env.issue("A")
        env.open("1", "teller1")
        with pytest.raises(Forbidden):
            env.call("1", "teller2")

    def test_a_paused_counter_does_not_call(self, env: QueueEnv) -> None:
        env.issue("A")
        env.open("1")
        env.act(counters.pause_counter, "1")
        with pytest.raises(Conflict) as paused:
            env.call("1")
        assert paused.value.code == "counter_paused"
        env.act(counters.resume_counter, "1")
        assert env.call("1").number == "A001"

    def test_two_counters_never_get_the_same_ticket(self, env: QueueEnv) -> None:
        env.issue("A")
        env.issue("A")
        env.open("1", "teller1")
        env.open("2", "teller2")
        assert env.call("1", "teller1").number != env.call("2", "teller2").number

    def test_cap_on_consecutive_priority_calls(self, env: QueueEnv) -> None:
        env.issue("A")  # a normal ticket waits from the start
        for _ in range(5):
            env.issue("A", "vip")
        env.clock.advance(60)  # vips now score 4 x 60 > 60
        env.open("1")
        order = [env.serve("1").priority for _ in range(5)]
        assert order == ["vip", "vip", "vip", "normal", "vip"]

    def test_an_escalated_ticket_goes_before_priority(self, env: QueueEnv) -> None:
        late = env.issue("A")
        env.clock.advance(14 * 60)
        env.issue("A", "vip")
        env.clock.advance(
            2 * 60
        )  # A001 past its 15 min target; the VIP scores 4 x 120 < 960 anyway
        env.open("1")
        assert env.call("1").id == late.id


class TestRecallStartComplete:
    def test_recall_counts_and_is_logged_for_the_display_to_announce(self, env: QueueEnv) -> None:
        env.issue("A")
        env.open("1")
        env.call("1")
        recalled = env.act(tickets.recall, "1")
        assert recalled.recall_count == 1
        last = events(env)[-1]
        assert last.type == "ticket.recalled" and last.data["recall_count"] == 1
        assert last.data["counter_name"]["zh"]
        # The queue makes no announcement: the voice port adds it (tests/server/test_ports.py).
        assert "announcement" not in last.data

    def test_complete_without_start_counts_service_from_the_call(self, env: QueueEnv) -> None:
        env.issue("A")
        env.open("1")
        called = env.call("1")
        env.clock.advance(90)
        done = env.act(tickets.complete, "1", rating=5)
        assert done.status == TicketStatus.completed and done.teller_rating == 5
        assert done.rating is None  # the customer's, on the pad or the phone
        assert done.started_at == called.called_at
        assert (done.finished_at - done.started_at) == timedelta(seconds=90)

    def test_start_then_complete(self, env: QueueEnv) -> None:
        env.issue("A")
        env.open("1")
        env.call("1")
        env.clock.advance(30)
        started = env.act(tickets.start_service, "1")
        assert started.status == TicketStatus.serving
        with pytest.raises(Conflict):
            env.act(tickets.recall, "1")
        env.act(tickets.complete, "1")
        with pytest.raises(Conflict):
            env.act(tickets.complete, "1")


class TestNoShow:
    def test_no_show_then_reinstated_within_grace(self, env: QueueEnv) -> None:
        env.issue("A")
        env.open("1")
        env.call("1")
        gone = env.act(tickets.mark_no_show, "1")
        assert gone.status == TicketStatus.no_show
        env.clock.advance(5 * 60)
        back = env.act(tickets.call_number, "1", number="a001")
        assert back.status == TicketStatus.called
        assert events(env)[-1].data["reinstated"] is True

    def test_after_grace_it_cannot_be_called(self, env: QueueEnv) -> None:
        env.issue("A")
        env.open("1")
        env.call("1")
        env.act(tickets.mark_no_show, "1")
        env.clock.advance(11 * 60)
        with pytest.raises(Conflict) as expired:
            env.act(tickets.call_number, "1", number="A001")
        assert expired.value.code == "grace_expired"

    def test_recalls_required_before_no_show(
        self, database_url: str, tmp_path: Path, clock: FakeClock
    ) -> None:
        env = make_env(database_url, tmp_path, clock, recalls_before_no_show=1)
        env.issue("A")
        env.open("1")
        env.call("1")
        with pytest.raises(Conflict) as first:
            env.act(tickets.mark_no_show, "1")
        assert first.value.code == "recall_first"
        env.act(tickets.recall, "1")
        assert env.act(tickets.mark_no_show, "1").status == TicketStatus.no_show
        env.db.dispose()


class TestTransfer:
    def test_transfer_keeps_the_place(self, env: QueueEnv) -> None:
        moved = env.issue("A")
        env.clock.advance(60)
        env.issue("B")
        env.open("1")
        env.call("1")
        env.act(tickets.transfer, "1", to_service="B")
        after = env.get(moved.id)
        assert after.status == TicketStatus.waiting and after.service == "B"
        assert after.enqueued_at == moved.enqueued_at
        env.open("3", "teller3")
        assert env.call("3", "teller3").number == "A001"  # ahead of B001, which came later

    def test_transfer_to_a_counter_only_that_counter_calls_it(self, env: QueueEnv) -> None:
        env.issue("A")
        env.open("1", "teller1")
        env.open("2", "teller2")
        env.call("1", "teller1")
        env.act(tickets.transfer, "1", "teller1", to_counter="2")
        with pytest.raises(QueueEmpty):
            env.call("1", "teller1")
        assert env.call("2", "teller2").number == "A001"

    def test_transfer_needs_a_valid_target(self, env: QueueEnv) -> None:
        env.issue("A")
        env.open("1")
        env.call("1")
        with pytest.raises(InvalidInput):
            env.act(tickets.transfer, "1")
        with pytest.raises(InvalidInput):
            env.act(tickets.transfer, "1", to_service="Z")
        with pytest.raises(InvalidInput):
            env.act(tickets.transfer, "1", to_counter="1")

    def test_transfer_losing_the_place(self, env: QueueEnv) -> None:
        moved = env.issue("A")
        env.open("1")
        env.call("1")
        env.clock.advance(120)
        env.act(tickets.transfer, "1", to_service="B", keep_place=False)
        assert env.get(moved.id).enqueued_at == env.clock()


class TestCancelAndCounters:
    def test_customer_cancels_a_waiting_ticket_only(self, env: QueueEnv) -> None:
        first = env.issue("A")
        env.issue("A")
        with env.write() as session:
            row = session.get(Ticket, first.id)
            assert row is not None
            tickets.cancel_by_customer(
                session=session, branch=env.branch, ticket=row, now=env.clock()
            )
        env.open("1")
        called = env.call("1")
        assert called.number == "A002"
        with env.write() as session, pytest.raises(Conflict):
            row = session.get(Ticket, called.id)
            assert row is not None
            tickets.cancel_by_customer(
                session=session, branch=env.branch, ticket=row, now=env.clock()
            )

    def test_one_user_per_counter_and_one_counter_per_user(self, env: QueueEnv) -> None:
        env.open("1", "teller1")
        with pytest.raises(Conflict) as taken:
            env.open("1", "teller2")
        assert taken.value.code == "counter_taken" and "teller1" in taken.value.message
        with pytest.raises(Conflict) as elsewhere:
            env.open("2", "teller1")
        assert elsewhere.value.code == "signed_in_elsewhere"

    def test_close_refuses_while_a_ticket_is_held_then_signs_out(self, env: QueueEnv) -> None:
        env.issue("A")
        env.open("1")
        env.call("1")
        with pytest.raises(Conflict):
            env.act(counters.close_counter, "1")
        env.act(tickets.complete, "1")
        closed = env.act(counters.close_counter, "1")
        assert closed.username is None and closed.state == "closed"
        env.open("1", "teller2")  # free again


class TestPositionAndEstimate:
    def test_people_ahead_and_estimate_use_open_counters(self, env: QueueEnv) -> None:
        for _ in range(4):
            env.issue("A")
        env.open("1", "teller1")
        env.open("2", "teller2")
        with env.write() as session:
            issued = tickets.issue_ticket(
                session=session, branch=env.branch, service="A", now=env.clock()
            )
        # 4 ahead, 2 open counters serve A, no history yet: default 5 min each.
        assert issued.place.position == 4
        assert issued.place.estimated_wait_s == 4 * 300 // 2
        assert issued.ticket.estimated_wait_s == issued.place.estimated_wait_s

    def test_estimate_follows_recent_service_times(self, env: QueueEnv) -> None:
        env.open("1")
        for _ in range(3):
            env.issue("A")
        for _ in range(3):
            env.call("1")
            env.clock.advance(120)
            env.act(tickets.complete, "1")
        env.issue("A")
        with env.write() as session:
            issued = tickets.issue_ticket(
                session=session, branch=env.branch, service="A", now=env.clock()
            )
        assert issued.place.position == 1
        assert issued.place.estimated_wait_s == 120


class TestPositionAtIssue:
    def test_the_count_at_issue_matches_the_ordering_rules(self, env: QueueEnv) -> None:
        """The position given at issue (a COUNT) equals people_ahead (the rules)."""
        for priority in ["normal", "vip", "normal", "accessibility", "vip", "normal"]:
            with env.write() as session:
                issued = tickets.issue_ticket(
                    session=session,
                    branch=env.branch,
                    service="A",
                    priority=priority,
                    now=env.clock(),
                )
                by_rules = tickets.place_of(
                    session, issued.ticket, Today.of(env.branch, env.clock())
                )
            assert issued.place.position == by_rules.position
            env.clock.advance(7)
