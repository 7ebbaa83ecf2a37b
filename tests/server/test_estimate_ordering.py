"""The estimate plays the line forward with the ordering re-encoded as one float key per
ticket (server/queue/estimate.py `_order`, cheaper than tuples). The property: on any
line, at any moment, that order is ordering.py's order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from server.queue import estimate, ordering

NOW = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
PRIORITIES = ["normal", "vip", "elder", "appointment"]
SERVICES = ["A", "B"]


@st.composite
def rules(draw: st.DrawFn) -> ordering.Rules:
    weights = {p: draw(st.sampled_from([1.0, 1.5, 2.0, 3.0])) for p in PRIORITIES}
    weights["normal"] = 1.0
    listed = draw(st.permutations([p for p in PRIORITIES if p != "normal"]))
    targets = {s: float(draw(st.sampled_from([300, 600, 1200, 1800]))) for s in SERVICES}
    return ordering.Rules(
        mode=draw(st.sampled_from(["weighted", "strict"])),
        weights=weights,
        ranks={code: rank for rank, code in enumerate([*listed, "normal"])},
        target_wait_s=draw(st.sampled_from([targets, {}])),
    )


@st.composite
def waiting(draw: st.DrawFn, index: int) -> ordering.Waiting:
    waited = draw(st.integers(min_value=0, max_value=3600))
    window = draw(st.none() | st.integers(min_value=-1800, max_value=1800))
    return ordering.Waiting(
        id=index,
        number=f"{draw(st.sampled_from('ABC'))}{draw(st.integers(1, 999)):03d}",
        service=draw(st.sampled_from(SERVICES)),
        priority=draw(st.sampled_from(PRIORITIES)),
        enqueued_at=NOW - timedelta(seconds=waited),
        priority_from=None if window is None else NOW + timedelta(seconds=window),
    )


@st.composite
def lines(draw: st.DrawFn) -> list[ordering.Waiting]:
    size = draw(st.integers(min_value=0, max_value=25))
    return [draw(waiting(i)) for i in range(size)]


def estimate_order(
    line: list[ordering.Waiting], rules: ordering.Rules, later_s: float
) -> list[int]:
    # The estimate starts from the line in (enqueued_at, number) order, as it reads it.
    start = sorted(line, key=lambda w: (w.enqueued_at, w.number))
    played = [
        estimate._played(
            rules, NOW, w.number, w.service, w.priority, w.enqueued_at, w.priority_from, None
        )
        for w in start
    ]
    ids = {id(p): w.id for p, w in zip(played, start, strict=True)}
    return [ids[id(p)] for p in estimate._order(played, rules.mode == "strict", later_s)]


@settings(max_examples=150, deadline=None)
@given(line=lines(), rules=rules(), later_s=st.integers(min_value=0, max_value=7200))
def test_the_estimates_order_is_the_orderings(
    line: list[ordering.Waiting], rules: ordering.Rules, later_s: int
) -> None:
    at = NOW + timedelta(seconds=later_s)
    expected = [w.id for w in ordering.in_order(line, rules, at)]
    assert estimate_order(line, rules, float(later_s)) == expected


def test_an_escalated_normal_goes_before_a_fresher_vip() -> None:
    """A line where the float key would differ if escalation were dropped: the old
    normal ticket goes before the fresh vip only because it is past its target."""
    rules = ordering.Rules(weights={"normal": 1.0, "vip": 5.0}, target_wait_s={"A": 600.0})
    old = ordering.Waiting(1, "A001", "A", "normal", NOW - timedelta(seconds=700))
    vip = ordering.Waiting(2, "A002", "A", "vip", NOW - timedelta(seconds=500))
    assert [w.id for w in ordering.in_order([vip, old], rules, NOW)] == [1, 2]
    assert estimate_order([vip, old], rules, 0.0) == [1, 2]
