"""The TVs' boards and slides (API.md v1.1): GET for anyone, changes by managers,
checked input (422 in the documented shape), and an event per change."""

from __future__ import annotations

import httpx

from tests.devices.helpers import image_bytes
from tests.support import LiveServer

RATES = {
    "title": {"zh": "人民币存款利率", "en": "RMB deposit rates"},
    "columns": [{"zh": "期限", "en": "Term"}, {"zh": "年利率", "en": "Rate p.a."}],
    "rows": [["活期", "0.10%"], ["一年", "1.10%"]],
    "note": {"zh": "以柜台为准", "en": "Counter rates prevail"},
}


def error_code(response: httpx.Response) -> str:
    return str(response.json()["error"]["code"])


class TestBoards:
    def test_manager_edits_anyone_reads(self, hall: LiveServer) -> None:
        with hall.client() as public, hall.client("manager") as manager:
            empty = public.get("/branches/b1/boards/rates").json()
            assert empty["rows"] == [] and empty["updated_at"] is None
            saved = manager.put("/branches/b1/boards/rates", json=RATES)
            assert saved.status_code == 200, saved.text
            shown = public.get("/branches/b1/boards/rates").json()
            assert shown["rows"] == RATES["rows"] and shown["note"] == RATES["note"]
            bulletin = {"items": [{"zh": "本周六正常营业", "en": "Open this Saturday"}]}
            assert manager.put("/branches/b1/boards/bulletin", json=bulletin).status_code == 200
            assert public.get("/branches/b1/boards/bulletin").json()["items"] == bulletin["items"]
            assert error_code(public.get("/branches/b1/boards/menu")) == "board_not_found"

    def test_only_managers_change_and_bad_input_is_422(self, hall: LiveServer) -> None:
        with hall.client("teller1") as teller, hall.client("lobby1") as lobby:
            assert teller.put("/branches/b1/boards/rates", json=RATES).status_code == 403
            assert lobby.put("/branches/b1/boards/rates", json=RATES).status_code == 403
        with hall.client("manager") as manager:
            ragged = {**RATES, "rows": [["活期"]]}
            answer = manager.put("/branches/b1/boards/rates", json=ragged)
            assert answer.status_code == 422 and error_code(answer) == "invalid_board"
            assert "1 cells for 2 columns" in answer.json()["error"]["message"]
            extra = manager.put("/branches/b1/boards/bulletin", json={"items": [], "x": 1})
            assert extra.status_code == 422
            control = manager.put("/branches/b1/boards/bulletin", json={"items": [{"zh": "a\x00"}]})
            assert control.status_code == 422
            not_json = manager.put(
                "/branches/b1/boards/rates",
                content=b"{nope",
                headers={"Content-Type": "application/json"},
            )
            assert not_json.status_code == 422
            too_many = manager.put(
                "/branches/b1/boards/bulletin", json={"items": [{"zh": "x"}] * 21}
            )
            assert too_many.status_code == 422
            # nothing was saved by the refused requests
            assert manager.get("/branches/b1/boards/rates").json()["rows"] == []

    def test_csv_import_keeps_the_title(self, hall: LiveServer) -> None:
        csv_text = (
            "币种/Currency,买入/Buy,卖出/Sell\n"
            "美元 USD,7.10,7.16\n欧元 EUR,7.70,7.78\n"
            "# 仅供参考/For reference\n"
        )
        with hall.client("manager") as manager:
            manager.put("/branches/b1/boards/rates", json={**RATES, "rows": [], "columns": []})
            answer = manager.post(
                "/branches/b1/boards/rates/csv",
                content=csv_text.encode("gb18030"),
                headers={"Content-Type": "text/csv"},
            )
            assert answer.status_code == 200, answer.text
            board = manager.get("/branches/b1/boards/rates").json()
        assert board["title"] == RATES["title"]
        assert board["columns"][1] == {"zh": "买入", "en": "Buy"}
        assert board["rows"] == [["美元 USD", "7.10", "7.16"], ["欧元 EUR", "7.70", "7.78"]]
        assert board["note"] == {"zh": "仅供参考", "en": "For reference"}


class TestSlides:
    def test_upload_list_serve_delete(self, hall: LiveServer) -> None:
        with hall.client("manager") as manager, hall.client() as public:
            png = image_bytes("PNG")
            added = manager.post(
                "/branches/b1/slides", files={"file": ("promo.png", png, "image/png")}
            )
            assert added.status_code == 201, added.text
            slide = added.json()
            assert (slide["media_type"], slide["width"], slide["height"]) == ("image/png", 64, 48)
            webp = manager.post(
                "/branches/b1/slides",
                files={"file": ("x.bin", image_bytes("WEBP"), "application/octet-stream")},
            )
            assert webp.status_code == 201 and webp.json()["media_type"] == "image/webp"
            listed = public.get("/branches/b1/slides").json()
            assert [s["id"] for s in listed] == [slide["id"], webp.json()["id"]]
            served = httpx.get(hall.url + slide["url"])
            assert served.status_code == 200 and served.content == png
            assert manager.delete(f"/branches/b1/slides/{slide['id']}").status_code == 204
            assert httpx.get(hall.url + slide["url"]).status_code == 404
            assert manager.delete(f"/branches/b1/slides/{slide['id']}").status_code == 404
            assert len(public.get("/branches/b1/slides").json()) == 1
            # An id past the integer column's range is a malformed address, not a 500
            # (PostgreSQL failed the query itself): every route taking a row's id.
            huge = 2**40
            for answer in (
                public.get(f"/branches/b1/slides/{huge}/image"),
                manager.delete(f"/branches/b1/slides/{huge}"),
                manager.get(f"/branches/b1/opinions/{huge}"),
                manager.put(f"/branches/b1/opinions/{huge}/status", json={"status": "closed"}),
                manager.delete(f"/branches/b1/booking/blocks/{huge}"),
                public.get("/branches/b1/slides/0/image"),
            ):
                assert answer.status_code == 422, (answer.request.url, answer.text)
                assert "error" in answer.json()

    def test_refused_by_content_size_and_role(self, hall: LiveServer) -> None:
        with hall.client("manager") as manager:
            gif = manager.post(
                "/branches/b1/slides", files={"file": ("a.png", image_bytes("GIF"), "image/png")}
            )
            assert gif.status_code == 422 and error_code(gif) == "unsupported_image"
            text = manager.post(
                "/branches/b1/slides",
                files={"file": ("a.jpg", b"not an image at all", "image/jpeg")},
            )
            assert text.status_code == 422 and error_code(text) == "not_an_image"
            truncated = manager.post(
                "/branches/b1/slides",
                files={"file": ("a.jpg", image_bytes("JPEG", (400, 300))[:200], "image/jpeg")},
            )
            assert truncated.status_code == 422
            big = b"\x89PNG\r\n\x1a\n" + b"\0" * (2 * 1024 * 1024 + 10)
            over = manager.post(
                "/branches/b1/slides", files={"file": ("big.png", big, "image/png")}
            )
            assert over.status_code == 422 and error_code(over) == "image_too_large"
            empty = manager.post("/branches/b1/slides", files={"file": ("e.png", b"", "image/png")})
            assert empty.status_code == 422
            missing = manager.post("/branches/b1/slides", data={"nope": "1"})
            assert missing.status_code == 422
            assert manager.get("/branches/b1/slides").json() == []
        with hall.client("teller1") as teller:
            refused = teller.post(
                "/branches/b1/slides", files={"file": ("a.png", image_bytes(), "image/png")}
            )
            assert refused.status_code == 403
