"""Slides the TVs rotate beside the queue: images checked by content (images.py),
kept under <data_dir>/slides/<branch>/, announced with `slides.updated`."""

from __future__ import annotations

import secrets
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from server.config import BranchSettings
from server.devices.images import check_image
from server.errors import InvalidInput, NotFound
from server.events import EventType, SlidesUpdatedData, record
from server.models import Slide, as_utc, utc

MAX_SLIDES = 30


def slides_folder(data_dir: Path, branch: str) -> Path:
    return data_dir / "slides" / branch


def slide_data(slide: Slide) -> dict[str, Any]:
    created = utc(slide.created_at)
    return {
        "id": slide.id,
        "url": f"/api/v1/branches/{slide.branch}/slides/{slide.id}/image",
        "media_type": slide.media_type,
        "width": slide.width,
        "height": slide.height,
        "size": slide.size,
        "created_at": created.isoformat() if created else None,
    }


def list_slides(session: Session, branch: BranchSettings) -> list[dict[str, Any]]:
    rows = session.exec(
        select(Slide).where(Slide.branch == branch.code).order_by(col(Slide.id))
    ).all()
    return [slide_data(s) for s in rows]


def _announce(session: Session, branch: BranchSettings, now: datetime) -> None:
    session.flush()
    record(
        session,
        branch=branch.code,
        type=EventType.slides_updated,
        now=now,
        data=SlidesUpdatedData(slides=list_slides(session, branch)),
    )


def add_slide(
    *, session: Session, branch: BranchSettings, data_dir: Path, content: bytes, now: datetime
) -> Slide:
    image = check_image(content)
    count = len(session.exec(select(Slide.id).where(Slide.branch == branch.code)).all())
    if count >= MAX_SLIDES:
        raise InvalidInput(f"at most {MAX_SLIDES} slides; delete one first", code="too_many_slides")
    folder = slides_folder(data_dir, branch.code)
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{secrets.token_hex(8)}.{image.extension}"
    (folder / name).write_bytes(image.data)
    slide = Slide(
        branch=branch.code,
        file=name,
        media_type=image.media_type,
        width=image.width,
        height=image.height,
        size=len(image.data),
        created_at=as_utc(now),
    )
    session.add(slide)
    _announce(session, branch, now)
    return slide


def find_slide(session: Session, branch: BranchSettings, slide_id: int) -> Slide:
    slide = session.get(Slide, slide_id)
    if slide is None or slide.branch != branch.code:
        raise NotFound(f"no slide {slide_id}", code="slide_not_found")
    return slide


def delete_slide(
    *, session: Session, branch: BranchSettings, data_dir: Path, slide_id: int, now: datetime
) -> None:
    slide = find_slide(session, branch, slide_id)
    session.delete(slide)
    _announce(session, branch, now)
    # The file goes after the row; a file left by a failed commit is harmless.
    (slides_folder(data_dir, branch.code) / slide.file).unlink(missing_ok=True)
