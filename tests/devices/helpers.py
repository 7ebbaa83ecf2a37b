"""The config of the hall-device tests: the base test branch plus a sign and pad per
counter, a lobby manager, staff numbers, and a TV with the boards beside the queue."""

from __future__ import annotations

import copy
import io
from pathlib import Path
from typing import Any

from PIL import Image

from server.config import AppConfig, parse_config
from tests.support import BASE_CONFIG, PASSWORDS

COUNTER_TOKENS = {n: f"counter-token-c{n}" for n in ("1", "2", "3", "4")}


def device_config(database_url: str, data_dir: Path, **branch: Any) -> AppConfig:
    data = copy.deepcopy(BASE_CONFIG)
    data["server"]["database_url"] = database_url
    data["server"]["data_dir"] = str(data_dir)
    for user in data["users"]:
        if user["username"] == "teller1":
            user.update(display_name="李娜", staff_no="0213")
    data["users"].append(
        {
            "username": "lobby1",
            "password": PASSWORDS["lobby1"],
            "role": "lobby",
            "display_name": "赵敏",
        }
    )
    settings = data["branches"][0]
    settings["counter_devices"] = [
        {"id": f"c{n}", "counter": n, "token": token} for n, token in COUNTER_TOKENS.items()
    ]
    settings["displays"][0]["layout"] = "queue+board+slides"
    settings.update(branch)
    return parse_config(data, source="<test>")


def counter_headers(number: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {COUNTER_TOKENS[number]}"}


def image_bytes(
    kind: str = "PNG", size: tuple[int, int] = (64, 48), color: str = "#0b6aa8"
) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, kind)
    return buffer.getvalue()
