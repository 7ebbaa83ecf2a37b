"""Printer keys in the server's config file: a wrong paper or Chinese setting stops the load
with the printer's key and the reason, and the demo config pairs its profile with a mode the
printer can print."""

from __future__ import annotations

from pathlib import Path

import pytest
from escpos_decode import chinese_text, decode, rasters

from kiosk.printing import render_options_of
from printers.escpos_render import ChineseMode, render_ticket
from printers.paper import model_for
from printers.ticket import sample_ticket
from server.config import ConfigError, demo_config_path, load_config

BRANCH = """
[[branches]]
code = "b"
name = { zh = "x", en = "y" }
[[branches.services]]
code = "A"
prefix = "A"
name = { zh = "a", en = "a" }
[[branches.printers]]
id = "p1"
"""


@pytest.mark.parametrize(
    ("keys", "why"),
    [
        ("width_dots = 100", "width_dots 100 is outside 128..1024"),
        ("width_dots = 384\ncolumns = 42", "columns 42 do not fit 384 dots"),
        ('chinese_charset = "big5"', "'gb18030' or 'gbk'"),
        ("chinese_code_system = 256", "less than or equal to 255"),
        ('profile = "XP-99"', "unknown printer profile 'XP-99'"),
    ],
)
def test_bad_printer_keys_stop_the_load(tmp_path: Path, keys: str, why: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(BRANCH + keys + "\n", encoding="utf-8")
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert "branches.0.printers.0" in str(error.value) and why in str(error.value)


def test_paper_keys_reach_the_renderer(tmp_path: Path) -> None:
    path = tmp_path / "ok.toml"
    path.write_text(BRANCH + 'profile = "GP-80"\nchinese_charset = "gbk"\n', encoding="utf-8")
    options = render_options_of(load_config(path).branches[0].printers[0])
    assert (options.paper.width_px, options.paper.columns) == (576, 48)
    assert options.chinese_mode is ChineseMode.GB18030  # Gprinter has a Chinese font


def test_demo_printer_prints_chinese_it_has_a_font_for() -> None:
    printer = load_config(demo_config_path()).branches[0].printers[0]
    options = render_options_of(printer)
    ops = decode(render_ticket(sample_ticket(), options))
    if model_for(printer.profile).chinese_font:
        assert "深圳福田支行" in chinese_text(ops)
    else:  # e.g. the international TM-T88V: Chinese must not be sent as GB18030 text
        assert options.chinese_mode is ChineseMode.RASTER
        assert chinese_text(ops) == [] and rasters(ops)
