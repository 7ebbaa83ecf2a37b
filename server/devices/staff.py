"""Staff identity on the counter's devices: display name and staff number (config),
and a photo a manager uploads (resized, stored under <data_dir>/staff-photos)."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from sqlmodel import Session, select

from server.devices.images import check_image, portrait
from server.errors import NotFound
from server.models import User


def photos_folder(data_dir: Path) -> Path:
    return data_dir / "staff-photos"


def find_user(session: Session, username: str) -> User:
    user = session.exec(select(User).where(User.username == username)).first()
    if user is None:
        raise NotFound(f"no user {username!r}", code="user_not_found")
    return user


def staff_card(user: User | None, username: str | None) -> dict[str, Any] | None:
    """What the rating pad and the sign show of the teller at a counter."""
    if username is None:
        return None
    if user is None:
        return {"username": username, "display_name": username, "staff_no": "", "photo_url": None}
    return {
        "username": user.username,
        "display_name": user.display_name or user.username,
        "staff_no": user.staff_no,
        # The file name changes with each upload, so the address does too (no stale cache).
        "photo_url": f"/api/v1/users/{user.username}/photo?v={user.photo[:8]}"
        if user.photo
        else None,
    }


def set_photo(*, session: Session, data_dir: Path, username: str, content: bytes) -> User:
    user = find_user(session, username)
    jpeg = portrait(check_image(content))
    folder = photos_folder(data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{secrets.token_hex(8)}.jpg"
    (folder / name).write_bytes(jpeg)
    old = user.photo
    user.photo = name
    session.add(user)
    if old:
        (folder / old).unlink(missing_ok=True)
    return user


def remove_photo(*, session: Session, data_dir: Path, username: str) -> User:
    user = find_user(session, username)
    if user.photo:
        (photos_folder(data_dir) / user.photo).unlink(missing_ok=True)
    user.photo = ""
    session.add(user)
    return user


def photo_path(session: Session, data_dir: Path, username: str) -> Path:
    user = find_user(session, username)
    path = photos_folder(data_dir) / user.photo if user.photo else None
    if path is None or not path.is_file():
        raise NotFound(f"{username} has no photo", code="photo_not_found")
    return path
