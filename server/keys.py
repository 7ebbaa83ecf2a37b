"""The key that signs staff tokens.

A key anyone can read (the demo config's, a placeholder, none at all) is never used:
such a config gets a random key generated at first start and kept in the data folder
(`<data_dir>/secret_key`, mode 0600), so the demo works unedited and a token signed
elsewhere with the public value is worthless. A config that sets a weak key of its
own stops start-up (config validation), naming the reason.

Several processes sharing one data folder share the generated key; processes on
several machines need one strong `[server] secret_key` set in every config
(docs/deployment.md, docs/security.md)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

# Values published in this repository or in earlier versions' defaults: replaced.
PUBLIC_KEYS = frozenset({"", "change-me", "demo-only-change-me-in-production"})
MIN_KEY_CHARS = 32
MIN_DISTINCT_CHARS = 10
KEY_FILE = "secret_key"


def weak_key_reason(key: str) -> str | None:
    """Why a key set in a config is too weak to sign tokens, or None."""
    if key in PUBLIC_KEYS:
        return None  # replaced by a generated key, not refused
    if len(key) < MIN_KEY_CHARS:
        return (
            f"is {len(key)} characters: use at least {MIN_KEY_CHARS} random ones, e.g. "
            "python3 -c 'import secrets; print(secrets.token_urlsafe(48))' "
            "(or leave it out and one is generated in the data folder)"
        )
    if len(set(key)) < MIN_DISTINCT_CHARS:
        return f"has fewer than {MIN_DISTINCT_CHARS} different characters: use a random key"
    return None


def private_dir(path: Path) -> None:
    """Make the folder (mode 0700 when new)."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)


def signing_key(configured: str, data_dir: Path) -> str:
    """The configured key when it is not a public one, else the generated one."""
    if configured not in PUBLIC_KEYS:
        return configured
    return generated_key(data_dir)


def generated_key(data_dir: Path) -> str:
    """Read `<data_dir>/secret_key`, or make it: written to a private temporary file,
    then linked into place, so a second process starting at the same moment reads the
    same whole key rather than a half-written or a different one."""
    path = data_dir / KEY_FILE
    if not path.exists():
        private_dir(data_dir)
        temporary = data_dir / f".{KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(secrets.token_urlsafe(48) + "\n")
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass  # another process was first: use its key
        finally:
            temporary.unlink()
    if path.stat().st_mode & 0o077:
        path.chmod(0o600)
    key = path.read_text(encoding="ascii").strip()
    if len(key) < MIN_KEY_CHARS:
        raise RuntimeError(f"{path} holds no usable key; delete it to generate a new one")
    return key
