"""The places left in each slot stay exact: after a random run of bookings (some over
capacity, refused) and cancellations, every slot of the day shows capacity minus the
live bookings counted straight from the booking table. The slots read one counter row
per slot (booking_slot) instead of counting bookings; this proves the two agree."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

from sqlmodel import select

from server.app import prepare_database
from server.customer import booking as booking_rules
from server.customer.tables import Booking, BookingStatus
from server.db import Database
from server.errors import Conflict
from tests.customer.booking_support import BOOKING, booking_config
from tests.support import FakeClock


def test_places_left_equal_capacity_minus_live_bookings(
    database_url: str, tmp_path: Path, clock: FakeClock
) -> None:
    config = booking_config(database_url, tmp_path / "data", per_phone_per_day=20)
    db = Database(config.server.database_url)
    prepare_database(config, db)
    branch = config.branches[0]
    rng = random.Random(17)
    now = clock()
    day = booking_rules.booking_days(branch, now)[1]  # tomorrow: every slot ahead
    try:
        made: list[Booking] = []
        full = 0
        for i in range(160):
            service = rng.choice("AB")
            times = booking_rules.slot_times(branch, branch.service(service), day)  # type: ignore[arg-type]
            with db.write() as session:
                if made and rng.random() < 0.25:
                    victim = made.pop(rng.randrange(len(made)))
                    current = session.get(Booking, victim.id)
                    assert current is not None
                    booking_rules.cancel(session=session, branch=branch, booking=current, now=now)
                    continue
                try:
                    made.append(
                        booking_rules.book(
                            session=session,
                            branch=branch,
                            service=service,
                            at=rng.choice(times[:6]),  # few slots: many fill up
                            name=f"客户{i}",
                            phone=f"139{rng.randrange(20):08d}",
                            now=now,
                        )
                    )
                except Conflict as refused:
                    assert refused.code == "slot_full"
                    full += 1
        with db.read() as session:
            live = Counter(
                (b.service, b.at)
                for b in session.exec(select(Booking).where(Booking.status == BookingStatus.booked))
            )
            capacities: dict[str, int] = BOOKING["capacity"]  # type: ignore[assignment]
            for service, capacity in capacities.items():
                shown = booking_rules.slots(
                    session=session, branch=branch, service=service, day=day, now=now
                )
                assert shown
                for slot in shown:
                    taken = live[(service, slot.at)]
                    assert taken <= capacity
                    assert slot.remaining == capacity - taken
        assert full > 0  # the run did fill slots up, and the refusals kept them exact
    finally:
        db.dispose()
