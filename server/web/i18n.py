"""One translation catalogue per language: `server/web/catalogues/<lang>.json`, a flat map
of `part.key` to text (e.g. `kiosk.printerDown`). Templates call `t("kiosk.welcome")`
(Chinese, the pages' first language); a page's script gets its parts' keys in the
`lobbyq-i18n` blob (see kit/base.html) and reads them with `LobbyQ.t("welcome")`.
tests/web/test_i18n.py fails when one language lacks a key another has, or when a
page uses a key no catalogue has."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

FOLDER = Path(__file__).resolve().parent / "catalogues"
LANGUAGES = ("zh", "en")
DEFAULT = "zh"


@cache
def messages(lang: str) -> dict[str, str]:
    data: dict[str, str] = json.loads((FOLDER / f"{lang}.json").read_text(encoding="utf-8"))
    return data


def translate(key: str, lang: str = DEFAULT) -> str:
    """The text of `key`; a missing key is an error, never a silent fallback."""
    try:
        return messages(lang)[key]
    except KeyError:
        raise KeyError(f"no {lang!r} translation for {key!r} in {FOLDER}") from None


def catalogue(*parts: str) -> dict[str, Any]:
    """{lang: {key: text}} of the keys of these parts, with the part's prefix removed."""
    out: dict[str, Any] = {}
    for lang in LANGUAGES:
        table: dict[str, str] = {}
        for part in parts:
            prefix = part + "."
            table.update(
                {k[len(prefix) :]: v for k, v in messages(lang).items() if k.startswith(prefix)}
            )
        out[lang] = table
    return out
