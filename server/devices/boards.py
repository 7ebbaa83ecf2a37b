"""The TVs' information boards: the rate board (利率、汇率牌) and the bulletin (公告栏).

Each is one JSON document per branch, validated here, replaced whole by a manager
(PUT, or a CSV for the rate table), and announced with `board.updated` so every TV
redraws it at once."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlmodel import Session

from server.config import BranchSettings
from server.errors import InvalidInput, NotFound
from server.events import BoardUpdatedData, EventType, record
from server.models import Board, as_utc, utc

BoardName = Literal["rates", "bulletin"]
BOARDS: tuple[str, ...] = ("rates", "bulletin")
MAX_ROWS = 40
MAX_COLUMNS = 8
MAX_CELL = 40


def _printable(value: str) -> str:
    if any(ord(c) < 32 for c in value):
        raise ValueError("control characters are not allowed")
    return value.strip()


class Text(BaseModel):
    model_config = ConfigDict(extra="forbid")
    zh: str = Field(default="", max_length=200)
    en: str = Field(default="", max_length=200)

    @field_validator("zh", "en")
    @classmethod
    def _clean(cls, value: str) -> str:
        return _printable(value)


class RatesBoard(BaseModel):
    """`{title:{zh,en}, columns:[{zh,en}], rows:[[cell,...]], note?}` (API.md v1.1)."""

    model_config = ConfigDict(extra="forbid")
    title: Text = Text(zh="利率", en="Rates")
    columns: list[Text] = Field(default_factory=list, max_length=MAX_COLUMNS)
    rows: list[list[str]] = Field(default_factory=list, max_length=MAX_ROWS)
    note: Text | None = None

    @field_validator("rows")
    @classmethod
    def _cells(cls, rows: list[list[str]]) -> list[list[str]]:
        for index, row in enumerate(rows):
            for cell in row:
                if len(cell) > MAX_CELL:
                    raise ValueError(f"row {index + 1}: a cell is over {MAX_CELL} characters")
        return [[_printable(c) for c in row] for row in rows]

    def check_shape(self) -> RatesBoard:
        for index, row in enumerate(self.rows):
            if len(row) != len(self.columns):
                raise InvalidInput(
                    f"rows.{index}: {len(row)} cells for {len(self.columns)} columns",
                    code="invalid_board",
                )
        return self


class Bulletin(BaseModel):
    """`{items:[{zh,en}]}`."""

    model_config = ConfigDict(extra="forbid")
    items: list[Text] = Field(default_factory=list, max_length=20)


EMPTY: dict[str, dict[str, Any]] = {
    "rates": RatesBoard().model_dump(),
    "bulletin": Bulletin().model_dump(),
}


def validate_board(name: str, data: Any) -> dict[str, Any]:
    """The board as stored, or a 422 naming the field."""
    if name not in BOARDS:
        raise NotFound(f"no board {name!r}; boards are rates and bulletin", code="board_not_found")
    try:
        if name == "rates":
            return RatesBoard.model_validate(data).check_shape().model_dump(exclude_none=True)
        return Bulletin.model_validate(data).model_dump()
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise InvalidInput(f"{where}: {first.get('msg')}", code="invalid_board") from exc


def get_board(session: Session, branch: BranchSettings, name: str) -> dict[str, Any]:
    if name not in BOARDS:
        raise NotFound(f"no board {name!r}; boards are rates and bulletin", code="board_not_found")
    row = session.get(Board, (branch.code, name))
    data = dict(row.data) if row is not None else dict(EMPTY[name])
    updated = utc(row.updated_at) if row is not None else None
    return {**data, "updated_at": updated.isoformat() if updated else None}


def put_board(
    *,
    session: Session,
    branch: BranchSettings,
    name: str,
    data: Any,
    username: str,
    now: datetime,
) -> dict[str, Any]:
    clean = validate_board(name, data)
    row = session.get(Board, (branch.code, name)) or Board(branch=branch.code, name=name)
    row.data = clean
    row.updated_at = as_utc(now)
    row.updated_by = username
    session.add(row)
    record(
        session,
        branch=branch.code,
        type=EventType.board_updated,
        now=now,
        data=BoardUpdatedData(board=name, content=clean),
    )
    return {**clean, "updated_at": as_utc(now).isoformat()}


def rates_from_csv(text: str, *, title: dict[str, str] | None = None) -> dict[str, Any]:
    """A rate table from CSV: the first row holds the column headings, each `中文/English`
    (or one name for both), the other rows the cells. A `#` row is the note."""
    rows = [r for r in csv.reader(io.StringIO(text.lstrip("\ufeff"))) if any(c.strip() for c in r)]
    if not rows:
        raise InvalidInput("the CSV is empty: a heading row, then the rows", code="invalid_csv")
    note = None
    if rows[-1] and rows[-1][0].startswith("#"):
        note_text = ",".join(rows.pop()).lstrip("#").strip()
        zh, _, en = note_text.partition("/")
        note = {"zh": zh.strip(), "en": (en or zh).strip()}
    columns = []
    for heading in rows[0]:
        zh, _, en = heading.partition("/")
        columns.append({"zh": zh.strip(), "en": (en or zh).strip()})
    body: dict[str, Any] = {
        "title": title or {"zh": "利率", "en": "Rates"},
        "columns": columns,
        "rows": [[c.strip() for c in r] for r in rows[1:]],
    }
    if note:
        body["note"] = note
    return body
