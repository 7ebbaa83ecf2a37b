"""One printer's settings, parsed from the plain mapping of a `[[branches.printers]]` table."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from enum import StrEnum
from typing import Any, TypeVar

from printers.escpos_render import ChineseCharset, ChineseMode, RenderOptions
from printers.paper import PaperError, model_for

__all__ = ["DriverKind", "PRINTER_KEYS", "PrinterConfigError", "PrinterSettings"]


class DriverKind(StrEnum):
    NETWORK = "network"
    USB = "usb"
    SERIAL = "serial"
    FILE = "file"
    DUMMY = "dummy"


class PrinterConfigError(ValueError):
    """A printer table in the config is wrong; the message names the printer and the key."""


@dataclass(frozen=True, slots=True)
class PrinterSettings:
    id: str
    driver: DriverKind
    host: str | None = None
    port: int = 9100
    device: str = "/dev/usb/lp0"
    vendor_id: int | None = None
    product_id: int | None = None
    serial_port: str | None = None
    baudrate: int = 9600
    profile: str = "TM-T88V"
    # None: gb18030 where the profile's model has a Chinese font (printers/paper.py), else raster
    chinese_mode: ChineseMode | None = None
    timeout_s: float = 3.0
    # Ask DLE EOT before and after each job. Turn off only for write-only printers that never
    # answer: they can then print, but a dead one is noticed only when the connection fails.
    status_check: bool = True
    width_dots: int | None = None  # None: the profile's paper width
    columns: int | None = None  # None: as many 12-dot columns as fit
    chinese_charset: ChineseCharset = ChineseCharset.GB18030
    chinese_code_system: int | None = None  # n of FS C n, for firmware that needs it

    @property
    def render_options(self) -> RenderOptions:
        mode = self.chinese_mode
        if mode is None:
            mode = (
                ChineseMode.GB18030 if model_for(self.profile).chinese_font else ChineseMode.RASTER
            )
        return RenderOptions(
            chinese_mode=mode,
            profile=self.profile,
            width_dots=self.width_dots,
            columns=self.columns,
            chinese_charset=self.chinese_charset,
            chinese_code_system=self.chinese_code_system,
        )

    @property
    def escpos_profile(self) -> str:
        """The python-escpos profile for the usb and serial devices."""
        return model_for(self.profile).escpos_profile

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any]) -> PrinterSettings:
        name = str(raw.get("id", "?"))
        unknown = set(raw) - PRINTER_KEYS
        if unknown:
            raise _error(name, f"unknown key(s) {sorted(unknown)}; known: {sorted(PRINTER_KEYS)}")
        try:
            settings = cls(
                id=_required(raw, "id"),
                driver=DriverKind(_required(raw, "driver")),
                host=_str(raw, "host"),
                port=_int(raw, "port", 9100),
                device=_str(raw, "device") or "/dev/usb/lp0",
                vendor_id=_usb_id(raw, "vendor_id"),
                product_id=_usb_id(raw, "product_id"),
                serial_port=_str(raw, "serial_port"),
                baudrate=_int(raw, "baudrate", 9600),
                profile=_str(raw, "profile") or "TM-T88V",
                chinese_mode=_enum(raw, "chinese_mode", ChineseMode),
                timeout_s=_float(raw, "timeout_s", 3.0),
                status_check=_bool(raw, "status_check", True),
                width_dots=_optional_int(raw, "width_dots"),
                columns=_optional_int(raw, "columns"),
                chinese_charset=_enum(raw, "chinese_charset", ChineseCharset)
                or ChineseCharset.GB18030,
                chinese_code_system=_optional_int(raw, "chinese_code_system"),
            )
        except (TypeError, ValueError) as exc:
            raise _error(name, str(exc)) from exc
        settings._check()
        return settings

    def _check(self) -> None:
        if self.driver is DriverKind.NETWORK and not self.host:
            raise _error(self.id, "driver 'network' needs 'host'")
        if self.driver is DriverKind.USB and (self.vendor_id is None or self.product_id is None):
            raise _error(self.id, "driver 'usb' needs 'vendor_id' and 'product_id'")
        if self.driver is DriverKind.SERIAL and not self.serial_port:
            raise _error(self.id, "driver 'serial' needs 'serial_port'")
        if not 0 < self.port < 65536:
            raise _error(self.id, f"port {self.port} is not a TCP port")
        if self.timeout_s <= 0:
            raise _error(self.id, "timeout_s must be > 0")
        try:
            self.render_options  # noqa: B018 - builds the paper: width, columns, profile
        except (PaperError, ValueError) as exc:
            raise _error(self.id, str(exc)) from None


E = TypeVar("E", bound=StrEnum)

PRINTER_KEYS = frozenset(f.name for f in fields(PrinterSettings))


def _error(printer_id: str, message: str) -> PrinterConfigError:
    return PrinterConfigError(f"printer {printer_id!r}: {message}")


def _str(raw: Mapping[str, Any], key: str) -> str | None:
    value = raw.get(key)
    if value is not None and not isinstance(value, str):
        raise TypeError(f"'{key}' must be a string")
    return value


def _required(raw: Mapping[str, Any], key: str) -> str:
    value = _str(raw, key)
    if not value:
        raise ValueError(f"'{key}' is required")
    return value


# A key given as None (an unset field of the caller's own config model) means "the default".


def _int(raw: Mapping[str, Any], key: str, default: int) -> int:
    value = default if raw.get(key) is None else raw[key]
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"'{key}' must be an integer")
    return value


def _optional_int(raw: Mapping[str, Any], key: str) -> int | None:
    return None if raw.get(key) is None else _int(raw, key, 0)


def _enum(raw: Mapping[str, Any], key: str, kind: type[E]) -> E | None:
    value = _str(raw, key)
    if value is None:
        return None
    try:
        return kind(value)
    except ValueError:
        raise ValueError(
            f"'{key}' must be one of {[str(v) for v in kind]}, not {value!r}"
        ) from None


def _float(raw: Mapping[str, Any], key: str, default: float) -> float:
    value = default if raw.get(key) is None else raw[key]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"'{key}' must be a number")
    return float(value)


def _bool(raw: Mapping[str, Any], key: str, default: bool) -> bool:
    value = default if raw.get(key) is None else raw[key]
    if not isinstance(value, bool):
        raise TypeError(f"'{key}' must be true or false")
    return value


def _usb_id(raw: Mapping[str, Any], key: str) -> int | None:
    # USB ids are written in hex everywhere (lsusb: 04b8:0202), so accept "0x04b8" and "04b8".
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, str):
        return int(value.removeprefix("0x").removeprefix("0X"), 16)
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"'{key}' must be an integer or a hex string")
    return value
