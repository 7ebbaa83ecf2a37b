"""Erlang C: M/M/c with Poisson arrivals (rate lam), exponential service (rate mu per
counter) and c identical counters, in steady state."""

from __future__ import annotations

import math


def wait_probability(lam: float, mu: float, c: int) -> float:
    """P(an arrival waits) (the Erlang C formula); 1.0 when the load is c or more."""
    if lam <= 0:
        return 0.0
    a = lam / mu
    if c <= 0 or a >= c:
        return 1.0
    # The terms a^k / k! built up one by one (no factorials of large numbers).
    term, total = 1.0, 1.0
    for k in range(1, c):
        term *= a / k
        total += term
    last = term * a / c / (1 - a / c)
    return last / (total + last)


def mean_wait(lam: float, mu: float, c: int) -> float:
    """Mean wait in the queue (the unit of 1/mu); inf when the load is c or more."""
    if lam <= 0:
        return 0.0
    if lam >= c * mu:
        return math.inf
    return wait_probability(lam, mu, c) / (c * mu - lam)


def within(lam: float, mu: float, c: int, target: float) -> float:
    """P(wait <= target) (the service level)."""
    if lam <= 0:
        return 1.0
    if lam >= c * mu:
        return 0.0
    return 1.0 - wait_probability(lam, mu, c) * math.exp(-(c * mu - lam) * target)


def counters_needed(
    lam: float, mu: float, target: float, share: float = 0.8, *, most: int = 64
) -> int:
    """The fewest counters with P(wait <= target) >= share (0 when nobody comes)."""
    if lam <= 0:
        return 0
    c = max(1, math.floor(lam / mu) + 1)
    while c < most and within(lam, mu, c, target) < share:
        c += 1
    return c
