"""The shapes the device routes answer (the counter's card, boards, slides, staff, device
health, the lobby tablet): OpenAPI shows them, and a field the dicts carry but a model
lacks fails the tests (Wire: extra="forbid") instead of vanishing from the wire."""

from __future__ import annotations

from server.devices.boards import Bulletin, RatesBoard
from server.public import CounterPublic, Names, Wire


class RatingAsked(Wire):
    number: str
    counter: str
    requested: bool


class StaffCard(Wire):
    username: str
    display_name: str
    staff_no: str
    photo_url: str | None


class StaffListed(StaffCard):
    role: str


class PendingRating(Wire):
    number: str
    age_s: int | None


class CounterCard(CounterPublic):
    """What the sign and the pad of a counter show."""

    teller: StaffCard | None
    pending_rating: PendingRating | None
    ratings_enabled: bool
    reasons: list[str]


class RatesBoardOut(RatesBoard):
    updated_at: str | None


class BulletinOut(Bulletin):
    updated_at: str | None


# Told apart by their fields (both forbid extras): rates has title/columns/rows, a bulletin items.
BoardOut = RatesBoardOut | BulletinOut


class SlideOut(Wire):
    id: int | None
    url: str
    media_type: str
    width: int
    height: int
    size: int
    created_at: str | None


class DeviceState(Wire):
    device: str
    kind: str
    name: Names
    online: bool
    last_connected_at: str | None
    last_disconnected_at: str | None
    offline_s: int | None
    alert: bool


class DeviceAlert(Wire):
    device: str
    zh: str
    en: str


class DevicesOut(Wire):
    devices: list[DeviceState]
    alerts: list[DeviceAlert]


class LobbyAppointment(Wire):
    code: str
    at: str
    service: str
    customer_name: str
    state: str
    number: str | None


class LobbyArrival(Wire):
    id: int
    number: str
    service: str
    priority: str
    status: str
    counter: str | None
    issued_at: str | None


class LongWait(Wire):
    number: str
    priority: str
    enqueued_at: str | None
    waited_s: int


class ServiceWaits(Wire):
    service: str
    name: Names
    target_wait_s: int
    waiting: int
    longest: list[LongWait]


class LobbyOut(Wire):
    """What the lobby tablet shows (`GET /lobby`)."""

    now: str
    appointments: list[LobbyAppointment]
    arrivals: list[LobbyArrival]
    waits: list[ServiceWaits]
