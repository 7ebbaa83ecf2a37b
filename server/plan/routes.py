"""GET /api/v1/branches/{b}/plan (the staffing planner) and /plan/advice (live advice
for the dashboard)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from server.api.deps import StoreDep, check_branch, current_principal
from server.auth import Principal
from server.errors import Forbidden
from server.plan.advice import advise
from server.plan.planner import make_plan

router = APIRouter(prefix="/api/v1", tags=["plan"])

# Who may read plans: extend here (API.md v1.1 adds `regional`, for its branches).
PLAN_ROLES = {"manager", "admin"}


async def planner_principal(
    principal: Annotated[Principal, Depends(current_principal)],
) -> Principal:
    if principal.kind != "user" or principal.role not in PLAN_ROLES:
        raise Forbidden("managers only", code="managers_only")
    return principal


Planner = Annotated[Principal, Depends(planner_principal)]


@router.get("/branches/{branch}/plan")
def plan(
    branch: str,
    store: StoreDep,
    principal: Planner,
    weekday: Annotated[str, Query(max_length=12, description="mon ... sun")] = "mon",
    weeks: Annotated[int, Query(ge=1, le=26, description="weeks of history")] = 4,
) -> dict[str, Any]:
    check_branch(principal, branch)
    settings = store.branch(branch)
    with store.read() as session:
        return make_plan(session, settings, weekday, weeks, store.now()).as_json()


@router.get("/branches/{branch}/plan/advice")
def advice(branch: str, store: StoreDep, principal: Planner) -> dict[str, Any]:
    check_branch(principal, branch)
    settings = store.branch(branch)
    with store.read() as session:
        return advise(session, settings, store.now())
