"""A kiosk's ticket comes out of a (fake) network printer, or is still issued when it cannot."""

from __future__ import annotations

import time
from typing import Any

import httpx

from tests.kiosk.conftest import network_printer_config
from tests.printers.escpos_decode import Cut, chinese_text, decode, qr_data
from tests.printers.printer_fakes import FakeNetworkPrinter
from tests.support import LiveServer


def wait_job(
    client: httpx.Client, printed: dict[str, Any], timeout_s: float = 15
) -> dict[str, Any]:
    url = f"/branches/b1/printers/{printed['printer']}/jobs/{printed['job']}"
    deadline = time.monotonic() + timeout_s
    while True:
        job = client.get(url).json()
        if job["done"] or time.monotonic() > deadline:
            return dict(job)
        time.sleep(0.05)


class TestPrintOnIssue:
    def test_ticket_printed_with_number_service_qr_and_cut(
        self, printing_server: LiveServer, tcp_printer: FakeNetworkPrinter
    ) -> None:
        kiosk = printing_server.client("kiosk")
        response = kiosk.post("/branches/b1/tickets", json={"service": "A"})
        assert response.status_code == 201
        ticket = response.json()
        assert ticket["print"]["printer"] == "p1"
        assert ticket["print"]["state"] in ("queued", "printing", "printed")

        job = wait_job(kiosk, ticket["print"])
        assert job["state"] == "printed", job
        [stream] = tcp_printer.wait_for_jobs(1)
        ops = decode(stream)
        text = "".join(chinese_text(ops))
        assert ticket["number"] in "".join(op.text for op in ops if hasattr(op, "text")), (
            "the number is printed"
        )
        assert "个人现金" in text  # the service name, GB18030 in the printer's Chinese mode
        assert "测试支行" in text
        assert qr_data(ops) == [ticket["track_url"]]
        assert any(isinstance(op, Cut) for op in ops)
        assert ops.index(next(op for op in ops if isinstance(op, Cut))) > len(ops) // 2

    def test_no_print_when_asked_not_to_and_staff_never_print(
        self, printing_server: LiveServer, tcp_printer: FakeNetworkPrinter
    ) -> None:
        kiosk = printing_server.client("kiosk")
        quiet = kiosk.post("/branches/b1/tickets", json={"service": "A", "print": False})
        assert quiet.status_code == 201 and quiet.json().get("print") is None
        staff = printing_server.client("teller1").post(
            "/branches/b1/tickets", json={"service": "B"}
        )
        assert staff.status_code == 201 and staff.json().get("print") is None
        printed = kiosk.post("/branches/b1/tickets", json={"service": "C"}).json()
        assert wait_job(kiosk, printed["print"])["state"] == "printed"
        jobs = tcp_printer.wait_for_jobs(1)
        assert len(jobs) == 1
        assert qr_data(decode(jobs[0])) == [printed["track_url"]]

    def test_vip_ticket_prints_its_class(
        self, printing_server: LiveServer, tcp_printer: FakeNetworkPrinter
    ) -> None:
        kiosk = printing_server.client("kiosk")
        ticket = kiosk.post(
            "/branches/b1/tickets",
            json={"service": "B", "priority": "vip", "customer_ref": "VIP001"},
        ).json()
        assert wait_job(kiosk, ticket["print"])["state"] == "printed"
        text = "".join(chinese_text(decode(tcp_printer.wait_for_jobs(1)[0])))
        assert "贵宾" in text and "非现金" in text


class TestPrinterDown:
    def test_ticket_still_issued_and_job_reports_failed(
        self, dead_printer_server: LiveServer
    ) -> None:
        kiosk = dead_printer_server.client("kiosk")
        response = kiosk.post("/branches/b1/tickets", json={"service": "A"})
        assert response.status_code == 201
        ticket = response.json()
        job = wait_job(kiosk, ticket["print"])
        assert job["state"] == "failed"
        assert job["error"]
        # The ticket exists and waits like any other.
        public = httpx.get(f"{dead_printer_server.api}/tickets/{ticket['token']}").json()
        assert public["status"] == "waiting" and public["number"] == ticket["number"]

    def test_hanging_printer_does_not_hold_the_ticket(
        self, database_url: str, tmp_path: Any, start_server: Any
    ) -> None:
        hung = FakeNetworkPrinter("hang")
        try:
            server = start_server(
                network_printer_config(database_url, tmp_path / "d", hung.port, timeout_s=0.5)
            )
            kiosk = server.client("kiosk")
            response = kiosk.post("/branches/b1/tickets", json={"service": "B"})
            assert response.status_code == 201
            # Answered while the printer still has the job: it cannot have printed yet.
            assert response.json()["print"]["state"] in ("queued", "printing")
            second = kiosk.post("/branches/b1/tickets", json={"service": "B", "print": False})
            assert second.status_code == 201 and second.json()["position"] == 1
            assert wait_job(kiosk, response.json()["print"], 30)["state"] == "failed"
        finally:
            hung.stop()

    def test_printer_switched_off_mid_job(
        self, database_url: str, tmp_path: Any, start_server: Any
    ) -> None:
        dropping = FakeNetworkPrinter("drop", drop_after=100)
        try:
            server = start_server(
                network_printer_config(database_url, tmp_path / "d", dropping.port, timeout_s=0.5)
            )
            kiosk = server.client("kiosk")
            response = kiosk.post("/branches/b1/tickets", json={"service": "C"})
            assert response.status_code == 201
            job = wait_job(kiosk, response.json()["print"], 30)
            assert job["state"] == "failed" and job["attempts"] >= 2, job
        finally:
            dropping.stop()

    def test_manager_and_health_see_the_printer_failing(
        self, dead_printer_server: LiveServer
    ) -> None:
        kiosk = dead_printer_server.client("kiosk")
        ticket = kiosk.post("/branches/b1/tickets", json={"service": "A"}).json()
        wait_job(kiosk, ticket["print"])
        [row] = dead_printer_server.client("manager").get("/branches/b1/printers").json()
        assert row["id"] == "p1" and row["online"] is False and row["state"] == "offline"
        assert row["last_job_ok"] is False
        health = httpx.get(f"{dead_printer_server.api}/health").json()
        assert health["printers"]["b1"][0]["id"] == "p1"
        assert health["printers"]["b1"][0]["state"] == "offline"


class TestPrinterApi:
    def test_printers_list_needs_staff(self, server: LiveServer) -> None:
        assert server.client(None).get("/branches/b1/printers").status_code == 401
        assert server.client("display").get("/branches/b1/printers").status_code == 403
        own = server.client("kiosk").get("/branches/b1/printers").json()
        assert [r["id"] for r in own] == ["p1"]  # a kiosk sees its own printer
        rows = server.client("teller1").get("/branches/b1/printers").json()
        assert [r["id"] for r in rows] == ["p1"]

    def test_job_endpoint_rules(self, server: LiveServer) -> None:
        kiosk = server.client("kiosk")
        ticket = kiosk.post("/branches/b1/tickets", json={"service": "A"}).json()
        job = wait_job(kiosk, ticket["print"])
        assert job["state"] == "printed" and job["number"] == ticket["number"]  # dummy driver
        url = f"/branches/b1/printers/p1/jobs/{ticket['print']['job']}"
        assert server.client("display").get(url).status_code == 403
        assert server.client(None).get(url).status_code == 401
        assert server.client("manager").get(url).status_code == 200
        assert kiosk.get("/branches/b1/printers/p1/jobs/nothing-here").status_code == 404
        assert kiosk.get("/branches/b1/printers/zz/jobs/" + "0" * 32).status_code == 404

    def test_preview_png_sample_and_ticket(self, server: LiveServer) -> None:
        manager = server.client("manager")
        sample = manager.get("/branches/b1/printers/p1/preview.png")
        assert sample.status_code == 200 and sample.headers["content-type"] == "image/png"
        assert sample.content.startswith(b"\x89PNG")
        ticket = server.client("kiosk").post("/branches/b1/tickets", json={"service": "A"}).json()
        mine = manager.get(f"/branches/b1/printers/p1/preview.png?ticket={ticket['token']}")
        assert mine.status_code == 200 and mine.content != sample.content
        import io

        import zxingcpp
        from PIL import Image

        [code] = zxingcpp.read_barcodes(Image.open(io.BytesIO(mine.content)))
        assert code.text == ticket["track_url"]
        # As wide as this printer's paper (TM-T88V: 512 dots) unless another width is asked.
        assert Image.open(io.BytesIO(mine.content)).width == 512
        narrow = manager.get("/branches/b1/printers/p1/preview.png?width=384")
        assert Image.open(io.BytesIO(narrow.content)).width == 384
        assert manager.get("/branches/b1/printers/p1/preview.png?ticket=nope").status_code == 404
        assert (
            server.client("teller1").get("/branches/b1/printers/p1/preview.png").status_code == 403
        )


class TestPaperOut:
    def test_job_fails_and_the_manager_sees_paper_out(
        self, database_url: str, tmp_path: Any, start_server: Any
    ) -> None:
        from tests.printers.printer_fakes import STATUS_PAPER_OUT

        empty = FakeNetworkPrinter("ok", status=STATUS_PAPER_OUT)
        try:
            server = start_server(network_printer_config(database_url, tmp_path / "d", empty.port))
            kiosk = server.client("kiosk")
            ticket = kiosk.post("/branches/b1/tickets", json={"service": "A"})
            assert ticket.status_code == 201
            job = wait_job(kiosk, ticket.json()["print"])
            assert job["state"] == "failed" and "paper" in job["error"]
            [row] = server.client("manager").get("/branches/b1/printers").json()
            assert row["state"] == "paper_out" and row["paper"] == "out"
            assert empty.jobs() == [], "nothing is sent to a printer without paper"
        finally:
            empty.stop()


def test_summary_states() -> None:
    from datetime import UTC, datetime

    from kiosk.printing import summary_state
    from printers import PaperLevel, PrinterStatus

    def status(**kw: Any) -> PrinterStatus:
        base: dict[str, Any] = {
            "printer_id": "p",
            "online": True,
            "paper": PaperLevel.OK,
            "error": None,
            "last_job_at": datetime.now(UTC),
            "last_job_ok": True,
            "queue_length": 0,
        }
        return PrinterStatus(**{**base, **kw})

    assert summary_state(status()) == "ok"
    assert summary_state(status(queue_length=2)) == "busy"
    assert summary_state(status(paper=PaperLevel.LOW)) == "paper_low"
    assert summary_state(status(online=False, paper=PaperLevel.OUT)) == "paper_out"
    assert summary_state(status(online=False, paper=PaperLevel.UNKNOWN)) == "offline"
    assert summary_state(status(online=False, paper=PaperLevel.OK, error="cover open")) == "error"
    assert summary_state(status(online=None, last_job_ok=None)) == "unknown"
