"""The teller page's HTTP side: sign-in by token, escaping, assets served locally."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx

from tests.support import LiveServer, live_server, make_config

ASSETS = Path(__file__).resolve().parents[2] / "counter_client"


def boot_of(html: str) -> dict[str, object]:
    found = re.search(r'<script id="boot" type="application/json">(.*?)</script>', html, re.S)
    assert found is not None
    data: dict[str, object] = json.loads(found.group(1))
    return data


def test_the_page_and_its_assets(server: LiveServer) -> None:
    with httpx.Client(base_url=server.url) as web:
        page = web.get("/counter/b1")
        assert page.status_code == 200
        assert page.headers["cache-control"] == "no-store"
        boot = boot_of(page.text)
        assert boot["token"] is None  # a cookie session stays httponly
        branch = boot["branch"]
        assert isinstance(branch, dict) and branch["ratings_enabled"] is True
        assert [s["code"] for s in branch["services"]] == ["A", "B", "C"]
        assert [c["number"] for c in branch["counters"]] == ["1", "2", "3", "4"]
        for name, kind in (("counter.js", "text/javascript"), ("counter.css", "text/css")):
            asset = web.get(f"/counter/static/{name}")
            assert asset.status_code == 200 and asset.headers["content-type"].startswith(kind)
        assert web.get("/counter/static/../routes.py").status_code == 404
        assert web.get("/counter/static/nothing.js").status_code == 404
        missing = web.get("/counter/nope")
        assert missing.status_code == 404 and "No such branch" in missing.text


def test_no_external_assets() -> None:
    for path in [*ASSETS.glob("templates/*.html"), *ASSETS.glob("static/*")]:
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}", text, re.I), path


def test_a_staff_token_in_the_address_is_never_taken(server: LiveServer) -> None:
    token = server.token("teller1")
    with httpx.Client(base_url=server.url) as web:
        moved = web.get(f"/counter/b1?token={token}")
        assert moved.status_code == 303 and moved.headers["location"] == "/counter/b1"
        assert "set-cookie" not in moved.headers  # an address ends up in the history
        forged = web.get("/counter/b1?token=forged")
        assert forged.status_code == 303 and "set-cookie" not in forged.headers
        device = web.get("/counter/b1?token=display-token-tv1")
        assert device.status_code == 303 and "set-cookie" not in device.headers  # staff only
        header = web.get("/counter/b1", headers={"Authorization": f"Bearer {token}"})
        assert boot_of(header.text)["token"] == token


def test_names_are_escaped(database_url: str, tmp_path: Path) -> None:
    config = make_config(
        database_url,
        tmp_path / "data",
        name={"zh": "<b>支行</b>", "en": "x</script><script>alert(1)</script>"},
    )
    with live_server(config) as server, httpx.Client(base_url=server.url) as web:
        html = web.get("/counter/b1").text
    assert "<b>支行</b>" not in html and "&lt;b&gt;支行&lt;/b&gt;" in html
    assert "<script>alert(1)</script>" not in html
    assert boot_of(html)["branch"]["name"]["en"] == "x</script><script>alert(1)</script>"  # type: ignore[index]
