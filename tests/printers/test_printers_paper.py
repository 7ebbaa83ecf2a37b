"""The ticket fills the paper the printer has: 58 mm (384 dots), 80 mm at 180 dpi (512) and
80 mm at 203 dpi (576); the Chinese code options; the feed before the cut. Every job is
checked by decoding it with tests/printers/escpos_decode.py."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import zxingcpp
from escpos_decode import (
    CodeSystem,
    Cut,
    Init,
    LineFeed,
    QrPrint,
    Raster,
    Text,
    blank_lines_before_cut,
    chinese_text,
    decode,
    printed_rows,
    qr_data,
    rasters,
)
from PIL import Image
from printer_fakes import make_ticket

from printers.escpos_render import ChineseCharset, ChineseMode, RenderOptions, render_ticket
from printers.paper import MODELS, PaperError, paper_for
from printers.preview import preview_png
from printers.settings import PrinterConfigError, PrinterSettings

# (profile, width_dots, columns) as configured -> (dots, columns) printed
PAPERS = [
    pytest.param("POS-5890", None, None, 384, 32, id="58mm-profile"),
    pytest.param("TM-T88V", 384, None, 384, 32, id="58mm-width_dots"),
    pytest.param("TM-T88V", None, None, 512, 42, id="80mm-TM-T88V"),
    pytest.param("TM-T88V", None, 42, 504, 42, id="80mm-columns"),
    pytest.param("XP-80", None, None, 576, 48, id="80mm-576-profile"),
    pytest.param("TM-T88V", 576, None, 576, 48, id="80mm-576-width_dots"),
    pytest.param("default", None, 48, 576, 48, id="80mm-576-columns"),
]

# Long enough to wrap on any paper: wrapping must use the whole line, not 42 columns.
LONG_FOOTER = "Please listen for your number and have your ID card ready at the counter"


def options(profile: str, width: int | None, columns: int | None, mode: str) -> RenderOptions:
    return RenderOptions(
        chinese_mode=ChineseMode(mode), profile=profile, width_dots=width, columns=columns
    )


@pytest.mark.parametrize("mode", ["gb18030", "raster"])
@pytest.mark.parametrize(("profile", "width", "columns", "dots", "cols"), PAPERS)
class TestLayoutFillsThePaper:
    def test_rules_and_rows_span_the_paper(
        self, profile: str, width: int | None, columns: int | None, dots: int, cols: int, mode: str
    ) -> None:
        ticket = make_ticket(footer_en=LONG_FOOTER)
        ops = decode(render_ticket(ticket, options(profile, width, columns, mode)))
        rows = printed_rows(ops)

        rules = [r for r in rows if set(r.text) == {"-"}]
        assert len(rules) == 3
        assert all(r.dots == cols * 12 for r in rules)
        assert all(r.dots <= dots for r in rows)  # nothing runs off the paper
        footer = [r for r in rows if r.text in LONG_FOOTER]
        assert len(footer) >= 2  # wrapped...
        assert " ".join(r.text for r in footer) == LONG_FOOTER  # ...losing no word
        # ...and the first line was filled: its next word would not have fitted.
        next_word = footer[1].text.split(" ")[0]
        assert len(footer[0].text) + 1 + len(next_word) > cols
        assert all(r.align == 1 for r in footer)  # centred by the printer on its own width

    def test_images_are_as_wide_as_the_paper(
        self, profile: str, width: int | None, columns: int | None, dots: int, cols: int, mode: str
    ) -> None:
        ticket = make_ticket()
        ops = decode(render_ticket(ticket, options(profile, width, columns, mode)))
        widths = {r.width for r in rasters(ops)}
        if mode == "raster":
            assert widths == {dots - dots % 8}
        else:
            assert widths <= {dots - dots % 8}  # only the QR, on printers without native QR
        assert qr_data(ops) == [ticket.track_url] or _qr_images(ops) == [ticket.track_url]


def _qr_images(ops: list[object]) -> list[str]:
    found: list[str] = []
    for raster in rasters(ops):
        found += [r.text for r in zxingcpp.read_barcodes(_on_white(raster))]
    return found


def _on_white(raster: Raster) -> Image.Image:
    canvas = Image.new("L", (raster.width + 80, raster.height + 80), 255)
    canvas.paste(raster.image, (40, 40))
    return canvas


class TestCentring:
    def test_raster_text_is_centred_on_the_paper(self) -> None:
        for dots in (384, 512, 576):
            ops = decode(render_ticket(make_ticket(), RenderOptions(width_dots=dots)))
            branch = rasters(ops)[0].image  # 深圳福田支行, centred, size 2
            left, _, right, _ = branch.point(lambda v: 255 if v < 128 else 0).getbbox()
            assert abs(left - (branch.width - right)) <= 24, dots  # within one wide glyph

    def test_qr_image_is_centred_on_a_printer_without_native_qr(self) -> None:
        # POS-5890 has no GS ( k; a 576-dot width given in the config moves the centre.
        for dots in (384, 576):
            opts = RenderOptions(profile="POS-5890", width_dots=dots)
            ops = decode(render_ticket(make_ticket(), opts))
            assert not any(isinstance(op, QrPrint) for op in ops)
            (qr,) = [r for r in rasters(ops) if r.height > 100]
            assert qr.width == dots
            left, _, right, _ = qr.image.point(lambda v: 255 if v < 128 else 0).getbbox()
            assert abs(left - (qr.width - right)) <= 6


class TestCut:
    @pytest.mark.parametrize("profile", ["TM-T88V", "TM-T88V-CN", "XP-80", "GP-80"])
    def test_printer_with_a_cutter_feeds_only_to_the_blade(self, profile: str) -> None:
        ops = decode(render_ticket(make_ticket(), RenderOptions(profile=profile)))
        cuts = [op for op in ops if isinstance(op, Cut)]
        assert cuts == [Cut(65, 0)] and ops[-1] == cuts[0]  # GS V A 0: feed to cut position
        assert blank_lines_before_cut(ops) == 0

    @pytest.mark.parametrize("profile", ["XP-58", "GP-58"])
    def test_printer_without_a_cutter_feeds_past_the_tear_bar(self, profile: str) -> None:
        ops = decode(render_ticket(make_ticket(), RenderOptions(profile=profile)))
        assert not any(isinstance(op, Cut) for op in ops)
        assert blank_lines_before_cut(ops) == 4
        assert isinstance(ops[-1], LineFeed)


class TestChineseCode:
    def test_code_system_is_selected_after_init_when_configured(self) -> None:
        opts = RenderOptions(chinese_mode=ChineseMode.GB18030, chinese_code_system=0)
        ops = decode(render_ticket(make_ticket(), opts))
        assert ops[:2] == [Init(), CodeSystem(0)]
        assert not any(isinstance(op, CodeSystem) for op in decode(render_ticket(make_ticket())))

    def test_gbk_printer_gets_rows_outside_gbk_drawn(self) -> None:
        # 𠮷 (U+20BB7) is in GB18030 (4 bytes) but not in GBK: a GBK font would print garbage.
        ticket = make_ticket(service_name_zh="𠮷祥业务", footer_zh="请留意叫号")
        gbk = RenderOptions(chinese_mode=ChineseMode.GB18030, chinese_charset=ChineseCharset.GBK)
        ops = decode(render_ticket(ticket, gbk))
        assert "𠮷祥业务" not in "".join(chinese_text(ops))
        assert "请留意叫号" in chinese_text(ops)  # the others still use the printer's font
        assert len(rasters(ops)) == 1
        gb = decode(render_ticket(ticket, RenderOptions(chinese_mode=ChineseMode.GB18030)))
        assert "𠮷祥业务" in chinese_text(gb) and rasters(gb) == []

    def test_mode_follows_the_models_font_unless_configured(self) -> None:
        def mode(**raw: object) -> ChineseMode:
            s = PrinterSettings.from_mapping({"id": "p", "driver": "dummy", **raw})
            return s.render_options.chinese_mode

        assert mode() is ChineseMode.RASTER  # TM-T88V: Epson's international model
        assert mode(profile="TM-T88V-CN") is ChineseMode.GB18030
        assert all(mode(profile=name) is ChineseMode.GB18030 for name in MODELS)
        assert mode(profile="XP-80", chinese_mode="raster") is ChineseMode.RASTER
        ops = decode(render_ticket(make_ticket(), RenderOptions(ChineseMode.GB18030)))
        assert Text("深圳福田支行", chinese=True) in ops


class TestSettingsErrors:
    @pytest.mark.parametrize(
        ("width", "columns", "message"),
        [
            (100, None, "width_dots 100"),
            (2000, None, "width_dots 2000"),
            (384, 33, "columns 33 do not fit 384 dots"),
            (None, 8, "columns 8 is outside"),
        ],
    )
    def test_impossible_paper_is_refused(
        self, width: int | None, columns: int | None, message: str
    ) -> None:
        with pytest.raises(PaperError, match=message):
            paper_for("TM-T88V", width, columns)
        raw = {"id": "p9", "driver": "dummy", "width_dots": width, "columns": columns}
        with pytest.raises(PrinterConfigError, match=f"printer 'p9': {message}"):
            PrinterSettings.from_mapping(raw)


class TestPreviews:
    @pytest.mark.parametrize(
        ("profile", "dots", "cols"), [("XP-58", 384, 32), ("TM-T88V", 512, 42), ("XP-80", 576, 48)]
    )
    def test_preview_per_width(
        self, profile: str, dots: int, cols: int, screenshot_dir: Path
    ) -> None:
        paper = RenderOptions(profile=profile).paper
        assert (paper.width_px, paper.columns) == (dots, cols)
        png = preview_png(make_ticket(), paper.width_px, columns=paper.columns)
        (screenshot_dir / f"ticket-{dots}.png").write_bytes(png)
        image = Image.open(io.BytesIO(png))
        assert image.width == dots
        assert [r.text for r in zxingcpp.read_barcodes(image)] == [make_ticket().track_url]
