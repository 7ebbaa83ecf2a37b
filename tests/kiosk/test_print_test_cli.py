"""`lobbyq print-test --printer ID`: a sample ticket, and a verdict in the exit code."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from server.cli import app
from tests.printers.escpos_decode import Cut, chinese_text, decode
from tests.printers.printer_fakes import FakeNetworkPrinter, free_port

CONFIG = """
[server]
database_url = "sqlite:///{db}"

[[branches]]
code = "sz01"
name = {{ zh = "深圳福田支行", en = "Futian Branch" }}
ticket_footer = {{ zh = "请留意叫号", en = "Please listen for your number" }}

[[branches.services]]
code = "A"
prefix = "A"
name = {{ zh = "个人现金业务", en = "Personal cash" }}

[[branches.printers]]
id = "front"
driver = "network"
host = "127.0.0.1"
port = {good}
timeout_s = 1
profile = "TM-T88V-CN"  # Epson's China model: Chinese in the printer's own GB18030 font

[[branches.printers]]
id = "broken"
driver = "network"
host = "127.0.0.1"
port = {bad}
timeout_s = 0.5
"""


def write_config(tmp_path: Path, good: int) -> Path:
    path = tmp_path / "lobbyq.toml"
    path.write_text(
        CONFIG.format(db=tmp_path / "x.db", good=good, bad=free_port()), encoding="utf-8"
    )
    return path


def test_print_test_prints_a_sample_and_reports_success(tmp_path: Path) -> None:
    with FakeNetworkPrinter("ok") as printer:
        config = write_config(tmp_path, printer.port)
        result = CliRunner().invoke(
            app, ["print-test", "--printer", "front", "--config", str(config)]
        )
        assert result.exit_code == 0, result.output
        assert "printed" in result.output
        [job] = printer.wait_for_jobs(1)
    ops = decode(job)
    text = "".join(chinese_text(ops))
    assert "深圳福田支行" in text and "个人现金业务" in text and "请留意叫号" in text
    assert any(isinstance(op, Cut) for op in ops)


def test_print_test_fails_loudly_on_a_dead_printer(tmp_path: Path) -> None:
    config = write_config(tmp_path, free_port())
    result = CliRunner().invoke(app, ["print-test", "--printer", "broken", "--config", str(config)])
    assert result.exit_code == 1
    assert "FAILED" in result.output


def test_print_test_unknown_printer(tmp_path: Path) -> None:
    config = write_config(tmp_path, free_port())
    result = CliRunner().invoke(app, ["print-test", "--printer", "nope", "--config", str(config)])
    assert result.exit_code == 2
