"""The range promised at issue (server/queue/wait_range.py): calibrated from the
estimate's own record, and carried by every ticket that carries estimated_wait_s."""

from __future__ import annotations

import random

from server.queue import wait_range
from server.queue.wait_range import PRIOR_CALIBRATION, Observed, calibrate
from tests.support import LiveServer


def record(rng: random.Random, n: int, *, bias: float = 1.0, service: str = "A") -> list[Observed]:
    """Raw estimates of 1–20 min; actual waits spread lognormally (±40 %) around
    bias x the estimate."""
    out = []
    for _ in range(n):
        raw = rng.uniform(60, 1200)
        out.append(Observed(raw, raw * bias * rng.lognormvariate(0, 0.4), service, "normal"))
    return out


def test_the_range_covers_eighty_percent_of_waits_like_the_record() -> None:
    rng = random.Random(7)
    calibration = calibrate(record(rng, 800))
    fresh = record(rng, 2000)
    inside = 0
    for o in fresh:
        promise = calibration.apply(o.raw, o.service, o.priority)
        assert promise.low <= promise.point <= promise.high
        inside += promise.low <= o.wait <= promise.high
    # The range holds COVER of the record's ratios: that share of waits.
    assert abs(inside / len(fresh) - wait_range.COVER) <= 0.04
    # The prior alone (no record) is far wider or narrower: the record matters.
    assert calibration.groups != PRIOR_CALIBRATION.groups


def test_the_range_is_the_shortest_holding_its_share() -> None:
    """Skewed waits (a long tail beyond the promise): the range is narrower than the
    central quantiles holding the same share, and still holds that share."""
    rng = random.Random(11)
    skewed = [
        Observed(600.0, 600.0 * (0.8 + rng.expovariate(1.0) ** 2 * 0.5), "A", "normal")
        for _ in range(800)
    ]
    calibration = calibrate(skewed)
    promise = calibration.apply(600.0, "A", "normal")
    ratios = sorted((o.wait + wait_range.K_S) / (o.raw + wait_range.K_S) for o in skewed)
    tail = (1 - wait_range.COVER) / 2
    central = wait_range._quantile(ratios, 1 - tail) - wait_range._quantile(ratios, tail)
    assert promise.high - promise.low < 0.9 * central * (600.0 + wait_range.K_S)
    inside = sum(promise.low <= o.wait <= promise.high for o in skewed) / len(skewed)
    assert abs(inside - wait_range.COVER) <= 0.04


def test_a_service_that_waits_longer_than_promised_is_corrected() -> None:
    rng = random.Random(3)
    observed = record(rng, 600) + record(rng, 200, bias=1.5, service="E")
    calibration = calibrate(observed)
    normal = calibration.apply(600, "A", "normal")
    slow = calibration.apply(600, "E", "normal")
    assert slow.point > normal.point * 1.3
    assert slow.high > normal.high


def test_an_empty_record_falls_back_on_the_prior() -> None:
    promise = calibrate([]).apply(0, "A", "normal")
    assert promise == PRIOR_CALIBRATION.apply(0, "A", "normal")
    assert promise.low == 0 and promise.high > 0


def test_tickets_and_the_kiosk_carry_the_range(server: LiveServer) -> None:
    with server.client("teller1") as teller:
        assert teller.post("/branches/b1/counters/1/open").status_code == 200
    with server.client("kiosk") as kiosk:
        tickets = [kiosk.post("/branches/b1/tickets", json={"service": "A"}) for _ in range(4)]
        assert all(t.status_code == 201 for t in tickets)
        last = tickets[-1].json()
        low, high = last["estimated_wait_range_s"]
        assert 0 <= low <= last["estimated_wait_s"] <= high and high > 0
        services = {s["code"]: s for s in kiosk.get("/branches/b1/services").json()}
        low, high = services["A"]["estimated_wait_range_s"]
        assert low <= services["A"]["estimated_wait_s"] <= high
    with server.client() as anyone:
        public = anyone.get(f"/tickets/{last['token']}").json()
    low, high = public["estimated_wait_range_s"]
    assert low <= public["estimated_wait_s"] <= high
