"""The shapes the customer module's routes answer (appointments, feedback): OpenAPI
shows them, and a field the dicts carry but a model lacks fails the tests (Wire:
extra="forbid") instead of vanishing from the wire."""

from __future__ import annotations

from server.public import Wire


class AppointmentOut(Wire):
    code: str
    service: str
    at: str
    customer_ref: str
    customer_name: str
    status: str
    ticket_id: int | None


class ImportedRow(AppointmentOut):
    row: int


class RejectedRow(Wire):
    row: int
    reason: str
    code: str | None = None


class ImportReportOut(Wire):
    accepted: int
    rejected: int
    appointments: list[ImportedRow]
    errors: list[RejectedRow]


class FeedbackOut(Wire):
    number: str
    rating: int | None
    comment: str | None
