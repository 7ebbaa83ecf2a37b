"""A small ESC/POS decoder for tests: bytes in, a list of typed operations out.

It knows the commands LobbyQ's renderer and python-escpos emit and fails loudly on anything
else, so an unexpected byte in a job is a test failure, not a silent pass. Text is decoded as
GB18030 between `FS &` and `FS .` (the printer's Chinese mode) and as ASCII elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image, ImageOps

ESC, GS, FS, DLE = 0x1B, 0x1D, 0x1C, 0x10
LF, CR = 0x0A, 0x0D


class DecodeError(ValueError):
    pass


@dataclass(frozen=True)
class Init:
    pass


@dataclass(frozen=True)
class Align:
    value: int  # 0 left, 1 centre, 2 right


@dataclass(frozen=True)
class PrintMode:
    value: int  # ESC ! n


@dataclass(frozen=True)
class CharSize:
    width: int
    height: int


@dataclass(frozen=True)
class Bold:
    on: bool


@dataclass(frozen=True)
class CodePage:
    value: int


@dataclass(frozen=True)
class LineSpacing:
    dots: int | None  # None: default


@dataclass(frozen=True)
class FeedLines:
    lines: int


@dataclass(frozen=True)
class LineFeed:
    pass


@dataclass(frozen=True)
class Text:
    text: str
    chinese: bool  # printed in the printer's Chinese (FS &) mode


@dataclass(frozen=True)
class Raster:
    image: Image.Image  # 'L', black ink on white
    density: int

    @property
    def width(self) -> int:
        return self.image.width

    @property
    def height(self) -> int:
        return self.image.height


@dataclass(frozen=True)
class QrSetting:
    function: int  # 65 model, 67 module size, 69 error correction
    value: bytes


@dataclass(frozen=True)
class QrStore:
    data: str


@dataclass(frozen=True)
class QrPrint:
    pass


@dataclass(frozen=True)
class Cut:
    mode: int
    feed: int | None = None  # GS V 65/66 n: n motion units past the cutting position


@dataclass(frozen=True)
class CodeSystem:
    n: int  # FS C n: the printer's Chinese character code system


@dataclass(frozen=True)
class StatusQuery:
    n: int


Op = (
    Init
    | Align
    | PrintMode
    | CharSize
    | Bold
    | CodePage
    | LineSpacing
    | FeedLines
    | LineFeed
    | Text
    | Raster
    | QrSetting
    | QrStore
    | QrPrint
    | Cut
    | CodeSystem
    | StatusQuery
)


def decode(data: bytes) -> list[Op]:
    return _Decoder(data).run()


class _Decoder:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.i = 0
        self.ops: list[Op] = []
        self.chinese = False
        self.text = bytearray()

    def run(self) -> list[Op]:
        while self.i < len(self.data):
            byte = self.data[self.i]
            if byte >= 0x20 and byte != 0x7F:
                self.text.append(byte)
                self.i += 1
                continue
            self._flush_text()
            self.i += 1
            if byte == LF:
                self.ops.append(LineFeed())
            elif byte == CR:
                pass
            elif byte == ESC:
                self._esc()
            elif byte == GS:
                self._gs()
            elif byte == FS:
                self._fs()
            elif byte == DLE:
                self._dle()
            else:
                raise DecodeError(f"unexpected control byte {byte:#04x} at {self.i - 1}")
        self._flush_text()
        return self.ops

    def _take(self, n: int) -> bytes:
        if self.i + n > len(self.data):
            raise DecodeError(f"truncated command at {self.i}")
        chunk = self.data[self.i : self.i + n]
        self.i += n
        return chunk

    def _flush_text(self) -> None:
        if self.text:
            raw = bytes(self.text)
            try:
                text = raw.decode("gb18030") if self.chinese else raw.decode("ascii")
            except UnicodeDecodeError as exc:
                raise DecodeError(f"bad text bytes {raw!r}: {exc}") from exc
            self.ops.append(Text(text, self.chinese))
            self.text.clear()

    def _esc(self) -> None:
        cmd = self._take(1)[0]
        if cmd == ord("@"):
            self.chinese = False
            self.ops.append(Init())
        elif cmd == ord("a"):
            self.ops.append(Align(self._take(1)[0] % 48))
        elif cmd == ord("!"):
            self.ops.append(PrintMode(self._take(1)[0]))
        elif cmd == ord("E"):
            self.ops.append(Bold(bool(self._take(1)[0] & 1)))
        elif cmd == ord("t"):
            self.ops.append(CodePage(self._take(1)[0]))
        elif cmd == ord("d"):
            self.ops.append(FeedLines(self._take(1)[0]))
        elif cmd == ord("2"):
            self.ops.append(LineSpacing(None))
        elif cmd == ord("3"):
            self.ops.append(LineSpacing(self._take(1)[0]))
        else:
            raise DecodeError(f"unknown ESC {cmd:#04x} at {self.i - 2}")

    def _gs(self) -> None:
        cmd = self._take(1)[0]
        if cmd == ord("!"):
            n = self._take(1)[0]
            self.ops.append(CharSize(width=(n >> 4) + 1, height=(n & 0x0F) + 1))
        elif cmd == ord("v"):
            self._raster()
        elif cmd == ord("("):
            self._gs_paren()
        elif cmd == ord("V"):
            mode = self._take(1)[0]
            feed = None
            if mode in (65, 66, 97, 98, 103, 104):
                feed = self._take(1)[0]  # feed amount past the cutting position
            elif mode not in (0, 1, 48, 49):
                raise DecodeError(f"unknown cut mode {mode}")
            self.ops.append(Cut(mode, feed))
        else:
            raise DecodeError(f"unknown GS {cmd:#04x} at {self.i - 2}")

    def _raster(self) -> None:
        if self._take(1) != b"0":
            raise DecodeError("only GS v 0 raster images are known")
        density = self._take(1)[0]
        x_bytes = int.from_bytes(self._take(2), "little")
        height = int.from_bytes(self._take(2), "little")
        bits = self._take(x_bytes * height)
        # In ESC/POS a set bit is a printed dot; in Pillow's '1' mode a set bit is white.
        image = ImageOps.invert(Image.frombytes("1", (x_bytes * 8, height), bits).convert("L"))
        self.ops.append(Raster(image, density))

    def _gs_paren(self) -> None:
        function_set = self._take(1)[0]
        length = int.from_bytes(self._take(2), "little")
        body = self._take(length)
        if function_set != ord("k"):
            raise DecodeError(f"unknown GS ( {chr(function_set)}")
        cn, fn, rest = body[0], body[1], body[2:]
        if cn != ord("1"):
            raise DecodeError(f"2D code type {cn} is not QR")
        if fn == 80:  # store: m = '0', then the data
            self.ops.append(QrStore(rest[1:].decode("utf-8")))
        elif fn == 81:
            self.ops.append(QrPrint())
        else:
            self.ops.append(QrSetting(fn, bytes(rest)))

    def _fs(self) -> None:
        cmd = self._take(1)[0]
        if cmd == ord("&"):
            self.chinese = True
        elif cmd == ord("."):
            self.chinese = False
        elif cmd == ord("C"):
            self.ops.append(CodeSystem(self._take(1)[0]))
        else:
            raise DecodeError(f"unknown FS {cmd:#04x} at {self.i - 2}")

    def _dle(self) -> None:
        if self._take(1)[0] != 0x04:
            raise DecodeError(f"unknown DLE command at {self.i - 2}")
        self.ops.append(StatusQuery(self._take(1)[0]))


# -- views used by the tests ---------------------------------------------------------------


def printed_lines(ops: list[Op]) -> list[str]:
    """Text as it would come out, one string per line feed (images contribute nothing)."""
    lines: list[str] = []
    current = ""
    for op in ops:
        if isinstance(op, Text):
            current += op.text
        elif isinstance(op, LineFeed):
            lines.append(current)
            current = ""
    if current:
        lines.append(current)
    return lines


def chinese_text(ops: list[Op]) -> list[str]:
    return [op.text for op in ops if isinstance(op, Text) and op.chinese]


def rasters(ops: list[Op]) -> list[Raster]:
    return [op for op in ops if isinstance(op, Raster)]


def qr_data(ops: list[Op]) -> list[str]:
    """Data of QR codes actually printed (stored, then printed)."""
    printed: list[str] = []
    stored: str | None = None
    for op in ops:
        if isinstance(op, QrStore):
            stored = op.data
        elif isinstance(op, QrPrint) and stored is not None:
            printed.append(stored)
    return printed


def without_status_queries(ops: list[Op]) -> list[Op]:
    return [op for op in ops if not isinstance(op, StatusQuery)]


CELL_DOTS = 12  # Font A column width


@dataclass(frozen=True)
class PrintedRow:
    text: str
    dots: int  # width on paper: columns (wide characters 2) x 12 x the width magnification
    align: int


def printed_rows(ops: list[Op]) -> list[PrintedRow]:
    """Text rows with the room they take on paper, following GS ! and ESC a."""
    rows: list[PrintedRow] = []
    width, align, current = 1, 0, ""
    for op in ops:
        if isinstance(op, Init):
            width, align = 1, 0
        elif isinstance(op, CharSize):
            width = op.width
        elif isinstance(op, Align):
            align = op.value
        elif isinstance(op, Text):
            current += op.text
        elif isinstance(op, LineFeed):
            if current:
                columns = sum(1 if ord(ch) < 0x80 else 2 for ch in current)
                rows.append(PrintedRow(current, columns * CELL_DOTS * width, align))
            current = ""
    return rows


def blank_lines_before_cut(ops: list[Op]) -> int:
    """Empty lines fed between the last thing printed and the (first) cut or the job's end."""
    blank = 0
    line_has_ink = False
    for op in ops:
        if isinstance(op, Text | Raster | QrPrint):
            blank, line_has_ink = 0, not isinstance(op, Raster)
        elif isinstance(op, LineFeed):
            if line_has_ink:
                line_has_ink = False
            else:
                blank += 1
        elif isinstance(op, FeedLines):
            blank += op.lines
        elif isinstance(op, Cut):
            return blank
    return blank
