"""Templates for every page: each part's own folder first, then the kit's (which holds
`kit/base.html`). Page data goes into `<script type="application/json">` blobs
(`data_blob`), never into inline script: the pages can run under a
Content-Security-Policy without 'unsafe-inline'."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.templating import Jinja2Templates
from jinja2.utils import htmlsafe_json_dumps
from markupsafe import Markup, escape

from server.config import BranchSettings
from server.web.i18n import catalogue, translate

KIT_TEMPLATES = Path(__file__).resolve().parent / "templates"


def script_json(value: Any) -> Markup:
    """JSON with <, >, & and ' escaped: no value can end a <script> element."""
    return htmlsafe_json_dumps(value, ensure_ascii=False)


def data_blob(element_id: str, value: Any) -> Markup:
    """`<script type="application/json" id=...>` holding `script_json(value)`; a script
    reads it with `LobbyQ.data(id)`."""
    text = script_json(value)
    return Markup(f'<script id="{escape(element_id)}" type="application/json">{text}</script>')


def page_templates(directory: Path) -> Jinja2Templates:
    """The templates of one part (`directory`), able to extend `kit/base.html`."""
    templates = Jinja2Templates(directory=[str(directory), str(KIT_TEMPLATES)])
    env = templates.env
    env.globals["t"] = translate
    env.globals["catalogue"] = catalogue
    env.globals["data_blob"] = data_blob
    return templates


def branch_boot(branch: BranchSettings) -> dict[str, Any]:
    """What a staff page's script needs from the config (the teller page, the dashboard,
    the lobby tablet): the branch's names, time zone, services, counters, priorities."""
    return {
        "code": branch.code,
        "name": branch.name.model_dump(),
        "timezone": branch.timezone,
        "ratings_enabled": branch.ratings_enabled,
        "services": [
            {
                "code": s.code,
                "prefix": s.prefix,
                "name": s.name.model_dump(),
                "target_wait_s": round(s.target_wait_min * 60),
            }
            for s in branch.services
        ],
        "counters": [
            {"number": c.number, "services": list(c.services), "name": c.shown_name()}
            for c in branch.counters
        ],
        "priorities": [{"code": p.code, "name": p.shown_name()} for p in branch.all_priorities()],
    }
