"""Start-up: bring the database in line with the config (branches, services,
counters, bootstrap users). Runtime state (counter state, service open/closed,
tickets) is kept across restarts."""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

from sqlmodel import Session, select

from server.auth import hash_password
from server.config import AppConfig
from server.models import Branch, Counter, Role, Service, User

log = logging.getLogger("lobbyq")


def sync_config(session: Session, config: AppConfig) -> None:
    for position, settings in enumerate(config.branches):
        del position
        branch = session.get(Branch, settings.code)
        if branch is None:
            branch = Branch(
                code=settings.code,
                name_zh=settings.name.zh,
                name_en=settings.name.en,
                timezone=settings.timezone,
                notice_zh=settings.notice.zh if settings.notice else "",
                notice_en=settings.notice.en if settings.notice else "",
            )
        branch.name_zh, branch.name_en = settings.name.zh, settings.name.en
        branch.timezone, branch.reset_time = settings.timezone, settings.reset_time
        session.add(branch)
        session.flush()
        services = {
            s.code: s for s in session.exec(select(Service).where(Service.branch == settings.code))
        }
        for index, service in enumerate(settings.services):
            row = services.get(service.code) or Service(
                branch=settings.code,
                code=service.code,
                prefix=service.prefix,
                name_zh=service.name.zh,
                name_en=service.name.en,
                target_wait_s=0,
                open=service.open,
            )
            row.prefix, row.name_zh, row.name_en = service.prefix, service.name.zh, service.name.en
            row.target_wait_s = round(service.target_wait_min * 60)
            row.position = index
            session.add(row)
        counters = {
            c.number: c
            for c in session.exec(select(Counter).where(Counter.branch == settings.code))
        }
        for counter in settings.counters:
            row_c = counters.get(counter.number) or Counter(
                branch=settings.code, number=counter.number, name_zh="", name_en=""
            )
            shown = counter.shown_name()
            row_c.name_zh, row_c.name_en = shown["zh"], shown["en"]
            row_c.services = list(counter.services)
            session.add(row_c)


def ensure_users(session: Session, config: AppConfig) -> list[tuple[str, str]]:
    """Create the config's bootstrap users that do not exist yet. A user without a
    password gets a random one, returned (and written to the data folder) once."""
    generated: list[tuple[str, str]] = []
    for settings in config.users:
        existing = session.exec(select(User).where(User.username == settings.username)).first()
        if existing is not None:
            # Who they are on the sign and the pad follows the config.
            existing.staff_no = settings.staff_no
            existing.display_name = settings.display_name or existing.display_name
            if existing.branches != settings.branches:  # the config says whom a user oversees
                existing.branches = list(settings.branches)
            session.add(existing)
            continue
        password = settings.password or secrets.token_urlsafe(9)
        if not settings.password:
            generated.append((settings.username, password))
        session.add(
            User(
                username=settings.username,
                password_hash=hash_password(password),
                role=Role(settings.role),
                display_name=settings.display_name or settings.username,
                staff_no=settings.staff_no,
                branches=list(settings.branches),
            )
        )
    if generated:
        _write_initial_passwords(config, generated)
    return generated


def _write_initial_passwords(config: AppConfig, generated: list[tuple[str, str]]) -> None:
    path = Path(config.server.data_dir) / "initial-passwords.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8") as handle:
        for username, password in generated:
            handle.write(f"{username}\t{password}\n")
    log.warning(
        "generated passwords for %s written to %s", ", ".join(u for u, _ in generated), path
    )


def create_user(
    session: Session, *, username: str, password: str, role: str, branches: list[str] | None = None
) -> User:
    """A new user, or an existing one's new password and role (and enabled again if
    it was disabled): the tokens it held before stop working."""
    user = session.exec(select(User).where(User.username == username)).first()
    if user is None:
        user = User(username=username, password_hash="", role=Role(role), display_name=username)
    else:
        user.token_version += 1
    user.password_hash = hash_password(password)
    user.role = Role(role)
    user.active = True
    if branches is not None:
        user.branches = list(branches)
    session.add(user)
    return user


def disable_user(session: Session, username: str) -> bool:
    """The user can no longer sign in and every token it holds stops working at once.
    False when there is no such user."""
    user = session.exec(select(User).where(User.username == username)).first()
    if user is None:
        return False
    user.active = False
    user.token_version += 1
    session.add(user)
    return True
