"""The staffing plan follows the roles' capabilities (server/auth.py ROLE_CAPABILITIES):
a regional manager reads the plan and the advice of its own branches only, and the
plan's default weekday is the branch's business day on the server's clock."""

from __future__ import annotations

from datetime import UTC, datetime

from server.plan.demand import today_weekday
from tests.hq.conftest import REGIONAL
from tests.support import FakeClock, LiveServer


def test_regional_reads_the_plans_of_its_branches_only(hq: LiveServer) -> None:
    with hq.client(REGIONAL) as region:
        plan = region.get("/branches/b01/plan", params={"weeks": 1})
        assert plan.status_code == 200, plan.text
        assert region.get("/branches/b02/plan/advice").status_code == 200
        for path in ("/branches/b03/plan", "/branches/b03/plan/advice"):
            refused = region.get(path)
            assert refused.status_code == 403, path
            assert refused.json()["error"]["code"] == "not_your_branch"
    with hq.client("teller1") as teller:
        assert teller.get("/branches/b01/plan").json()["error"]["code"] == "managers_only"


def test_the_default_weekday_is_the_business_days(hq: LiveServer, clock: FakeClock) -> None:
    branch = hq.config.branches[0]
    # Tuesday 01:00 in Shanghai: with the day reset at 03:00, still Monday's business day.
    moment = datetime(2026, 11, 30, 17, 0, tzinfo=UTC)
    assert today_weekday(branch, moment) == "tue"
    # validated again (model_copy would keep the reset time parsed at load)
    late = type(branch).model_validate({**branch.model_dump(), "reset_time": "03:00"})
    assert today_weekday(late, moment) == "mon"
    clock.now = moment
    with hq.client("manager") as manager:
        assert manager.get("/branches/b01/plan", params={"weeks": 1}).json()["weekday"] == "tue"
        page = manager.get(f"{hq.url}/dashboard/b01")
    assert '"weekday": "tue"' in page.text or '"weekday":"tue"' in page.text
