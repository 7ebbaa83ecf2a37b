"""One error type that carries its own status; one handler renders them all as
`{"error": {"code", "message"}}` (API.md)."""

from __future__ import annotations


class LobbyQError(Exception):
    status_code = 400
    code = "bad_request"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code


class InvalidInput(LobbyQError):
    status_code = 422
    code = "invalid_input"


class NotAuthenticated(LobbyQError):
    status_code = 401
    code = "not_authenticated"


class Forbidden(LobbyQError):
    status_code = 403
    code = "forbidden"


class NotFound(LobbyQError):
    status_code = 404
    code = "not_found"


class Conflict(LobbyQError):
    status_code = 409
    code = "conflict"


class TooMany(LobbyQError):
    status_code = 429
    code = "too_many_requests"


class QueueEmpty(LobbyQError):
    """Nothing waits for this counter: 204, no body."""

    status_code = 204
    code = "queue_empty"
