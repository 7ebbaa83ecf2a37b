"""Routes of this module (mounted at the root: API routes carry /api/v1 themselves);
`install` plugs its parts into the store."""

from __future__ import annotations

from fastapi import APIRouter

from server.store import Store

router = APIRouter(prefix="/api/v1")


def install(store: Store) -> None:
    del store


async def startup(store: Store) -> None:
    del store


async def shutdown(store: Store) -> None:
    del store
