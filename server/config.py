"""The config file: TOML validated by pydantic. A bad config stops start-up with a
message naming the key and why (see `load_config`)."""

from __future__ import annotations

import csv
import ipaddress
import re
import tomllib
from datetime import date, time
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from printers.escpos_render import RenderOptions
from server.keys import weak_key_reason

CODE = r"^[A-Za-z0-9_-]{1,32}$"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class ConfigError(Exception):
    """Raised with a message that names the offending key."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Name(Strict):
    zh: str = Field(min_length=1, max_length=100)
    en: str = Field(min_length=1, max_length=100)

    def get(self, lang: str) -> str:
        return self.en if lang == "en" else self.zh


def parse_hhmm(value: str) -> time:
    if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", value):
        raise ValueError(f"{value!r} is not a time of day HH:MM")
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


def parse_span(value: str) -> tuple[time, time] | None:
    """'09:00-17:00' -> (09:00, 17:00); '' or 'closed' -> None."""
    value = value.strip()
    if value in ("", "closed"):
        return None
    start, sep, end = value.partition("-")
    if not sep:
        raise ValueError(f"{value!r} is not a span HH:MM-HH:MM (or 'closed')")
    opens, closes = parse_hhmm(start.strip()), parse_hhmm(end.strip())
    if closes <= opens:
        raise ValueError(f"{value!r} closes before it opens")
    return opens, closes


class ServerSettings(Strict):
    database_url: str = "sqlite:///data/lobbyq.db"
    redis_url: str = ""
    # Empty or the demo's value: a random key is generated in data_dir (server/keys.py).
    secret_key: str = ""
    data_dir: str = "data"
    base_url: str = ""  # public address used in QR codes; empty: taken from the request
    token_ttl_hours: float = Field(default=12, gt=0)
    login_attempts_per_minute: int = Field(default=10, ge=1)
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)
    # Security (docs/security.md): failed logins per address across all accounts per
    # minute; proxies (IPs or networks) whose X-Forwarded-For/-Proto are believed; host
    # names absolute addresses may use when base_url is empty.
    login_failures_per_address_per_minute: int = Field(default=30, ge=1)
    trusted_proxies: list[str] = []
    allowed_hosts: list[str] = []
    # Public booking and opinion routes: requests per minute per client address.
    public_requests_per_minute: int = Field(default=30, ge=1)

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if not value.startswith(("sqlite://", "postgresql")):
            raise ValueError("must start with sqlite:/// or postgresql+psycopg://")
        return value

    @field_validator("secret_key")
    @classmethod
    def _strong_key(cls, value: str) -> str:
        reason = weak_key_reason(value)
        if reason:
            raise ValueError(reason)
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for entry in value:
            ipaddress.ip_network(entry, strict=False)  # ValueError names the bad entry
        return value

    @field_validator("redis_url")
    @classmethod
    def _known_redis(cls, value: str) -> str:
        if value and not value.startswith(("redis://", "rediss://", "memory://")):
            raise ValueError("must be empty, memory:// or redis://host:port/db")
        return value


class UserSettings(Strict):
    username: str = Field(pattern=CODE)
    # Empty: a random password is generated at first start and written to
    # <data_dir>/initial-passwords.txt, so no default password exists anywhere.
    password: str = ""
    role: Literal["teller", "lobby", "manager", "admin", "regional"] = "teller"
    display_name: str = Field(default="", max_length=50)
    staff_no: str = Field(default="", pattern=r"^[A-Za-z0-9-]{0,16}$")  # on the sign and the pad
    branches: list[str] = Field(default_factory=list)  # regional: its branches ("*": all)

    @field_validator("password")
    @classmethod
    def _not_weak(cls, value: str) -> str:
        if value and len(value) < 8:
            raise ValueError("must be at least 8 characters (or empty to generate one)")
        return value


class ServiceSettings(Strict):
    code: str = Field(pattern=CODE)
    prefix: str = Field(pattern=r"^[A-Z]{1,2}$")
    name: Name
    target_wait_min: float = Field(default=15, gt=0)
    open: bool = True
    last_ticket: str = ""  # HH:MM, no new ticket after it
    service_time_min: float = Field(default=5, gt=0)  # first estimate before anyone is served

    # Parsed once at load (a validator below); the rules read these, never the string.
    _last_ticket_at: time | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _hhmm(self) -> ServiceSettings:
        self._last_ticket_at = parse_hhmm(self.last_ticket) if self.last_ticket else None
        return self

    @property
    def last_ticket_at(self) -> time | None:
        """No new ticket from this time of day on (None: until closing)."""
        return self._last_ticket_at


class PrioritySettings(Strict):
    code: str = Field(pattern=CODE)
    weight: float = Field(default=1, gt=0, le=100)
    prefix: str = Field(default="", pattern=r"^[A-Z]{0,2}$")
    name: Name | None = None

    def shown_name(self) -> dict[str, str]:
        """{zh, en} as pages, exports and the teller summary show it."""
        return self.name.model_dump() if self.name else {"zh": self.code, "en": self.code}


def default_counter_name(number: str) -> dict[str, str]:
    """A counter without a configured name: "3号窗口" / "Counter 3"."""
    return {"zh": f"{number}号窗口", "en": f"Counter {number}"}


class CounterSettings(Strict):
    number: str = Field(pattern=CODE)
    services: list[str] = Field(min_length=1)
    name: Name | None = None

    def shown_name(self) -> dict[str, str]:
        """{zh, en} as the TV, the voice, pages and exports say it."""
        return self.name.model_dump() if self.name else default_counter_name(self.number)


class KioskSettings(Strict):
    id: str = Field(pattern=CODE)
    token: str = Field(min_length=8)
    printer: str = ""


# What a TV shows beside the queue (the current call always takes the whole screen
# while it is announced): nothing, the rate board and bulletin, the slides, or all.
DisplayLayout = Literal["queue", "queue+board", "queue+slides", "queue+board+slides"]


class DisplaySettings(Strict):
    id: str = Field(pattern=CODE)
    token: str = Field(min_length=8)
    layout: DisplayLayout = "queue"
    slide_seconds: float = Field(default=10, ge=3, le=600)


class CounterDeviceSettings(Strict):
    """A counter's sign above it and its rating pad facing the customer share a token."""

    id: str = Field(pattern=CODE)
    counter: str = Field(pattern=CODE)
    token: str = Field(min_length=8)


class PrinterSettings(Strict):
    id: str = Field(pattern=CODE)
    driver: Literal["network", "usb", "serial", "file", "dummy"] = "dummy"
    host: str = "127.0.0.1"
    port: int = Field(default=9100, ge=1, le=65535)
    device: str = "/dev/usb/lp0"
    vendor_id: int = 0
    product_id: int = 0
    serial_port: str = "/dev/ttyS0"
    baudrate: int = 19200
    profile: str = "TM-T88V"
    # None: gb18030 if the profile's model has a Chinese font, else raster (printers/README.md)
    chinese_mode: Literal["gb18030", "raster"] | None = None
    timeout_s: float = Field(default=3, gt=0)
    # false for write-only printers that never answer a status query (printers/README.md)
    status_check: bool = True
    width_dots: int | None = None  # paper width; None: the profile's
    columns: int | None = None
    chinese_charset: Literal["gb18030", "gbk"] = "gb18030"
    chinese_code_system: int | None = Field(default=None, ge=0, le=255)  # FS C n

    @model_validator(mode="after")
    def _paper(self) -> PrinterSettings:
        # printers/ owns the rules of its keys: a wrong width fails the load, not the first ticket.
        RenderOptions(profile=self.profile, width_dots=self.width_dots, columns=self.columns)
        return self


class VoiceSettings(Strict):
    languages: list[Literal["zh", "en"]] = ["zh", "en"]
    repeat: int = Field(default=1, ge=1, le=5)
    # Folder of recorded clips with a manifest.toml, relative to the config file's folder;
    # "" = espeak-ng only (lobby_display/README.md, "Voice packs")
    pack: str = ""
    templates: dict[str, str] = {
        "zh": "请{number}号到{counter}号窗口办理",
        "en": "Number {number}, please go to counter {counter}",
    }

    @model_validator(mode="after")
    def _template_per_language(self) -> VoiceSettings:
        for lang in self.languages:
            if lang not in self.templates:
                raise ValueError(f"templates has no entry for language {lang!r}")
        return self


class VipCustomer(Strict):
    ref: str = Field(min_length=1, max_length=64)
    level: str = "vip"
    name: str = ""


class HoursSettings(Strict):
    """Opening hours per weekday ('09:00-17:00' or 'closed'), holidays, and special
    days (a working weekend, 调休) that override the weekday."""

    mon: str = ""
    tue: str = ""
    wed: str = ""
    thu: str = ""
    fri: str = ""
    sat: str = ""
    sun: str = ""
    holidays: list[date] = []
    special_days: dict[str, str] = {}

    # Parsed once at load: the span of each weekday (Monday first) and special day.
    _weekly: tuple[tuple[time, time] | None, ...] = PrivateAttr(default=())
    _special: dict[date, tuple[time, time] | None] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _spans(self) -> HoursSettings:
        self._weekly = tuple(parse_span(getattr(self, day)) for day in WEEKDAYS)
        self._special = {
            date.fromisoformat(key): parse_span(span) for key, span in self.special_days.items()
        }
        return self

    def span_for(self, day: date) -> tuple[time, time] | None:
        if day in self._special:
            return self._special[day]
        if day in self.holidays:
            return None
        return self._weekly[day.weekday()]


class BookingSettings(Strict):
    """[branches.booking]: online bookings (server/customer/booking.py)."""

    days_ahead: int = Field(default=7, ge=0, le=90)
    slot_min: int = Field(default=30, ge=5, le=240)
    capacity: dict[str, int] = {}  # bookings per slot per service; absent: not bookable
    per_phone_per_day: int = Field(default=2, ge=1, le=20)
    hours: str = "09:00-17:00"  # bookable hours when the branch has no [branches.hours]
    reminder_min: int = Field(default=60, ge=0, le=24 * 60)  # webhook N min before; 0: none
    retention_days: int = Field(default=180, ge=1)

    @field_validator("capacity")
    @classmethod
    def _positive(cls, value: dict[str, int]) -> dict[str, int]:
        for code, places in value.items():
            if not 0 <= places <= 1000:
                raise ValueError(f"capacity of {code!r} must be 0-1000")
        return value

    # Parsed once at load, like the opening hours: the slots read this, never the string.
    _hours_span: tuple[time, time] | None = PrivateAttr(default=None)

    @field_validator("hours")
    @classmethod
    def _span(cls, value: str) -> str:
        parse_span(value)
        return value

    @model_validator(mode="after")
    def _parsed(self) -> BookingSettings:
        self._hours_span = parse_span(self.hours)
        return self

    @property
    def hours_span(self) -> tuple[time, time] | None:
        """The bookable hours as times (None: 'closed')."""
        return self._hours_span


class OpinionSettings(Strict):
    """[branches.opinions]: the opinion book (server/customer/opinions.py)."""

    reply_business_days: int = Field(default=2, ge=1, le=60)
    retention_days: int = Field(default=180, ge=1)


class BranchSettings(Strict):
    code: str = Field(pattern=CODE)
    name: Name
    timezone: str = "Asia/Shanghai"
    reset_time: str = "00:00"
    ordering: Literal["weighted", "strict"] = "weighted"
    max_consecutive_priority: int = Field(default=3, ge=0)
    hours: HoursSettings | None = None  # None: always open
    appointment_early_min: float = Field(default=15, ge=0)
    appointment_late_min: float = Field(default=10, ge=0)
    no_show_grace_min: float = Field(default=10, ge=0)
    recalls_before_no_show: int = Field(default=0, ge=0)
    service_time_window: int = Field(default=20, ge=1)  # completed tickets in the rolling mean
    notice: Name | None = None
    ticket_footer: Name | None = None
    ratings_enabled: bool = True
    webhook_url: str = ""
    webhook_places_before: int = Field(default=3, ge=1)
    services: list[ServiceSettings] = Field(min_length=1)
    priorities: list[PrioritySettings] = []
    counters: list[CounterSettings] = []
    kiosks: list[KioskSettings] = []
    displays: list[DisplaySettings] = []
    counter_devices: list[CounterDeviceSettings] = []
    printers: list[PrinterSettings] = []
    voice: VoiceSettings = VoiceSettings()
    vip_customers: list[VipCustomer] = []
    vip_customers_file: str = ""
    booking: BookingSettings | None = None  # None: no online booking
    opinions: OpinionSettings = OpinionSettings()

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown timezone {value!r}") from exc
        return value

    _reset_at: time = PrivateAttr(default=time(0))

    @field_validator("reset_time")
    @classmethod
    def _reset(cls, value: str) -> str:
        parse_hhmm(value)
        return value

    @property
    def reset_at(self) -> time:
        """When the business day begins, local time (parsed once at load)."""
        return self._reset_at

    @model_validator(mode="after")
    def _references(self) -> BranchSettings:
        self._reset_at = parse_hhmm(self.reset_time)
        _unique("services", [s.code for s in self.services])
        _unique("services prefix", [s.prefix for s in self.services])
        _unique("priorities", [p.code for p in self.priorities])
        _unique("counters", [c.number for c in self.counters])
        _unique("kiosks", [k.id for k in self.kiosks])
        _unique("displays", [d.id for d in self.displays])
        _unique("printers", [p.id for p in self.printers])
        _unique("counter_devices", [d.id for d in self.counter_devices])
        for device in self.counter_devices:
            if self.counter(device.counter) is None:
                raise ValueError(
                    f"counter device {device.id} is for unknown counter {device.counter!r}"
                )
        services = {s.code for s in self.services}
        for counter in self.counters:
            for code in counter.services:
                if code not in services:
                    raise ValueError(f"counter {counter.number} serves unknown service {code!r}")
        printers = {p.id for p in self.printers}
        for kiosk in self.kiosks:
            if kiosk.printer and kiosk.printer not in printers:
                raise ValueError(f"kiosk {kiosk.id} uses unknown printer {kiosk.printer!r}")
        for code in self.booking.capacity if self.booking else {}:
            if code not in services:
                raise ValueError(f"booking.capacity names unknown service {code!r}")
        return self

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def all_priorities(self) -> list[PrioritySettings]:
        """'normal' (weight 1) always exists, first."""
        listed = [p for p in self.priorities if p.code != "normal"]
        normal = next((p for p in self.priorities if p.code == "normal"), None)
        normal = normal or PrioritySettings(
            code="normal", weight=1, name=Name(zh="普通", en="Normal")
        )
        return [normal, *listed]

    def service(self, code: str) -> ServiceSettings | None:
        return next((s for s in self.services if s.code == code), None)

    def counter(self, number: str) -> CounterSettings | None:
        return next((c for c in self.counters if c.number == number), None)

    def priority(self, code: str) -> PrioritySettings | None:
        return next((p for p in self.all_priorities() if p.code == code), None)

    def counter_name(self, number: str) -> dict[str, str]:
        """A counter's shown {zh, en} name, also for one no longer configured."""
        counter = self.counter(number)
        return counter.shown_name() if counter else default_counter_name(number)


class AppConfig(Strict):
    server: ServerSettings = ServerSettings()
    users: list[UserSettings] = []
    branches: list[BranchSettings] = Field(min_length=1)
    source: str = ""  # the file it was read from, for messages

    @model_validator(mode="after")
    def _unique_branches(self) -> AppConfig:
        _unique("branches", [b.code for b in self.branches])
        _unique("users", [u.username for u in self.users])
        tokens = [k.token for b in self.branches for k in b.kiosks]
        tokens += [d.token for b in self.branches for d in b.displays]
        tokens += [d.token for b in self.branches for d in b.counter_devices]
        _unique("device tokens", tokens)
        known = {b.code for b in self.branches} | {"*"}
        for user in self.users:
            if unknown := [code for code in user.branches if code not in known]:
                raise ValueError(f"users.{user.username}.branches: unknown branch {unknown[0]!r}")
        return self

    def branch(self, code: str) -> BranchSettings | None:
        return next((b for b in self.branches if b.code == code), None)

    @property
    def data_path(self) -> Path:
        return Path(self.server.data_dir)


def _unique(what: str, values: list[str]) -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise ValueError(f"{what}: {value!r} appears twice")
        seen.add(value)


def _describe(exc: ValidationError, source: str) -> str:
    lines = [f"invalid config {source}:"]
    for error in exc.errors():
        key = ".".join(str(part) for part in error["loc"]) or "(top level)"
        lines.append(f"  {key}: {error['msg']}")
    return "\n".join(lines)


def _load_vip_file(branch: dict[str, object], base: Path) -> None:
    name = branch.get("vip_customers_file")
    if not isinstance(name, str) or not name:
        return
    path = (base / name) if not Path(name).is_absolute() else Path(name)
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            rows = [dict(row) for row in csv.DictReader(handle)]
    except OSError as exc:
        raise ConfigError(f"branches.vip_customers_file: cannot read {path}: {exc}") from exc
    existing = branch.get("vip_customers")
    listed = list(existing) if isinstance(existing, list) else []
    branch["vip_customers"] = listed + [
        {k: v for k, v in row.items() if k in ("ref", "level", "name") and v} for row in rows
    ]


def parse_config(
    data: dict[str, object], *, source: str = "<config>", base: Path | None = None
) -> AppConfig:
    branches = data.get("branches")
    if isinstance(branches, list):
        for branch in branches:
            if isinstance(branch, dict):
                _load_vip_file(branch, base or Path("."))
    try:
        return AppConfig.model_validate({**data, "source": source})
    except ValidationError as exc:
        raise ConfigError(_describe(exc, source)) from exc


def load_config(path: str | Path) -> AppConfig:
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read config {path}: {exc.strerror}") from exc
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config {path} is not valid TOML: {exc}") from exc
    return parse_config(data, source=str(path), base=path.parent)


def demo_config_path() -> Path:
    """The demo config is config.example.toml at the top of the source tree."""
    return Path(__file__).resolve().parent.parent / "config.example.toml"
