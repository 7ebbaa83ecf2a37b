"""Staff identity on the counter's devices, and device health (API.md v1.1)."""

from __future__ import annotations

import io
import json
import time
from typing import Any

import httpx
import websockets
from PIL import Image

from tests.devices.helpers import COUNTER_TOKENS, counter_headers, image_bytes
from tests.support import FakeClock, LiveServer, run_async


class TestStaffPhoto:
    def test_manager_uploads_resized_photo_shown_on_the_card(self, hall: LiveServer) -> None:
        big = image_bytes("JPEG", (1600, 1200), "#aa3355")
        with hall.client("manager") as manager:
            saved = manager.put(
                "/users/teller1/photo", files={"file": ("me.jpg", big, "image/jpeg")}
            )
            assert saved.status_code == 200, saved.text
            card = saved.json()
            assert card["staff_no"] == "0213" and card["display_name"] == "李娜"
        with hall.client("teller1") as teller:
            teller.post("/branches/b1/counters/1/open").raise_for_status()
        with httpx.Client(base_url=hall.api, headers=counter_headers("1")) as pad:
            shown = pad.get("/branches/b1/counters/1/device").json()
            assert shown["teller"]["staff_no"] == "0213"
            photo = pad.get(shown["teller"]["photo_url"].removeprefix("/api/v1"))
        assert photo.status_code == 200 and photo.headers["content-type"] == "image/jpeg"
        with Image.open(io.BytesIO(photo.content)) as image:
            assert max(image.size) == 480 and image.format == "JPEG"
        stored = list((hall.config.data_path / "staff-photos").iterdir())
        assert len(stored) == 1

    def test_only_images_and_only_managers(self, hall: LiveServer) -> None:
        with hall.client("manager") as manager:
            bad = manager.put(
                "/users/teller1/photo", files={"file": ("me.jpg", b"%PDF-1.4", "image/jpeg")}
            )
            assert bad.status_code == 422 and bad.json()["error"]["code"] == "not_an_image"
            nobody = manager.put(
                "/users/ghost/photo", files={"file": ("me.png", image_bytes(), "image/png")}
            )
            assert nobody.status_code == 404
        with hall.client("teller1") as teller:
            own = teller.put(
                "/users/teller1/photo", files={"file": ("me.png", image_bytes(), "image/png")}
            )
            assert own.status_code == 403


async def hold(url: str, seconds_open: Any) -> None:
    async with websockets.connect(url) as ws:
        first = await ws.recv()
        assert '"snapshot"' in str(first)
        await seconds_open(ws)


class TestDeviceHealth:
    def test_connected_then_offline_alerts_after_two_minutes(
        self, hall: LiveServer, clock: FakeClock
    ) -> None:
        ws_url = hall.url.replace("http", "ws") + "/ws/branches/b1"

        def devices() -> dict[str, Any]:
            with hall.client("manager") as manager:
                answer: dict[str, Any] = manager.get("/branches/b1/devices").json()
                return answer

        before = {d["device"]: d for d in devices()["devices"]}
        assert before["pad:c1"]["online"] is False and before["pad:c1"]["last_connected_at"] is None
        assert before["pad:c1"]["alert"] is False  # never seen: listed, not alerted

        async def while_open(ws: Any) -> None:
            del ws
            now = {d["device"]: d for d in devices()["devices"]}
            assert now["pad:c1"]["online"] is True and now["pad:c1"]["last_connected_at"]
            assert now["sign:c1"]["online"] is False

        run_async(hold(f"{ws_url}?token={COUNTER_TOKENS['1']}&client=pad", while_open))
        # The server notices the close; the row follows shortly after.
        deadline = time.monotonic() + 20
        while (
            devices()["devices"]
            and next(d for d in devices()["devices"] if d["device"] == "pad:c1")["online"]
        ):
            assert time.monotonic() < deadline, "the pad never went offline"
            time.sleep(0.1)
        assert devices()["alerts"] == []
        clock.advance(121)
        health = devices()
        assert [a["device"] for a in health["alerts"]] == ["pad:c1"]
        alert = health["alerts"][0]
        assert "已离线 2 分钟" in alert["zh"] and "offline for 2 min" in alert["en"]
        assert "rating pad" in alert["en"]

    def test_a_counter_device_sees_only_its_counters_events(self, hall: LiveServer) -> None:
        ws_url = hall.url.replace("http", "ws") + "/ws/branches/b1"
        with hall.client("kiosk") as kiosk:
            for service in ("A", "B"):
                kiosk.post("/branches/b1/tickets", json={"service": service, "print": False})

        async def watch(ws: Any) -> None:
            with hall.client("teller1") as one, hall.client("teller3") as three:
                one.post("/branches/b1/counters/1/open").raise_for_status()
                one.post("/branches/b1/counters/1/call-next").raise_for_status()
                three.post("/branches/b1/counters/3/open").raise_for_status()
                three.post("/branches/b1/counters/3/call-next").raise_for_status()
            seen: list[Any] = []
            while len(seen) < 2:
                message = json.loads(await ws.recv())
                if message["type"] != "ping":
                    seen.append(message)
            assert [m["type"] for m in seen] == ["counter.updated", "ticket.called"]
            assert all(
                m["data"].get("counter") == "3" or m["data"].get("number") == "3" for m in seen
            )
            # its seq counts the events it was not sent too (no gap to fill)
            assert seen[1]["seq"] == 6

        run_async(hold(f"{ws_url}?token={COUNTER_TOKENS['3']}&client=sign", watch))
