"""Device health: when each device (kiosk, TV, counter sign, rating pad, lobby tablet)
was last connected, from its WebSocket connecting and going away.

A process counts the sockets it holds per device and writes the `device_link` row only
when its first socket for a device opens or its last one closes, so 5,000 TVs on one
token cost two writes, not 10,000. `open` in the row counts the processes holding the
device. The dashboard alerts on a device offline for OFFLINE_ALERT."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select
from starlette.concurrency import run_in_threadpool

from server.auth import Principal
from server.config import BranchSettings
from server.db import Database
from server.models import DeviceLink, as_utc, utc

log = logging.getLogger("lobbyq.devices")

OFFLINE_ALERT = timedelta(minutes=2)
CLIENTS = ("sign", "pad")  # what a counter device's socket says it is (`?client=`)


def device_of(principal: Principal, client: str | None) -> tuple[str, str] | None:
    """(kind, device id) of a socket, or None for one that is not a device (a staff
    page other than the lobby tablet)."""
    if principal.kind in ("kiosk", "display"):
        return principal.kind, f"{principal.kind}:{principal.name}"
    if principal.kind == "counter":
        kind = client if client in CLIENTS else "sign"
        return kind, f"{kind}:{principal.name}"
    if principal.kind == "user" and client == "lobby":
        return "lobby", f"lobby:{principal.name}"
    return None


def _mark(db: Database, branch: str, kind: str, device: str, now: datetime, opened: bool) -> None:
    at = as_utc(now)
    values: dict[str, Any] = (
        {"open": col(DeviceLink.open) + 1, "connected_at": at, "kind": kind}
        if opened
        else {"open": col(DeviceLink.open) - 1, "disconnected_at": at}
    )
    statement = (
        update(DeviceLink)
        .where(col(DeviceLink.branch) == branch, col(DeviceLink.device) == device)
        .values(**values)
    )
    for _ in range(2):
        with db.write() as session:
            if session.execute(statement).rowcount:  # type: ignore[attr-defined]
                session.commit()
                return
            session.add(
                DeviceLink(
                    branch=branch,
                    device=device,
                    kind=kind,
                    open=1 if opened else 0,
                    connected_at=at if opened else None,
                    disconnected_at=None if opened else at,
                )
            )
            try:
                session.commit()
                return
            except IntegrityError:  # another process wrote it first: update it
                session.rollback()


class DeviceLinks:
    """The sockets this process holds, per (branch, device). The rows are written in
    the background, one after another in the order of the changes: a display's
    snapshot never waits for its health row."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.held: Counter[tuple[str, str]] = Counter()
        self._tail: asyncio.Task[None] | None = None

    async def opened(self, branch: str, kind: str, device: str, now: datetime) -> None:
        self.held[(branch, device)] += 1
        if self.held[(branch, device)] == 1:
            self._schedule(branch, kind, device, now, True)

    async def closed(self, branch: str, kind: str, device: str, now: datetime) -> None:
        self.held[(branch, device)] -= 1
        if self.held[(branch, device)] <= 0:
            del self.held[(branch, device)]
            self._schedule(branch, kind, device, now, False)

    def _schedule(self, branch: str, kind: str, device: str, now: datetime, opened: bool) -> None:
        previous = self._tail

        async def write() -> None:
            if previous is not None:
                with contextlib.suppress(BaseException):
                    await previous
            try:
                await run_in_threadpool(_mark, self.db, branch, kind, device, now, opened)
            except Exception:  # health is reported, never allowed to break a socket
                state = "online" if opened else "offline"
                log.warning("could not record device %s %s", device, state, exc_info=True)

        self._tail = asyncio.get_running_loop().create_task(write())

    async def settled(self) -> None:
        """Wait for the rows written so far (shutdown, tests)."""
        if self._tail is not None:
            with contextlib.suppress(BaseException):
                await self._tail

    def forget_all(self) -> None:
        """At start-up of the only process: nothing is connected yet."""
        with self.db.write() as session:
            session.execute(update(DeviceLink).where(col(DeviceLink.open) != 0).values(open=0))
            session.commit()


def _names(branch: BranchSettings) -> dict[str, dict[str, str]]:
    """The devices the config knows, with a {zh, en} name each."""
    names: dict[str, dict[str, str]] = {}
    for kiosk in branch.kiosks:
        names[f"kiosk:{kiosk.id}"] = {"zh": f"取号机 {kiosk.id}", "en": f"Kiosk {kiosk.id}"}
    for display in branch.displays:
        names[f"display:{display.id}"] = {"zh": f"叫号屏 {display.id}", "en": f"TV {display.id}"}
    for device in branch.counter_devices:
        counter = branch.counter_name(device.counter)
        names[f"sign:{device.id}"] = {
            "zh": f"{counter['zh']}窗口屏",
            "en": f"{counter['en']} sign",
        }
        names[f"pad:{device.id}"] = {
            "zh": f"{counter['zh']}评价器",
            "en": f"{counter['en']} rating pad",
        }
    return names


def device_health(session: Session, branch: BranchSettings, now: datetime) -> dict[str, Any]:
    """Every device of the branch: online or since when offline, and the alerts."""
    names = _names(branch)
    rows = {
        r.device: r
        for r in session.exec(select(DeviceLink).where(DeviceLink.branch == branch.code))
    }
    devices: list[dict[str, Any]] = []
    alerts: list[dict[str, str]] = []
    for device in sorted(set(names) | set(rows)):
        row = rows.get(device)
        kind = row.kind if row else device.partition(":")[0]
        ident = device.partition(":")[2]
        name = names.get(device) or {"zh": f"大堂平板 {ident}", "en": f"Lobby tablet {ident}"}
        connected = utc(row.connected_at) if row else None
        gone = utc(row.disconnected_at) if row else None
        online = bool(row and row.open > 0)
        offline_s = None if online or gone is None else max(0.0, (now - gone).total_seconds())
        # A device never seen is listed, not alerted: a counter may have no pad.
        alert = offline_s is not None and offline_s >= OFFLINE_ALERT.total_seconds()
        devices.append(
            {
                "device": device,
                "kind": kind,
                "name": name,
                "online": online,
                "last_connected_at": connected.isoformat() if connected else None,
                "last_disconnected_at": gone.isoformat() if gone else None,
                "offline_s": round(offline_s) if offline_s is not None else None,
                "alert": alert,
            }
        )
        if alert and offline_s is not None:
            minutes = int(offline_s // 60)
            alerts.append(
                {
                    "device": device,
                    "zh": f"设备离线：{name['zh']} 已离线 {minutes} 分钟",
                    "en": f"Device offline: {name['en']}, offline for {minutes} min",
                }
            )
    return {"devices": devices, "alerts": alerts}
