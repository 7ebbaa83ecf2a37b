"""Routes of this package; `install` plugs its parts into the store."""

from __future__ import annotations

from fastapi import APIRouter

from server.store import Store

router = APIRouter()


def install(store: Store) -> None:
    del store


async def startup(store: Store) -> None:
    del store


async def shutdown(store: Store) -> None:
    del store
