"""Paper geometry and what a printer model can do, from its profile and the printer's config.

python-escpos profiles know the paper width, the fonts and whether there is a cutter, but not
whether the printer has a Chinese font, and they have no entry for the Chinese printers most
branches buy. `MODELS` adds those; any other python-escpos profile name is read as-is and
assumed to have no Chinese font. A `width_dots` / `columns` key in the printer's config wins
over the profile: the same model is sold with 58 and 80 mm mechanisms.

Geometry is in printer dots and Font A columns (12 x 24 dots): 384 dots = 32 columns (58 mm),
512 dots = 42 columns (Epson TM-T88, 80 mm paper at 180 dpi), 576 dots = 48 columns (80 mm
paper at 203 dpi: Xprinter, Gprinter, TM-T20).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from escpos.capabilities import get_profile

from printers.draw import CELL_W

__all__ = ["MODELS", "Paper", "PaperError", "PrinterModel", "model_for", "paper_for"]

MIN_COLUMNS = 16  # narrower than any receipt printer; a ticket line would not fit its labels
MAX_DOTS = 1024  # wider than any 112 mm printer (832 dots at 203 dpi)


class PaperError(ValueError):
    """The configured width cannot be printed on (too narrow, inconsistent keys)."""


@dataclass(frozen=True, slots=True)
class PrinterModel:
    """A printer model as LobbyQ needs to know it; `profile` is the config's value."""

    profile: str
    escpos_profile: str  # python-escpos profile that describes its commands
    width_dots: int
    chinese_font: bool  # a built-in GB font reachable with FS & (chinese_mode = "gb18030")
    cutter: bool  # an auto-cutter (GS V); without one the ticket is torn off
    note: str = ""
    columns: int | None = None  # Font A columns where the profile says fewer than fit

    @property
    def default_columns(self) -> int:
        fitting = self.width_dots // CELL_W
        return min(self.columns, fitting) if self.columns else fitting


# Only models whose geometry and Chinese font are documented by their makers. Xprinter and
# Gprinter ship GBK (older firmware) or GB18030 fonts and power on in Chinese mode; Epson's
# Simplified Chinese TM-T88 models carry GB18030 (ANK + Kanji) and are sold under the same
# model name as the international ones, hence the -CN names.
MODELS: dict[str, PrinterModel] = {
    m.profile: m
    for m in (
        PrinterModel("TM-T88V-CN", "TM-T88V", 512, True, True, "Epson TM-T88V/VI China model"),
        PrinterModel("XP-80", "default", 576, True, True, "Xprinter XP-80C, XP-Q80, XP-Q200"),
        PrinterModel("XP-58", "default", 384, True, False, "Xprinter XP-58IIH, XP-58IIL"),
        PrinterModel("GP-80", "default", 576, True, True, "Gprinter GP-80250, GP-L80250"),
        PrinterModel("GP-58", "default", 384, True, False, "Gprinter GP-5890X, GP-58L"),
    )
}


@dataclass(frozen=True, slots=True)
class Paper:
    columns: int  # Font A columns at size 1
    width_px: int  # printable dots per line, a multiple of 8 (raster rows are whole bytes)
    cutter: bool = True
    tear_feed_lines: int = 0  # without a cutter: lines fed so the last line clears the tear bar


def model_for(profile: str) -> PrinterModel:
    """The model named `profile`: one of `MODELS` or any python-escpos profile."""
    if profile in MODELS:
        return MODELS[profile]
    try:
        escpos = get_profile(profile)
    except KeyError:
        known = sorted({*MODELS, *_escpos_profile_names()})
        raise PaperError(f"unknown printer profile {profile!r}; known: {known}") from None
    return PrinterModel(
        profile=profile,
        escpos_profile=profile,
        width_dots=_profile_width(escpos),
        chinese_font=False,
        cutter=escpos.supports("paperFullCut") or escpos.supports("paperPartCut"),
        columns=int(escpos.profile_data.get("fonts", {}).get("0", {}).get("columns", 0)) or None,
    )


# On a printer without a cutter the tear bar sits about 12 mm above the print line: four
# 30-dot lines at 203 dpi. With a cutter the printer itself feeds to the blade (GS V 65 0).
_TEAR_FEED_LINES = 4


def paper_for(profile: str, width_dots: int | None = None, columns: int | None = None) -> Paper:
    """The paper a printer prints on: the config's keys first, then the profile."""
    model = model_for(profile)
    if width_dots is not None and not 8 * MIN_COLUMNS <= width_dots <= MAX_DOTS:
        raise PaperError(f"width_dots {width_dots} is outside {8 * MIN_COLUMNS}..{MAX_DOTS}")
    if columns is not None and not MIN_COLUMNS <= columns <= MAX_DOTS // CELL_W:
        raise PaperError(f"columns {columns} is outside {MIN_COLUMNS}..{MAX_DOTS // CELL_W}")
    if width_dots is None:
        width_dots = model.width_dots if columns is None else columns * CELL_W
        columns = model.default_columns if columns is None else columns
    width_px = width_dots - width_dots % 8
    fitting = width_px // CELL_W
    if columns is None:
        columns = fitting
    elif columns > fitting:
        raise PaperError(
            f"columns {columns} do not fit {width_px} dots (at most {fitting} of {CELL_W} dots)"
        )
    if columns < MIN_COLUMNS:
        raise PaperError(f"{width_px} dots give {columns} columns; at least {MIN_COLUMNS} needed")
    return Paper(
        columns=columns,
        width_px=width_px,
        cutter=model.cutter,
        tear_feed_lines=0 if model.cutter else _TEAR_FEED_LINES,
    )


def _profile_width(escpos: Any) -> int:
    data = escpos.profile_data
    pixels = data.get("media", {}).get("width", {}).get("pixels")
    if isinstance(pixels, int | str) and str(pixels).isdigit() and int(pixels) >= 8 * MIN_COLUMNS:
        return int(pixels)
    # "Unknown" in the profile: the width its Font A columns take.
    return int(data.get("fonts", {}).get("0", {}).get("columns", 42)) * CELL_W


def _escpos_profile_names() -> list[str]:
    from escpos.capabilities import CAPABILITIES

    return list(CAPABILITIES["profiles"])
