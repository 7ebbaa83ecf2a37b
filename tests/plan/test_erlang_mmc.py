"""Erlang C's formulas, and `lobbyq simulate --model mmc` (the real use-cases under
M/M/c) on a small case against them."""

from __future__ import annotations

import math
import random
import re

import pytest
from typer.testing import CliRunner

from server.cli import app
from server.plan import erlang
from server.plan.mmc import MmcPlan, queue_only


def test_erlang_c_matches_textbook_values() -> None:
    # M/M/1: Wq = rho / (mu - lam).
    assert erlang.mean_wait(0.9, 1.0, 1) == pytest.approx(9.0)
    # M/M/3, a = 2.4: P(wait) = 0.6472, Wq = 0.6472 / 0.6.
    assert erlang.wait_probability(2.4, 1.0, 3) == pytest.approx(0.64719, abs=1e-4)
    assert erlang.mean_wait(2.4, 1.0, 3) == pytest.approx(1.07865, abs=1e-4)
    assert erlang.mean_wait(3.0, 1.0, 3) == math.inf
    # Service level: P(W <= t) = 1 - C e^(-(c mu - lam) t).
    assert erlang.within(2.4, 1.0, 3, 0.5) == pytest.approx(1 - 0.64719 * math.exp(-0.3), abs=1e-4)
    # The fewest counters for 80 % within a quarter of a service time, 10 per service time.
    needed = erlang.counters_needed(10.0, 1.0, 0.25)
    assert (
        erlang.within(10.0, 1.0, needed, 0.25) >= 0.8 > erlang.within(10.0, 1.0, needed - 1, 0.25)
    )
    assert erlang.counters_needed(0.0, 1.0, 0.25) == 0


def test_simulate_mmc_agrees_with_erlang_c_on_a_small_case() -> None:
    """Two counters at load 0.5 (Erlang C: 20 s mean wait with 1-minute services), three
    short days: the simulated mean lies within its 95 % interval (plus 20 % of Erlang
    C, as three short days are few) of Erlang C's, and about 60 tickets an hour came."""
    result = CliRunner().invoke(
        app,
        [
            "simulate",
            "--model",
            "mmc",
            "--arrivals-per-hour",
            "60",
            "--service-min",
            "1",
            "--counters",
            "2",
            "--days",
            "3",
            "--hours",
            "2",
            "--warmup-hours",
            "0.25",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "M/M/2: 60 arrivals/h, service 1 min, load 0.50, 3 days" in result.output
    line = next(x for x in result.output.splitlines() if "mean wait" in x)
    # "  mean wait 21.3 s ± 4.0 s (95 %), Erlang C 20.0 s: +6.5 %"
    found = re.search(r"mean wait ([\d.]+) s ± ([\d.]+) s .*Erlang C ([\d.]+) s", line)
    assert found is not None, line
    mean, half, expected = (float(g) for g in found.groups())
    assert expected == pytest.approx(20.0, abs=0.1)
    assert mean > 0 and abs(mean - expected) <= half + 0.2 * expected
    tickets = int(result.output.split(" tickets")[0].rsplit(" ", 1)[1])
    assert 250 <= tickets <= 380  # ~315 counted (3 x 1.75 h x 60)


def test_simulate_mmc_refuses_a_load_of_one_or_more() -> None:
    result = CliRunner().invoke(
        app, ["simulate", "--model", "mmc", "--arrivals-per-hour", "60", "--service-min", "2"]
    )
    assert result.exit_code == 2
    assert "load 2.00 >= 1" in result.output


def test_the_bare_queue_agrees_with_erlang_c_on_long_days() -> None:
    """The reference of bench_mmc (the FIFO M/M/c recursion, no database): 240 000
    customers at load 0.8 on 2 counters land within 6 % of Erlang C's mean wait, and
    a load 0.9 queue waits longer than a load 0.5 one as Erlang C says (ratio)."""
    plan = MmcPlan(arrivals_per_hour=60, service_min=1.6, counters=2, days=20, hours=200)
    result = queue_only(plan, random.Random(5))
    assert result.tickets > 200_000
    assert abs(result.deviation_pct) <= 6.0, result.deviation_pct
    light = MmcPlan(arrivals_per_hour=60, service_min=1.0, counters=2, days=20, hours=200)
    ratio = result.mean_wait_s / queue_only(light, random.Random(6)).mean_wait_s
    assert ratio == pytest.approx(plan.erlang_c_wait_s() / light.erlang_c_wait_s(), rel=0.1)
