"""Fixtures of the dashboard tests: the empty `day` of the statistics tests."""

from __future__ import annotations

from tests.stats.conftest import day

__all__ = ["day"]
