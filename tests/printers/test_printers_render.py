from __future__ import annotations

import io

import qrcode
import zxingcpp
from escpos_decode import (
    CharSize,
    Cut,
    Init,
    QrPrint,
    Raster,
    Text,
    chinese_text,
    decode,
    printed_lines,
    qr_data,
    rasters,
)
from hypothesis import given, settings
from PIL import Image
from printer_fakes import make_ticket, tickets

from printers.escpos_render import ChineseMode, RenderOptions, render_ticket
from printers.layout import clean_text
from printers.preview import preview_png
from printers.ticket import TicketPrint

GB18030 = RenderOptions(chinese_mode=ChineseMode.GB18030)
RASTER = RenderOptions(chinese_mode=ChineseMode.RASTER)


def read_qr(image: Image.Image) -> list[str]:
    return [result.text for result in zxingcpp.read_barcodes(image)]


def qr_image(data: str) -> Image.Image:
    """What a printer draws for a native QR command, to prove the data scans."""
    image: Image.Image = qrcode.make(data, box_size=6, border=4).get_image().convert("L")
    return image


def inked(image: Image.Image) -> int:
    return int(image.point(lambda v: 255 if v < 128 else 0).histogram()[255])


class TestGb18030Mode:
    def test_ticket_decodes_to_number_chinese_service_qr_and_cut(self) -> None:
        ticket = make_ticket()
        ops = decode(render_ticket(ticket, GB18030))

        assert ops[0] == Init()
        assert "VA012" in printed_lines(ops)
        assert "个人现金业务" in chinese_text(ops)
        assert "深圳福田支行" in chinese_text(ops)
        assert "前面等候 / People ahead: 3" in printed_lines(ops)
        assert qr_data(ops) == [ticket.track_url]
        assert isinstance(ops[-1], Cut)
        assert rasters(ops) == []

    def test_big_number_is_printed_four_times_larger(self) -> None:
        ops = decode(render_ticket(make_ticket(), GB18030))
        at = ops.index(Text("VA012", chinese=False))
        assert CharSize(4, 4) in ops[at - 4 : at]

    def test_control_characters_in_names_do_not_become_commands(self) -> None:
        ops = decode(render_ticket(make_ticket(branch_name_en="Evil\x1b@\x1dV\x00Branch"), GB18030))
        assert ops.count(Init()) == 1
        assert [op for op in ops if isinstance(op, Cut)] == [ops[-1]]


class TestRasterMode:
    def test_chinese_is_drawn_as_full_width_images(self) -> None:
        ticket = make_ticket()
        ops = decode(render_ticket(ticket, RASTER))

        assert chinese_text(ops) == []  # no FS & anywhere: nothing relies on a printer font
        images = rasters(ops)
        assert images
        assert {image.width for image in images} == {512}  # TM-T88V: 512 dots per line
        assert all(inked(image.image) > 0 for image in images)
        assert "VA012" in printed_lines(ops)
        assert "Personal cash" in printed_lines(ops)
        assert qr_data(ops) == [ticket.track_url]
        assert read_qr(qr_image(qr_data(ops)[0])) == [ticket.track_url]
        assert isinstance(ops[-1], Cut)

    def test_printer_without_native_qr_gets_the_qr_as_an_image(self) -> None:
        ticket = make_ticket()
        ops = decode(render_ticket(ticket, RenderOptions(ChineseMode.RASTER, profile="POS-5890")))

        assert not any(isinstance(op, QrPrint) for op in ops)
        found = [read_qr(_on_white(r)) for r in rasters(ops)]
        assert [ticket.track_url] in found
        assert all(r.width <= 384 for r in rasters(ops))  # 58 mm paper


class TestBothModes:
    @settings(max_examples=15, deadline=None)
    @given(tickets)
    def test_any_ticket_renders_and_decodes(self, ticket: TicketPrint) -> None:
        service = clean_text(ticket.service_name_zh).replace(" ", "")
        for options in (GB18030, RASTER):
            ops = decode(render_ticket(ticket, options))
            assert ticket.number in printed_lines(ops)
            assert qr_data(ops) == [ticket.track_url]
            assert isinstance(ops[-1], Cut)
            assert {r.width for r in rasters(ops)} <= {512}
        gb_text = "".join(printed_lines(decode(render_ticket(ticket, GB18030))))
        assert service in gb_text.replace(" ", "")


class TestPreview:
    def test_png_of_the_requested_width_with_a_readable_qr(self) -> None:
        ticket = make_ticket()
        png = preview_png(ticket, width_px=576)

        assert png.startswith(b"\x89PNG\r\n\x1a\n")
        image = Image.open(io.BytesIO(png))
        assert image.format == "PNG"
        assert image.width == 576
        assert image.height > image.width
        assert read_qr(image) == [ticket.track_url]

    def test_width_follows_the_paper(self) -> None:
        image = Image.open(io.BytesIO(preview_png(make_ticket(), width_px=384)))
        assert image.width == 384
        assert read_qr(image) == [make_ticket().track_url]

    def test_same_ticket_same_png(self) -> None:
        assert preview_png(make_ticket()) == preview_png(make_ticket())


def _on_white(raster: Raster) -> Image.Image:
    # A quiet zone around the printed symbol, as the paper around it provides.
    canvas = Image.new("L", (raster.width + 80, raster.height + 80), 255)
    canvas.paste(raster.image, (40, 40))
    return canvas
