"""One static mount, `/static`, for every page's files (a branch has no internet, so
the server serves them all itself). Each part of LobbyQ has a folder under it:

    /static/kit/...        the kit: live.js, page.js, kit.css
    /static/kiosk/...      kiosk, mobile ticket and printers pages
    /static/display/...    the lobby TV
    /static/counter/...    the teller page
    /static/dashboard/...  the manager dashboard (vendor/ holds Chart.js)
    /static/hq/...         the headquarters page
    /static/swagger/...    Swagger UI for /docs

A new part adds one line to STATIC_DIRS. Starlette's StaticFiles serves the files, so
no path from a request reaches the disk unchecked (it refuses '..' and symlinks out)."""

from __future__ import annotations

from pathlib import Path

from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.types import Message, Receive, Scope, Send

ROOT = Path(__file__).resolve().parents[2]
KIT_STATIC = Path(__file__).resolve().parent / "static"

STATIC_DIRS: dict[str, Path] = {
    "kit": KIT_STATIC,
    "kiosk": ROOT / "kiosk" / "static",
    "display": ROOT / "lobby_display" / "static",
    "counter": ROOT / "counter_client" / "static",
    "dashboard": ROOT / "server" / "dashboard" / "static",
    "hq": ROOT / "server" / "hq" / "static",
}


class Assets(StaticFiles):
    """StaticFiles whose answers are revalidated on every load (ETag / 304): a kiosk
    or TV that runs for weeks picks up new scripts after an upgrade."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def no_cache(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k != b"cache-control"]
                headers.append((b"cache-control", b"no-cache"))
                message = {**message, "headers": headers}
            await send(message)

        await super().__call__(scope, receive, no_cache)


def static_mount(extra: dict[str, Path] | None = None) -> Mount:
    """The one `/static` mount: a sub-mount per part (and any `extra` folders)."""
    folders = {**STATIC_DIRS, **(extra or {})}
    return Mount(
        "/static",
        routes=[
            Mount(f"/{part}", app=Assets(directory=folder), name=f"static-{part}")
            for part, folder in folders.items()
        ],
        name="static",
    )
