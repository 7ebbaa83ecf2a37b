"""Customer ratings on the counter's pad (API.md v1.1): once per ticket, for the
teller who completed it, only the ticket last completed at that counter within 10
minutes; the teller only asks; v1's `complete {rating}` is kept but never counted."""

from __future__ import annotations

from typing import Any

import httpx

from tests.devices.helpers import counter_headers
from tests.support import FakeClock, LiveServer


def serve_one(
    hall: LiveServer,
    counter: str = "1",
    teller: str = "teller1",
    service: str = "A",
    **complete: Any,
) -> dict[str, Any]:
    """Issue a ticket, call it at the counter and complete it; the completed ticket."""
    with hall.client("kiosk") as kiosk, hall.client(teller) as desk:
        kiosk.post(
            "/branches/b1/tickets", json={"service": service, "print": False}
        ).raise_for_status()
        desk.post(f"/branches/b1/counters/{counter}/open").raise_for_status()
        desk.post(f"/branches/b1/counters/{counter}/call-next").raise_for_status()
        done = desk.post(f"/branches/b1/counters/{counter}/complete", json=complete or None)
        done.raise_for_status()
        ticket: dict[str, Any] = done.json()["ticket"]
        return ticket


def pad(hall: LiveServer, counter: str) -> httpx.Client:
    return httpx.Client(base_url=hall.api, headers=counter_headers(counter), timeout=30)


def error_code(response: httpx.Response) -> str:
    return str(response.json()["error"]["code"])


def teller_row(hall: LiveServer, username: str) -> dict[str, Any]:
    with hall.client("manager") as manager:
        rows = manager.get(
            "/branches/b1/stats",
            params={"from": "2026-11-30", "to": "2026-11-30", "group_by": "teller"},
        ).json()["rows"]
    return next(r for r in rows if r["key"] == username)


class TestRateAtCounter:
    def test_counts_once_for_the_teller_who_completed_it(self, hall: LiveServer) -> None:
        ticket = serve_one(hall)
        with pad(hall, "1") as device:
            first = device.post(
                "/branches/b1/counters/1/ratings", json={"ticket": ticket["number"], "rating": 5}
            )
            assert first.status_code == 201, first.text
            assert first.json()["teller"] == "teller1" and first.json()["rating"] == 5
            again = device.post(
                "/branches/b1/counters/1/ratings", json={"ticket": ticket["number"], "rating": 1}
            )
            assert again.status_code == 409 and error_code(again) == "already_rated"
        row = teller_row(hall, "teller1")
        assert row["ratings"] == 1 and row["satisfied_pct"] == 100.0 and row["rating_avg"] == 5

    def test_only_the_last_ticket_of_that_counter_within_ten_minutes(
        self, hall: LiveServer, clock: FakeClock
    ) -> None:
        first = serve_one(hall)
        second = serve_one(hall)
        with pad(hall, "1") as device:
            older = device.post(
                "/branches/b1/counters/1/ratings", json={"ticket": first["number"], "rating": 4}
            )
            assert older.status_code == 409 and error_code(older) == "not_rateable"
            clock.advance(10 * 60 + 1)
            late = device.post(
                "/branches/b1/counters/1/ratings", json={"ticket": second["number"], "rating": 4}
            )
            assert late.status_code == 409 and error_code(late) == "not_rateable"

    def test_a_ticket_completed_after_now_does_not_count_as_the_last(
        self, hall: LiveServer, clock: FakeClock
    ) -> None:
        # The simulator rates at its own `now` while a branch's later tickets of the
        # same day can already be in the database (a bulk-filled day): "the last
        # completed" is the last completed by `now`.
        first = serve_one(hall)
        clock.advance(60)
        serve_one(hall)
        clock.advance(-55)
        with pad(hall, "1") as device:
            rated = device.post(
                "/branches/b1/counters/1/ratings", json={"ticket": first["number"], "rating": 5}
            )
        assert rated.status_code == 201, rated.text

    def test_reasons_only_for_the_two_lowest_and_only_known_ones(self, hall: LiveServer) -> None:
        ticket = serve_one(hall)
        url = "/branches/b1/counters/1/ratings"
        with pad(hall, "1") as device:
            high = device.post(
                url, json={"ticket": ticket["number"], "rating": 4, "reasons": ["attitude"]}
            )
            assert high.status_code == 422 and error_code(high) == "reasons_not_asked"
            odd = device.post(
                url, json={"ticket": ticket["number"], "rating": 1, "reasons": ["rude"]}
            )
            assert odd.status_code == 422 and error_code(odd) == "unknown_reason"
            assert (
                device.post(url, json={"ticket": ticket["number"], "rating": 6}).status_code == 422
            )
            assert device.post(url, json={"ticket": ticket["number"]}).status_code == 422
            low = device.post(
                url,
                json={
                    "ticket": ticket["number"],
                    "rating": 2,
                    "reasons": ["waited_too_long", "attitude"],
                },
            )
            assert low.status_code == 201
            assert low.json()["reasons"] == ["waited_too_long", "attitude"]
        row = teller_row(hall, "teller1")
        assert row["ratings"] == 1 and row["satisfied_pct"] == 0.0
        # A low rating with a reason opens an opinion in the manager's inbox (issue 15).
        with hall.client("manager") as manager:
            opinions = manager.get("/branches/b1/opinions").json()
        assert [(o["source"], o["ticket"], o["counter"], o["rating"]) for o in opinions] == [
            ("rating", ticket["number"], "1", 2)
        ]
        assert "等候太久" in opinions[0]["text"] and opinions[0]["category"] == "waiting"

    def test_a_low_rating_without_a_reason_opens_no_opinion(self, hall: LiveServer) -> None:
        ticket = serve_one(hall)
        with pad(hall, "1") as device:
            device.post(
                "/branches/b1/counters/1/ratings", json={"ticket": ticket["number"], "rating": 1}
            ).raise_for_status()
        with hall.client("manager") as manager:
            assert manager.get("/branches/b1/opinions").json() == []

    def test_a_device_token_of_counter_3_is_refused_on_counter_4(self, hall: LiveServer) -> None:
        ticket = serve_one(hall, counter="4", teller="teller2", service="C")
        with pad(hall, "3") as wrong:
            refused = wrong.post(
                "/branches/b1/counters/4/ratings", json={"ticket": ticket["number"], "rating": 5}
            )
            assert refused.status_code == 403 and error_code(refused) == "wrong_counter"
            assert wrong.get("/branches/b1/counters/4/device").status_code == 403
        with hall.client("teller2") as teller:  # the teller cannot rate themself
            self_rated = teller.post(
                "/branches/b1/counters/4/ratings", json={"ticket": ticket["number"], "rating": 5}
            )
            assert self_rated.status_code == 403 and error_code(self_rated) == "counter_device_only"
        with pad(hall, "4") as right:
            assert (
                right.post(
                    "/branches/b1/counters/4/ratings",
                    json={"ticket": ticket["number"], "rating": 5},
                ).status_code
                == 201
            )
        # Nor may a counter device act as a kiosk.
        with pad(hall, "3") as device:
            issued = device.post("/branches/b1/tickets", json={"service": "A"})
            assert issued.status_code == 403


class TestOneRatingPerTicket:
    def test_the_tellers_v1_rating_is_kept_but_never_counted(self, hall: LiveServer) -> None:
        ticket = serve_one(hall, rating=5)
        assert teller_row(hall, "teller1")["ratings"] == 0
        with pad(hall, "1") as device:  # the customer may still rate
            assert (
                device.post(
                    "/branches/b1/counters/1/ratings",
                    json={"ticket": ticket["number"], "rating": 3},
                ).status_code
                == 201
            )
        row = teller_row(hall, "teller1")
        assert row["ratings"] == 1 and row["rating_avg"] == 3

    def test_pad_then_phone_is_one_rating(self, hall: LiveServer) -> None:
        ticket = serve_one(hall)
        with pad(hall, "1") as device:
            device.post(
                "/branches/b1/counters/1/ratings", json={"ticket": ticket["number"], "rating": 5}
            ).raise_for_status()
        with hall.client() as phone:
            again = phone.post(f"/tickets/{ticket['token']}/feedback", json={"rating": 1})
            assert again.status_code == 409

    def test_phone_then_pad_is_one_rating(self, hall: LiveServer) -> None:
        ticket = serve_one(hall)
        with hall.client() as phone:
            phone.post(
                f"/tickets/{ticket['token']}/feedback", json={"rating": 4}
            ).raise_for_status()
        with pad(hall, "1") as device:
            again = device.post(
                "/branches/b1/counters/1/ratings", json={"ticket": ticket["number"], "rating": 1}
            )
            assert again.status_code == 409 and error_code(again) == "already_rated"
        assert teller_row(hall, "teller1")["ratings"] == 1


class TestAskRating:
    def test_the_teller_asks_for_the_ticket_just_completed(self, hall: LiveServer) -> None:
        with hall.client("teller1") as desk:
            desk.post("/branches/b1/counters/1/open").raise_for_status()
            nothing = desk.post("/branches/b1/counters/1/ask-rating")
            assert nothing.status_code == 409 and error_code(nothing) == "nothing_to_rate"
        ticket = serve_one(hall)
        with hall.client("teller1") as desk:
            asked = desk.post("/branches/b1/counters/1/ask-rating")
            assert asked.status_code == 200 and asked.json()["number"] == ticket["number"]
        with hall.client("teller2") as other:  # not their counter
            assert other.post("/branches/b1/counters/1/ask-rating").status_code in (403, 409)
        with pad(hall, "1") as device:
            card = device.get("/branches/b1/counters/1/device").json()
            assert card["pending_rating"]["number"] == ticket["number"]
            device.post(
                "/branches/b1/counters/1/ratings", json={"ticket": ticket["number"], "rating": 5}
            ).raise_for_status()
            assert device.get("/branches/b1/counters/1/device").json()["pending_rating"] is None
        with hall.client("teller1") as desk:
            rated = desk.post("/branches/b1/counters/1/ask-rating")
            assert rated.status_code == 409 and error_code(rated) == "already_rated"
