"""Request and response bodies of the v1 API."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from server.public import CounterPublic

CODE = r"^[A-Za-z0-9_-]{1,32}$"


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LoginIn(Body):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class LoginOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    role: str
    username: str
    expires_in: int


class TicketCreate(Body):
    service: str = Field(pattern=CODE)
    priority: str = Field(default="normal", pattern=CODE)
    customer_ref: str | None = Field(default=None, min_length=1, max_length=64)
    appointment_code: str | None = Field(default=None, min_length=1, max_length=32)
    lang: Literal["zh", "en"] = "zh"
    print: bool = True


class TicketOut(BaseModel):
    id: int
    token: str
    number: str
    service: str
    priority: str
    status: str
    issued_at: str
    enqueued_at: str
    called_at: str | None
    counter: str | None
    position: int | None
    estimated_wait_s: int | None
    estimated_wait_range_s: list[int] | None = None
    track_url: str
    notice: str | None = None
    service_name: dict[str, str] | None = None
    print: dict[str, Any] | None = None


class CounterOut(BaseModel):
    """A counter's answer to open, pause, resume and close."""

    counter: CounterPublic


class PublicTicket(BaseModel):
    number: str
    service: str
    service_name: dict[str, str]
    status: str
    position: int | None
    estimated_wait_s: int | None
    estimated_wait_range_s: list[int] | None = None
    counter: str | None
    counter_name: dict[str, str] | None = None
    issued_at: str
    called_at: str | None
    rating: int | None = None


class CallNumberIn(Body):
    number: str = Field(min_length=1, max_length=16, pattern=r"^[A-Za-z0-9]+$")


class CompleteIn(Body):
    rating: int | None = Field(default=None, ge=1, le=5)


class TransferIn(Body):
    service: str | None = Field(default=None, pattern=CODE)
    counter: str | None = Field(default=None, pattern=CODE)
    keep_place: bool = True


class NoticeIn(Body):
    zh: str = Field(default="", max_length=500)
    en: str = Field(default="", max_length=500)


class ServiceStateIn(Body):
    open: bool
