"""A branch that takes online bookings, for the booking and opinion tests.

The fake clock starts on Monday 2026-11-30 at 10:00 in Shanghai. Hours: weekdays
09:00-17:00, weekends closed, Wednesday 2026-12-02 a holiday, Saturday 2026-12-05 a
working day (调休) 09:00-12:00.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from server.config import AppConfig
from tests.support import LiveServer, make_config

TODAY = "2026-11-30"
HOURS = {
    **{d: "09:00-17:00" for d in ("mon", "tue", "wed", "thu", "fri")},
    "sat": "closed",
    "sun": "closed",
    "holidays": ["2026-12-02"],
    "special_days": {"2026-12-05": "09:00-12:00"},
}
BOOKING = {
    "days_ahead": 7,
    "slot_min": 30,
    "capacity": {"A": 2, "B": 1},
    "per_phone_per_day": 2,
    "reminder_min": 60,
}


def booking_config(
    database_url: str,
    data_dir: Path,
    *,
    per_minute: int = 10_000,
    webhook_url: str = "",
    **booking: Any,
) -> AppConfig:
    config = make_config(
        database_url,
        data_dir,
        hours=HOURS,
        booking={**BOOKING, **booking},
        webhook_url=webhook_url,
    )
    server = config.server.model_copy(update={"public_requests_per_minute": per_minute})
    return config.model_copy(update={"server": server})


def public(server: LiveServer) -> httpx.Client:
    return server.client(None)


def book(
    server: LiveServer,
    at: str = f"{TODAY}T10:30:00+08:00",
    *,
    service: str = "A",
    name: str = "王芳",
    phone: str = "13812345678",
    expect: int = 201,
) -> dict[str, Any]:
    response = public(server).post(
        "/branches/b1/bookings", json={"service": service, "at": at, "name": name, "phone": phone}
    )
    assert response.status_code == expect, response.text
    return dict(response.json())


def slots(server: LiveServer, service: str = "A", day: str = TODAY) -> dict[str, int]:
    response = public(server).get(
        "/branches/b1/booking/slots", params={"service": service, "date": day}
    )
    assert response.status_code == 200, response.text
    return {s["at"]: s["remaining"] for s in response.json()}
