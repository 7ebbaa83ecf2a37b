"""A branch's voice pack in the server: where `[branches.voice] pack` points, the announcer
built on it, and `lobbyq voice-pack check DIR`.

`pack` is a folder relative to the config file's folder (like `vip_customers_file`: IT staff
keep the pack beside the config they deploy; the data folder holds what LobbyQ writes).
"""

from __future__ import annotations

import logging
import string
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import typer

from lobby_display.announcer import Announcer, Strategy, VoiceSynth
from lobby_display.announcer.pack import (
    ClipProblem,
    PackError,
    PackSynth,
    VoicePack,
    clip_problems,
)
from lobby_display.announcer.text import number_tokens, spoken_counter
from server.config import AppConfig, BranchSettings, VoiceSettings

log = logging.getLogger("lobbyq.voice")

_STRIP = ",，。.、;；:：!！?？ \t\n"


def pack_folder(config: AppConfig, voice: VoiceSettings) -> Path | None:
    if not voice.pack:
        return None
    path = Path(voice.pack)
    if path.is_absolute():
        return path
    source = Path(config.source) if config.source else None
    base = source.parent if source is not None and source.is_file() else Path(".")
    return base / path


def make_announcer(
    config: AppConfig,
    branch: BranchSettings,
    *,
    synth: VoiceSynth | None,
    cache_dir: Path,
    url_prefix: str,
) -> Announcer | None:
    """The branch's announcer: on its voice pack if it has one, else on `synth` alone."""
    counters = [c.number for c in branch.counters]
    common: dict[str, Any] = {
        "languages": list(branch.voice.languages),
        "templates": dict(branch.voice.templates),
        "repeat": branch.voice.repeat,
        "cache_dir": cache_dir,
        "url_prefix": url_prefix,
        "counters": counters,
    }
    folder = pack_folder(config, branch.voice)
    if folder is not None:
        try:
            pack = VoicePack.load(folder)
        except PackError as exc:
            log.error(
                "voice pack of branch %s unusable, using the synthesizer: %s", branch.code, exc
            )
        else:
            return Announcer(
                **common,
                synth=PackSynth(pack, synth),
                strategy=Strategy.FRAGMENTS,
                letters=branch_letters(branch),
                gaps=pack.gaps,
            )
    if synth is None:
        return None
    return Announcer(**common, synth=synth)


def branch_letters(branch: BranchSettings) -> str:
    """The letters ticket numbers of this branch can hold (service and priority prefixes)."""
    prefixes = [s.prefix for s in branch.services]
    prefixes += [p.prefix for p in branch.priorities]
    return "".join(sorted({ch for prefix in prefixes for ch in prefix}))


def spoken_words(
    lang: str, templates: Iterable[str], letters: str, counters: Iterable[str]
) -> list[str]:
    """Every piece the announcer asks a voice for, as the `fragments` strategy splits calls."""
    words: list[str] = []
    for template in templates:
        for literal, _name, _spec, _conversion in string.Formatter().parse(template):
            if literal.strip(_STRIP):
                words.append(literal.strip(_STRIP))
    words += number_tokens("0123456789" + letters, lang)
    words += [spoken_counter(c, lang) for c in counters]
    return words


@dataclass
class PackReport:
    folder: Path
    error: str | None = None
    bad: list[ClipProblem] = field(default_factory=list)
    missing: dict[str, list[str]] = field(default_factory=dict)  # lang -> words said by espeak
    clips: int = 0

    @property
    def ok(self) -> bool:
        return self.error is None and not self.bad and not any(self.missing.values())


def check_pack(folder: Path, branches: Iterable[BranchSettings] = ()) -> PackReport:
    """Bad clips and the words no clip covers, for these branches' templates and numbers."""
    report = PackReport(folder)
    try:
        pack = VoicePack.load(folder)
    except PackError as exc:
        report.error = str(exc)
        return report
    branches = list(branches)
    for lang, key, path in pack.entries:
        report.clips += 1
        problems = clip_problems(path)
        if problems:
            report.bad.append(ClipProblem(lang, key, _shown(path, folder), "; ".join(problems)))
    spoken: set[str] = {lang for b in branches for lang in b.voice.languages} or set(pack.clips)
    for lang in sorted(spoken):
        if branches:
            templates = [b.voice.templates[lang] for b in branches if lang in b.voice.templates]
            letters = "".join(branch_letters(b) for b in branches)
            counters = [c.number for b in branches for c in b.counters]
        else:
            templates = [VoiceSettings().templates.get(lang, "")]
            letters, counters = string.ascii_uppercase, [str(n) for n in range(1, 11)]
        report.missing[lang] = pack.missing(spoken_words(lang, templates, letters, counters), lang)
    return report


def _shown(path: Path, folder: Path) -> str:
    try:
        return str(path.relative_to(folder.resolve()))
    except ValueError:
        return str(path)


def register(app: typer.Typer, read_config: Callable[..., Any]) -> None:
    voice_pack = typer.Typer(help="Voice packs: recorded clips spoken instead of espeak-ng.")
    app.add_typer(voice_pack, name="voice-pack")

    @voice_pack.command("check")
    def check(
        folder: Annotated[Path, typer.Argument(help="the pack's folder (with manifest.toml)")],
        config: Annotated[
            Path | None,
            typer.Option("--config", "-c", help="check the words of this config's templates"),
        ] = None,
    ) -> None:
        """List bad clips (format, rate, channels, untrimmed silence) and missing words."""
        branches = read_config(config).branches if config is not None else []
        report = check_pack(folder, branches)
        if report.error:
            typer.echo(f"ERROR {report.error}", err=True)
            raise typer.Exit(2)
        for bad in report.bad:
            typer.echo(f"BAD     {bad.lang} {bad.key!r} {bad.file}: {bad.problem}")
        for lang, words in report.missing.items():
            for word in words:
                typer.echo(f"MISSING {lang} {word!r} (espeak-ng will say it)")
        verdict = "ok" if report.ok else "problems found"
        missing = sum(len(w) for w in report.missing.values())
        typer.echo(
            f"{report.clips} clips, {len(report.bad)} bad, {missing} missing words: {verdict}"
        )
        if not report.ok:
            raise typer.Exit(1)
