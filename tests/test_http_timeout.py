"""The tests' HTTP calls wait as long as conftest says, not httpx's 5 s."""

import inspect

import httpx

from tests.conftest import HTTP_TIMEOUT_S


def test_http_calls_without_a_timeout_of_their_own_wait_long() -> None:
    expected = httpx.Timeout(HTTP_TIMEOUT_S)
    assert httpx.Client().timeout == expected
    assert inspect.signature(httpx.get).parameters["timeout"].default == expected
    assert httpx.Client(timeout=2).timeout == httpx.Timeout(2)  # a test's own still wins
