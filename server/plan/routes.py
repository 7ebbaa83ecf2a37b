"""GET /api/v1/branches/{b}/plan (the staffing planner) and /plan/advice (live advice
for the dashboard)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from server.api.deps import StoreDep
from server.hq.access import StatsReader, check_may_read
from server.plan.advice import advise
from server.plan.answers import AdviceOut, PlanOut
from server.plan.planner import make_plan

router = APIRouter(prefix="/api/v1", tags=["plan"])

# Who may read plans: as for the statistics (StatsReader), the roles whose
# ROLE_CAPABILITIES (server/auth.py) hold "stats": manager, admin, and regional for
# its own branches (API.md v1.1). A new role gets plans by getting that capability.


@router.get("/branches/{branch}/plan", response_model=PlanOut)
def plan(
    branch: str,
    store: StoreDep,
    principal: StatsReader,
    weekday: Annotated[
        str | None, Query(max_length=12, description="mon ... sun (default: the business day's)")
    ] = None,
    weeks: Annotated[int, Query(ge=1, le=26, description="weeks of history")] = 4,
) -> PlanOut:
    check_may_read(store, principal, branch)
    settings = store.branch(branch)
    with store.read() as session:
        return make_plan(session, settings, weekday, weeks, store.now()).answer()


@router.get("/branches/{branch}/plan/advice", response_model=AdviceOut)
def advice(branch: str, store: StoreDep, principal: StatsReader) -> AdviceOut:
    check_may_read(store, principal, branch)
    settings = store.branch(branch)
    with store.read() as session:
        return advise(session, settings, store.now())
