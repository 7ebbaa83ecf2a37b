"""Every JSON route shows its answer's real schema in OpenAPI (a declared response_model),
not a bare object: a new JSON route without one fails this test."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from server.app import create_app
from tests.support import make_config

# Every JSON route declares its answer's schema (issue 13 item 1): this list stays empty;
# a new JSON route without a response_model fails the test. Downloads, CSV, images and
# HTML never appear here.
UNTYPED: set[str] = set()


def _untyped(schema: dict[str, Any]) -> bool:
    """No schema, or an object/array of objects with no named model behind it."""
    if "$ref" in schema:
        return False
    choices = schema.get("anyOf") or schema.get("oneOf")
    if choices:  # a union of shapes (a board is rates or a bulletin): each one named
        return any(_untyped(choice) for choice in choices)
    if schema.get("type") == "array":
        return _untyped(schema.get("items") or {})
    return schema.get("type") in ("object", None) and "properties" not in schema


def json_routes_without_a_schema(openapi: dict[str, Any]) -> set[str]:
    found = set()
    for path, operations in openapi["paths"].items():
        for method, operation in operations.items():
            for code, answer in operation.get("responses", {}).items():
                body = answer.get("content", {}).get("application/json")
                if not code.startswith("2") or body is None:
                    continue
                schema = body.get("schema")
                # A schema of {} is a route answering something other than JSON (a
                # file, CSV, /metrics) under FastAPI's default content type.
                if schema and _untyped(schema):
                    found.add(f"{method.upper()} {path}")
    return found


def test_json_routes_declare_their_answers_schema(tmp_path: Path) -> None:
    config = make_config(f"sqlite:///{tmp_path / 'lobbyq.db'}", tmp_path / "data")
    openapi = create_app(config).openapi()
    untyped = json_routes_without_a_schema(openapi)
    assert untyped - UNTYPED == set(), "a JSON route without a response_model"
    assert UNTYPED - untyped == set(), "typed now: take it off the UNTYPED list"
    schemas = openapi["components"]["schemas"]
    assert {"CounterPublic", "Names", "TicketOut", "PublicTicket"} <= set(schemas)
