"""Who may read which branch's statistics.

Managers and admins read every branch (as before); a `regional` user reads the
branches its user row names (`branches`, from the config or `create-user
--branches`; "*" for all), and nothing else. The role is read-only everywhere
(server/api/deps.py READ_ONLY_ROLES); the overview is for regional users and admins.
"""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import Depends
from sqlmodel import select

from server.api.deps import StoreDep, check_branch, current_principal
from server.auth import Principal
from server.config import BranchSettings
from server.errors import Forbidden
from server.models import User
from server.store import Store

REGIONAL = "regional"
CACHE_S = 5.0  # a change of a user's branches shows within this


class RegionalBranches:
    """The branch codes each regional user oversees, read from its user row and kept
    CACHE_S: one per app, a field of its store (server/store.py `regional`)."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._cached: dict[str, tuple[float, frozenset[str]]] = {}

    def of(self, username: str) -> frozenset[str]:
        cached = self._cached.get(username)
        now = time.monotonic()
        if cached is not None and now - cached[0] < CACHE_S:
            return cached[1]
        with self._store.read() as session:
            user = session.exec(select(User).where(User.username == username)).first()
        codes = frozenset(user.branches or []) if user is not None and user.active else frozenset()
        if len(self._cached) > 10_000:
            self._cached.clear()
        self._cached[username] = (now, codes)
        return codes


def visible_branches(store: Store, principal: Principal) -> list[BranchSettings]:
    """The configured branches this principal may read statistics of, in config order."""
    if principal.kind != "user":
        return [b for b in store.config.branches if b.code == principal.branch]
    if principal.role == REGIONAL:
        codes = store.regional.of(principal.name)
        return [b for b in store.config.branches if "*" in codes or b.code in codes]
    return list(store.config.branches) if principal.can("stats") else []


def may_read(store: Store, principal: Principal, branch: str) -> bool:
    return any(b.code == branch for b in visible_branches(store, principal))


def check_may_read(store: Store, principal: Principal, branch: str) -> None:
    check_branch(principal, branch)
    if principal.role == REGIONAL and not may_read(store, principal, branch):
        raise Forbidden(f"branch {branch} is not one of yours", code="not_your_branch")


async def stats_reader(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
    if not principal.can("stats"):
        raise Forbidden("managers and regional managers only", code="managers_only")
    return principal


async def overview_reader(
    principal: Annotated[Principal, Depends(current_principal)],
) -> Principal:
    if not principal.can("overview"):
        raise Forbidden("regional managers and admins only", code="regional_only")
    return principal


StatsReader = Annotated[Principal, Depends(stats_reader)]
OverviewReader = Annotated[Principal, Depends(overview_reader)]
__all__ = ["OverviewReader", "StatsReader", "StoreDep", "check_may_read", "visible_branches"]
