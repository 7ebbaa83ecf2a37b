"""Health and metrics for the operator."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from sqlalchemy import text

from server.api.deps import StoreDep
from server.api.schemas import HealthOut
from server.metrics import render_metrics

router = APIRouter(tags=["system"])


@router.get("/health", response_model=HealthOut, response_model_exclude_unset=True)
def health(store: StoreDep, response: Response) -> dict[str, Any]:
    database = "ok"
    try:
        with store.read() as session:
            session.execute(text("SELECT 1"))
    except Exception as exc:  # the health page reports any failure, it does not raise
        database = f"error: {type(exc).__name__}"
    hub = store.hub.health()
    report: dict[str, Any] = {
        "status": "ok" if database == "ok" and hub["ok"] else "degraded",
        "database": database,
        "hub": hub,
        "websocket_clients": store.hub.subscriber_count(),
    }
    printers = store.ports.printing.health()
    if printers is not None:
        report["printers"] = printers
    # 503 only when this process cannot serve: without its database. Without Redis it
    # still issues and calls correctly (its own screens stay live), so a load balancer
    # must keep sending it work: "degraded" with 200.
    if database != "ok":
        response.status_code = 503
    return report


@router.get("/metrics")
def metrics(store: StoreDep) -> Response:
    body, content_type = render_metrics(store)
    return Response(content=body, media_type=content_type)
