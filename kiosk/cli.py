"""Commands of this package, added to `lobbyq`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import typer


def register(app: typer.Typer, read_config: Callable[..., Any]) -> None:
    del app, read_config
