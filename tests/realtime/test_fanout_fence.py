"""The fence around server/realtime/fanout.py, which subclasses uvicorn's private
sans-I/O WebSocket protocol (docs/fanout.md).

These tests fail the day uvicorn or websockets change what the subclass relies on:
the versions it was checked with, the methods it overrides or calls, the attributes
it reads, and the order in `handle_connect` that lets the extension reach the ASGI
task. When one fails after an upgrade: read docs/fanout.md ("After an upgrade"),
re-check the subclass against the new source, run tests/realtime, then update the
pins here. The behaviour itself (frames written, fallbacks) is tested in
test_realtime_fanout.py."""

from __future__ import annotations

import ast
import inspect
import textwrap
from importlib.metadata import version

import pytest
from uvicorn.protocols.websockets import websockets_sansio_impl
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.server import ServerProtocol

from server.realtime.fanout import FanoutWebSocketProtocol

# The versions the subclass was last read against (and pyproject.toml pins).
CHECKED_WITH = {"uvicorn": "0.54.0", "websockets": "17.4"}

# What FanoutWebSocketProtocol overrides (name -> parameters after self).
OVERRIDDEN: dict[str, list[str]] = {"handle_connect": ["event"], "shutdown": []}
# Parent methods it calls.
CALLED: dict[str, list[str]] = {"stop_keepalive": []}
# Instance attributes of the parent it reads or writes, set in the parent's code.
PARENT_ATTRIBUTES = {
    "handshake_complete",
    "close_sent",
    "disconnected",
    "initial_response",
    "writable",
    "conn",
    "transport",
    "queue",
    "scope",
}
# What it uses of websockets' sans-I/O ServerProtocol (uvicorn's `self.conn`).
CONN_ATTRIBUTES = {"state", "extensions", "expect_continuation_frame"}
CONN_METHODS = {"send_close", "data_to_send"}


def parent_source(name: str) -> ast.FunctionDef:
    function = getattr(WebSocketsSansIOProtocol, name)
    tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    node = tree.body[0]
    assert isinstance(node, ast.FunctionDef)
    return node


def assigned_self_attributes() -> set[str]:
    """Every `self.X = ...` / `self.X: T = ...` anywhere in the parent class."""
    tree = ast.parse(inspect.getsource(websockets_sansio_impl))
    names: set[str] = set()
    for node in ast.walk(tree):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = list(node.targets)
        elif isinstance(node, ast.AnnAssign):
            targets = [node.target]
        for target in targets:
            if (
                isinstance(target, ast.Attribute)
                and isinstance(target.value, ast.Name)
                and target.value.id == "self"
            ):
                names.add(target.attr)
    return names


@pytest.mark.parametrize("package", sorted(CHECKED_WITH))
def test_the_versions_the_subclass_was_checked_with(package: str) -> None:
    assert version(package) == CHECKED_WITH[package], (
        f"{package} is {version(package)}, the fan-out was checked with "
        f"{CHECKED_WITH[package]}: re-check server/realtime/fanout.py (docs/fanout.md)"
    )


def test_it_still_subclasses_the_sansio_protocol() -> None:
    assert FanoutWebSocketProtocol.__mro__[1] is WebSocketsSansIOProtocol


@pytest.mark.parametrize("name", sorted({**OVERRIDDEN, **CALLED}))
def test_the_parent_methods_it_overrides_or_calls(name: str) -> None:
    expected = {**OVERRIDDEN, **CALLED}[name]
    method = getattr(WebSocketsSansIOProtocol, name, None)
    assert callable(method), f"uvicorn's protocol has no {name}()"
    parameters = list(inspect.signature(method).parameters)
    assert parameters == ["self", *expected]


def test_the_parent_attributes_it_reads_are_still_set_by_the_parent() -> None:
    missing = PARENT_ATTRIBUTES - assigned_self_attributes()
    assert not missing, f"uvicorn's protocol no longer sets {sorted(missing)}"


def test_the_scope_and_its_extensions_exist_before_the_asgi_task_starts() -> None:
    """handle_connect adds `lobbyq.frames` to scope["extensions"] after the parent's
    handle_connect returns: that works only if the parent builds the scope with an
    `extensions` dict and merely creates (does not run) the ASGI task."""
    function = parent_source("handle_connect")
    source = ast.unparse(function)
    assert "'extensions':" in source
    scope_at = source.index("self.scope")
    task_at = source.index("self.loop.create_task(self.run_asgi())")
    assert scope_at < task_at
    assert "await" not in source  # synchronous: the task runs after we return


def test_the_parent_shutdown_is_the_one_the_override_replaces() -> None:
    """The override sends 1001 instead of the parent's 1012 through the same steps."""
    source = ast.unparse(parent_source("shutdown"))
    for step in ("self.stop_keepalive()", "send_close(1012)", "data_to_send()", "close()"):
        assert step in source


def test_what_it_uses_of_the_websockets_connection() -> None:
    conn = ServerProtocol()
    for name in CONN_ATTRIBUTES:
        assert hasattr(conn, name), f"websockets' ServerProtocol has no {name}"
    for name in CONN_METHODS:
        assert callable(getattr(conn, name, None)), f"ServerProtocol has no {name}()"
