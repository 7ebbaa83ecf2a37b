"""One printer's settings, parsed from the plain mapping of a `[[branches.printers]]` table."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from enum import StrEnum
from typing import Any

from escpos.capabilities import get_profile

from printers.escpos_render import ChineseMode, RenderOptions

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
    chinese_mode: ChineseMode = ChineseMode.RASTER
    timeout_s: float = 3.0
    # Ask DLE EOT before and after each job. Turn off only for write-only printers that never
    # answer: they can then print, but a dead one is noticed only when the connection fails.
    status_check: bool = True

    @property
    def render_options(self) -> RenderOptions:
        return RenderOptions(chinese_mode=self.chinese_mode, profile=self.profile)

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
                chinese_mode=ChineseMode(_str(raw, "chinese_mode") or ChineseMode.RASTER),
                timeout_s=_float(raw, "timeout_s", 3.0),
                status_check=_bool(raw, "status_check", True),
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
            get_profile(self.profile)
        except KeyError:
            raise _error(self.id, f"unknown python-escpos profile {self.profile!r}") from None


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
