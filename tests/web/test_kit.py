"""The web kit's static side: one /static mount, no inline script in any page, one way
to keep a device's token, and catalogues with no key missing in any language."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import pytest

from server.web.assets import STATIC_DIRS
from server.web.i18n import LANGUAGES, catalogue, messages, translate
from tests.support import DISPLAY_TOKEN, KIOSK_TOKEN, LiveServer

ROOT = Path(__file__).resolve().parents[2]
PARTS = ("kiosk", "lobby_display", "counter_client", "server/dashboard", "server/hq", "server/web")
TEMPLATES = [
    p
    for folder in PARTS
    for p in (ROOT / folder).rglob("templates/**/*.html")
]
SCRIPTS = [p for folder in PARTS for p in (ROOT / folder).rglob("static/**/*.js")]


def test_every_part_is_served_from_the_one_mount(server: LiveServer) -> None:
    # A generous timeout: every script and style (the chart library too) on a loaded machine.
    web = httpx.Client(base_url=server.url, timeout=60)
    for part, folder in STATIC_DIRS.items():
        for path in folder.rglob("*"):
            if path.suffix not in (".js", ".css"):
                continue
            name = path.relative_to(folder).as_posix()
            answer = web.get(f"/static/{part}/{name}")
            assert answer.status_code == 200, name
            assert answer.headers["cache-control"] == "no-cache"  # revalidated after upgrades
            again = web.get(
                f"/static/{part}/{name}", headers={"if-none-match": answer.headers["etag"]}
            )
            assert again.status_code == 304
    for bad in ("/static/kit/../assets.py", "/static/kit/%2e%2e/assets.py", "/static/nope/x.js"):
        assert web.get(bad).status_code == 404, bad
    web.close()


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: p.name)
def test_no_inline_script_or_handler_in_any_template(template: Path) -> None:
    """Pages run under a CSP without 'unsafe-inline': data in JSON blobs, code in files."""
    html = template.read_text(encoding="utf-8")
    for tag in re.findall(r"<script\b[^>]*>", html):
        assert "src=" in tag or 'type="application/json"' in tag, (template, tag)
    assert not re.search(r"\son[a-z]+\s*=", html), template
    assert not re.search(r"\sstyle\s*=", html), template


def _page_extends_kit(template: Path, seen: tuple[Path, ...] = ()) -> bool:
    found = re.search(r'\{%\s*extends\s+"([^"]+)"\s*%\}', template.read_text(encoding="utf-8"))
    if found is None:
        return False
    if found.group(1) == "kit/base.html":
        return True
    parent = template.parent / found.group(1)
    return parent not in seen and parent.exists() and _page_extends_kit(parent, (*seen, parent))


@pytest.mark.parametrize(
    "template",
    [t for t in TEMPLATES if not t.name.startswith("_") and t.parent.name != "kit"],
    ids=lambda p: p.name,
)
def test_every_page_stands_on_the_kit_base(template: Path) -> None:
    """A page template extends kit/base.html (directly or through its part's layout);
    partials (`_x.html`) are included, never served alone."""
    assert _page_extends_kit(template), template


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_one_websocket_client_and_one_way_to_read_page_data(script: Path) -> None:
    js = script.read_text(encoding="utf-8")
    if script.name != "live.js":
        assert "new WebSocket" not in js, f"{script}: use LobbyQ.live (server/web/static/live.js)"
    if script.name != "page.js":
        assert not re.search(r"JSON\.parse\(\s*document\.getElementById", js), (
            f"{script}: use LobbyQ.data(id)"
        )


def test_kiosk_and_display_keep_their_token_the_same_way(server: LiveServer) -> None:
    cookies = []
    for path in (f"/kiosk/b1/k1?token={KIOSK_TOKEN}", f"/display/b1/tv1?token={DISPLAY_TOKEN}"):
        moved = httpx.get(f"{server.url}{path}")
        assert moved.status_code == 303 and "token" not in moved.headers["location"]
        cookie = moved.headers["set-cookie"]
        cookies.append(re.sub(r"lobbyq_device=[^;]*", "lobbyq_device=T", cookie))
    assert cookies[0] == cookies[1]
    assert "HttpOnly" in cookies[0] and "SameSite=strict" in cookies[0]
    assert "Max-Age=34560000" in cookies[0]  # 400 days, Chromium's longest


# --- catalogues -----------------------------------------------------------------------


def test_every_language_has_every_key() -> None:
    keys = {lang: set(messages(lang)) for lang in LANGUAGES}
    for lang in LANGUAGES:
        for other in LANGUAGES:
            missing = sorted(keys[other] - keys[lang])
            assert not missing, f"{lang}.json lacks {missing}"


def test_a_missing_key_is_an_error_not_a_silent_fallback() -> None:
    assert translate("kiosk.printerDown", "en").startswith("The printer")
    with pytest.raises(KeyError, match="kiosk.nope"):
        translate("kiosk.nope")


DASHBOARD = "server/dashboard/templates/dashboard.html"


def _js_keys(script: str) -> set[str]:
    # LobbyQ.t("key"), t("key", "en"), LobbyQ.both("key"), both("key", " · "), and a
    # page's pair("key") ({zh, en} of one key)
    return set(re.findall(r"\b(?:t|both|pair)\(\"([A-Za-z_]+)\"[,)]", script))


@pytest.mark.parametrize(
    ("part", "template", "script"),
    [
        ("kiosk", "kiosk/templates/kiosk.html", "kiosk/static/kiosk.js"),
        ("ticket", "kiosk/templates/ticket.html", "kiosk/static/ticket.js"),
        ("counter", "counter_client/templates/counter.html", "counter_client/static/counter.js"),
        ("hq", "server/hq/templates/hq.html", "server/hq/static/hq.js"),
        ("customer", "kiosk/templates/book.html", "kiosk/static/customer.js"),
        ("customer", "kiosk/templates/suggest.html", "kiosk/static/customer.js"),
        ("lobby", "kiosk/templates/lobby.html", "kiosk/static/lobby.js"),
        ("printers", "kiosk/templates/printers.html", "kiosk/static/printers.js"),
        ("tv", "lobby_display/templates/display.html", "lobby_display/static/display.js"),
        ("dashboard", DASHBOARD, "server/dashboard/static/dashboard.js"),
        ("dashboard", DASHBOARD, "server/dashboard/static/plan.js"),
        ("dashboard", DASHBOARD, "server/dashboard/static/hall.js"),
        ("dashboard", "server/dashboard/templates/login.html", "server/dashboard/static/login.js"),
        (
            "dashboard",
            "server/dashboard/templates/customers.html",
            "server/dashboard/static/customers.js",
        ),
    ],
)
def test_every_key_a_page_uses_is_in_the_catalogue(part: str, template: str, script: str) -> None:
    html = (ROOT / template).read_text(encoding="utf-8")
    js = (ROOT / script).read_text(encoding="utf-8")
    used = set(re.findall(r'data-i18n="([A-Za-z_]+)"', html)) | _js_keys(js)
    used |= {f"{k}" for k in re.findall(r'\bt\("' + part + r'\.([A-Za-z_]+)"\)', html)}
    # Keys named in message lists (title: "errorTitle", label: "retry"...).
    used |= set(re.findall(r'(?:title|text|label): "([A-Za-z_]+)"', js))
    used |= set(re.findall(r"\b(?:ZH|EN)\.([A-Za-z_]+)", js))
    assert used, part
    for lang in LANGUAGES:
        missing = sorted(used - set(catalogue(part)[lang]))
        assert not missing, f"{lang}: {part} uses {missing}"


def test_the_wait_range_words_come_from_the_catalogue() -> None:
    """waitrange.js reads the `wait` part; every page loading it asks for that part."""
    js = (ROOT / "kiosk/static/waitrange.js").read_text(encoding="utf-8")
    used = _js_keys(js)
    assert used
    for lang in LANGUAGES:
        assert used <= set(catalogue("wait")[lang]), lang
    literals = re.findall(r'"([^"]*)"', js.split("*/", 1)[1])
    assert not [w for w in literals if re.search(r"分钟|\bmin\b", w)], "words left in the script"
    pages = [p for p in ROOT.glob("*/templates/*.html") if "waitrange.js" in p.read_text("utf-8")]
    assert pages
    for page in pages:
        parts = re.search(r"{% set i18n = \[(.*?)\] %}", page.read_text(encoding="utf-8"))
        assert parts is not None and '"wait"' in parts.group(1), page


def test_the_page_gets_only_its_parts_keys(server: LiveServer) -> None:
    with httpx.Client(base_url=server.url) as web:
        web.get(f"/kiosk/b1/k1?token={KIOSK_TOKEN}")
        html = web.get("/kiosk/b1/k1").text
    blob = re.search(r'<script id="lobbyq-i18n" type="application/json">(.*?)</script>', html)
    assert blob is not None
    data = json.loads(blob.group(1))
    assert data["en"]["printerDown"] == translate("kiosk.printerDown", "en")
    assert set(data["zh"]) == set(data["en"]) == set(catalogue("kiosk", "wait")["zh"])
