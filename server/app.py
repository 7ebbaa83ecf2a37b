"""The one place the app is assembled: API, event hub, and the routers of the UI
packages (kiosk, lobby display, counter client, dashboard)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from server.api import auth as auth_api
from server.api import counters as counters_api
from server.api import system as system_api
from server.api import tickets as tickets_api
from server.bootstrap import ensure_users, sync_config
from server.config import AppConfig
from server.db import Database, migrate
from server.errors import LobbyQError
from server.hub import create_hub
from server.logs import RequestLog
from server.ports import AppPorts
from server.security import install_security, show_generated_passwords
from server.store import Clock, Store, system_clock

log = logging.getLogger("lobbyq")
API_PREFIX = "/api/v1"


def error_body(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


def _http_code(status: int) -> str:
    return {
        400: "bad_request",
        401: "not_authenticated",
        403: "forbidden",
        404: "not_found",
        405: "method_not_allowed",
        409: "conflict",
        413: "body_too_large",
        415: "unsupported_media_type",
        422: "invalid_input",
        429: "too_many_requests",
    }.get(status, "http_error")


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(LobbyQError)
    async def _lobbyq(_: Request, exc: LobbyQError) -> Response:
        if exc.status_code == 204:
            return Response(status_code=204)
        return JSONResponse(error_body(exc.code, exc.message), status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> Response:
        parts = []
        for error in exc.errors()[:5]:
            where = ".".join(str(p) for p in error.get("loc", ()) if p not in ("body",))
            parts.append(
                f"{where}: {error.get('msg', 'invalid')}" if where else str(error.get("msg"))
            )
        return JSONResponse(
            error_body("invalid_input", "; ".join(parts) or "invalid input"), status_code=422
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> Response:
        message = exc.detail if isinstance(exc.detail, str) else "request refused"
        return JSONResponse(
            error_body(_http_code(exc.status_code), message),
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )


UPLOAD_BODY_BYTES = 3 * 1024 * 1024
UPLOAD_SUFFIXES = ("/slides", "/photo")


def is_upload(scope: Scope) -> bool:
    return scope.get("method") in ("POST", "PUT") and str(scope.get("path", "")).endswith(
        UPLOAD_SUFFIXES
    )


class BodyLimit:
    """Refuse bodies over the limit with 413 before reading them."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes
        # Image uploads (slides, staff photos) check their own 2 MiB limit with a 422.
        self.upload_bytes = max(max_bytes, UPLOAD_BODY_BYTES)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.upload_bytes if is_upload(scope) else self.max_bytes
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > limit):
            response = JSONResponse(
                error_body("body_too_large", f"request body over {limit} bytes"),
                status_code=413,
            )
            await response(scope, receive, send)
            return
        received = 0

        async def limited() -> Any:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise StarletteHTTPException(413, "request body too large")
            return message

        await self.app(scope, limited, send)


def install_offline_docs(app: FastAPI) -> None:
    """/docs with Swagger UI served by LobbyQ itself: branches have no internet."""
    from pathlib import Path

    import fastapi_offline
    from fastapi.openapi.docs import get_swagger_ui_html

    from server.web.assets import static_mount

    # The one /static mount of the web kit, with Swagger UI's files as one more part.
    swagger = Path(fastapi_offline.__file__).parent / "static"
    app.router.routes.append(static_mount({"swagger": swagger}))

    @app.get("/docs", include_in_schema=False)
    async def docs() -> Response:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="LobbyQ API",
            swagger_js_url="/static/swagger/swagger-ui-bundle.js",
            swagger_css_url="/static/swagger/swagger-ui.css",
            swagger_favicon_url="/static/swagger/favicon.png",
        )


def prepare_database(config: AppConfig, db: Database) -> None:
    """Migrations, then the config's branches, services, counters and users."""
    migrate(db.url)
    with db.write() as session:
        sync_config(session, config)
    with db.write() as session:
        # Generated passwords go to <data_dir>/initial-passwords.txt (0600) and, once, to
        # the terminal when there is one; never to a log line (server/security.py).
        generated = ensure_users(session, config)
    show_generated_passwords(generated)


def build_ports(store: Store) -> AppPorts:
    """The real printers, voice and webhook; each reads the store it is built for."""
    from kiosk.printing import PrinterPort
    from lobby_display.voice import build_voice
    from server.customer.webhook import Webhooks
    from server.realtime.counters import open_counters

    voice = build_voice(store)
    voice.track_open_counters(open_counters(store))
    return AppPorts(printing=PrinterPort(store), announcer=voice, notifier=Webhooks(store))


def build_parts(store: Store) -> None:
    """The packages' shared state, kept as the store's typed fields (server/store.py)."""
    from server.customer.limits import PublicLimiter
    from server.customer.reminders import Jobs
    from server.hq.access import RegionalBranches
    from server.hq.routes import OverviewCache, Sealer
    from server.realtime.state import Realtime

    server = store.config.server
    store.realtime = Realtime.build(store)
    store.overview = OverviewCache()
    store.sealer = Sealer(store)
    store.public_limiter = PublicLimiter(
        server.public_requests_per_minute, redis_url=server.redis_url
    )
    store.reminders = Jobs(store)
    store.regional = RegionalBranches(store)


def create_app(
    config: AppConfig,
    *,
    clock: Clock = system_clock,
    ports: Callable[[Store], AppPorts] = build_ports,
    prepare: bool = True,
) -> FastAPI:
    """`ports`: how the printers, voice and webhook are built (tests may give fakes)."""
    db = Database(config.server.database_url)
    if prepare:
        prepare_database(config, db)
    hub = create_hub(config.server.redis_url)
    store = Store(config=config, db=db, hub=hub, clock=clock)
    store.ports = ports(store)
    build_parts(store)

    from counter_client import routes as counter_routes
    from kiosk import lobby as lobby_routes
    from kiosk import routes as kiosk_routes
    from lobby_display import routes as display_routes
    from server.api import teller as teller_routes
    from server.customer import routes as customer_routes
    from server.dashboard import routes as dashboard_routes
    from server.devices import routes as device_routes
    from server.hq import routes as hq_routes
    from server.plan import routes as plan_routes
    from server.realtime import routes as realtime_routes
    from server.stats import routes as stats_routes

    routers = [
        customer_routes.router,
        stats_routes.router,
        teller_routes.router,
        kiosk_routes.router,
        display_routes.router,
        counter_routes.router,
        dashboard_routes.router,
        device_routes.router,
        lobby_routes.router,
        hq_routes.router,
        plan_routes.router,
    ]

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await hub.start()
        store.reminders.start()
        await device_routes.startup(store)
        store.sealer.start()
        try:
            yield
        finally:
            await store.sealer.stop()
            await device_routes.shutdown(store)
            store.ports.announcer.close()
            await anyio.to_thread.run_sync(store.ports.printing.close)
            await store.reminders.stop()
            # A daemon thread: a POST in progress does not hold the stop.
            store.ports.notifier.stop(timeout_s=1.0)
            store.realtime.stop()
            await hub.stop()
            db.dispose()

    app = FastAPI(
        title="LobbyQ",
        version="1.0",
        summary="Queue and ticketing for bank branches (网点排队叫号系统)",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        # FastAPI's native OpenTelemetry stays off whatever the environment says: a
        # branch system sends nothing anywhere, and the per-request check costs time.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.store = store
    install_error_handlers(app)
    for router in (auth_api.router, tickets_api.router, counters_api.router, system_api.router):
        app.include_router(router, prefix=API_PREFIX)
    for router in routers:
        app.include_router(router)
    realtime_routes.mount(app)  # first of the routes: a reconnect storm matches it at once
    install_offline_docs(app)
    install_security(app, config.server)
    app.add_middleware(BodyLimit, max_bytes=config.server.max_body_bytes)
    app.add_middleware(RequestLog)  # outermost: every request gets its line
    return app
