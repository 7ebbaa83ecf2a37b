"""Voice packs: a branch's recorded clips, spoken in place of the synthesizer.

A pack is a folder with a ``manifest.toml`` mapping the words of a call, per language, to
WAV files (see lobby_display/README.md, "Voice packs")::

    sample_rate = 22050
    [gaps]                      # optional, seconds
    token = 0.10                # between the letters and digits of a ticket number
    word = 0.12                 # between the words of a phrase, and around values
    clause = 0.30               # at a comma or full stop of the template
    [clips.zh]
    "请" = "zh/qing.wav"
    "0" = "zh/0.wav"            # a digit key means that digit's word: 零 / zero
    [clips.en]
    "please go to counter" = "en/please-go-to-counter.wav"

`PackSynth` is a `VoiceSynth`: asked for a piece of a sentence, it splits it into the
longest phrases the pack has (characters in Chinese, words in English), reads those clips
and asks the fallback synthesizer (espeak-ng) only for what no clip covers. The announcer's
``fragments`` strategy then splices the pieces of a call with the pack's gaps.

Clips must be what the announcer writes and the display plays: PCM 16-bit mono 22050 Hz.
We refuse other formats rather than resample: a resampled recording loses quality silently,
and `lobbyq voice-pack check` tells the branch the one sox command that converts a clip.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import tomllib
import uuid
import wave
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from lobby_display.announcer.synth import SynthError, VoiceSynth
from lobby_display.announcer.text import ASCII_DIGITS, EN_DIGITS, ZH_DIGITS
from lobby_display.announcer.wav import (
    MONO_16,
    SILENCE_THRESHOLD,
    Clip,
    read_wav,
    samples,
    splice,
    trim_silence,
    write_wav,
)

__all__ = [
    "MANIFEST",
    "ClipProblem",
    "Gaps",
    "PackError",
    "PackSynth",
    "Piece",
    "VoicePack",
    "clip_problems",
]

logger = logging.getLogger(__name__)

MANIFEST = "manifest.toml"
LANGUAGES = ("zh", "en")
# Leading or trailing silence longer than this is "not trimmed": spliced, it would add to
# the gaps and make a call sound halting.
MAX_EDGE_SILENCE_S = 0.05
_TOP_KEYS = {"name", "sample_rate", "gaps", "clips"}
_PACK_VOICE = "pack:"


class PackError(ValueError):
    """The manifest cannot be used; the message names the file and the key."""


@dataclass(frozen=True)
class Gaps:
    """Silence between the pieces of a call, in seconds."""

    token: float = 0.10
    word: float = 0.12
    clause: float = 0.30


@dataclass(frozen=True)
class ClipProblem:
    lang: str
    key: str
    file: str
    problem: str


@dataclass(frozen=True)
class Piece:
    """A run of a sentence: the pack's clip for `text`, or None to synthesize it."""

    text: str
    clip: Path | None


@dataclass
class VoicePack:
    folder: Path
    clips: dict[str, dict[str, Path]]  # lang -> normalized key -> file
    entries: list[tuple[str, str, Path]] = field(default_factory=list)  # as in the manifest
    gaps: Gaps = field(default_factory=Gaps)
    name: str = ""
    digest: str = ""

    @classmethod
    def load(cls, folder: Path | str) -> VoicePack:
        folder = Path(folder)
        manifest = folder / MANIFEST
        try:
            raw = manifest.read_bytes()
        except OSError as exc:
            raise PackError(f"voice pack {folder}: cannot read {MANIFEST}: {exc.strerror}") from exc
        try:
            data = tomllib.loads(raw.decode("utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise PackError(f"{manifest}: not valid TOML: {exc}") from exc
        unknown = set(data) - _TOP_KEYS
        if unknown:
            raise PackError(f"{manifest}: unknown key(s) {sorted(unknown)}")
        rate = data.get("sample_rate", MONO_16.frame_rate)
        if rate != MONO_16.frame_rate:
            raise PackError(
                f"{manifest}: sample_rate must be {MONO_16.frame_rate} (the announcer's format),"
                f" not {rate!r}; convert: sox in.wav -r {MONO_16.frame_rate} -c 1 -b 16 out.wav"
            )
        clips: dict[str, dict[str, Path]] = {}
        entries: list[tuple[str, str, Path]] = []
        sections = data.get("clips", {})
        if not isinstance(sections, dict) or not sections:
            raise PackError(f"{manifest}: no [clips.zh] or [clips.en] table")
        digest = hashlib.sha256(raw)
        for lang, table in sections.items():
            if lang not in LANGUAGES or not isinstance(table, dict):
                raise PackError(f"{manifest}: [clips.{lang}] is not one of {list(LANGUAGES)}")
            clips[lang] = {}
            for key, file in table.items():
                if not isinstance(file, str) or not key.strip():
                    raise PackError(f"{manifest}: clips.{lang}.{key!r} must name a WAV file")
                path = (folder / file).resolve()
                if not path.is_relative_to(folder.resolve()):
                    raise PackError(f"{manifest}: clips.{lang}.{key!r} is outside the pack")
                entries.append((lang, key, path))
                for name in _names(key, lang):
                    clips[lang][name] = path
                digest.update(f"{lang}\x1f{key}\x1f{file}\x1f{_stamp(path)}\x1e".encode())
        return cls(
            folder=folder,
            clips=clips,
            entries=entries,
            gaps=_gaps(data.get("gaps", {}), manifest),
            name=str(data.get("name", folder.name)),
            digest=digest.hexdigest()[:16],
        )

    def pieces(self, text: str, lang: str) -> list[Piece]:
        """`text` as the longest phrases the pack has, and runs of what it lacks."""
        table = self.clips.get(lang, {})
        units = _units(text, lang)
        longest = max((len(_units(k, lang)) for k in table), default=0)
        out: list[Piece] = []
        missing: list[str] = []
        i = 0
        while i < len(units):
            for size in range(min(longest, len(units) - i), 0, -1):
                key = _join(units[i : i + size], lang)
                if key in table:
                    if missing:
                        out.append(Piece(_join(missing, lang), None))
                        missing = []
                    out.append(Piece(key, table[key]))
                    i += size
                    break
            else:
                missing.append(units[i])
                i += 1
        if missing:
            out.append(Piece(_join(missing, lang), None))
        return out

    def missing(self, texts: Iterable[str], lang: str) -> list[str]:
        """The runs of `texts` no clip covers (what espeak-ng would say), in order, once."""
        found: dict[str, None] = {}
        for text in texts:
            for piece in self.pieces(text, lang):
                if piece.clip is None:
                    found[piece.text] = None
        return list(found)


class PackSynth:
    """The pack's clips first, the fallback synthesizer for anything they do not cover."""

    def __init__(self, pack: VoicePack, fallback: VoiceSynth | None) -> None:
        self.pack = pack
        self._fallback = fallback
        self._clips: dict[Path, Clip | None] = {}
        self._lock = threading.Lock()

    @property
    def tag(self) -> str:
        fallback = self._fallback.tag if self._fallback is not None else "none"
        return f"pack-{self.pack.digest}+{fallback}"

    def available(self) -> bool:
        return True

    def voice_for(self, lang: str) -> str | None:
        if lang in self.pack.clips:
            return _PACK_VOICE + lang
        return self._fallback_voice(lang)

    def synthesize(self, text: str, voice: str, out_path: Path) -> None:
        if not voice.startswith(_PACK_VOICE):
            if self._fallback is None:
                raise SynthError(f"no voice for {text!r}")
            self._fallback.synthesize(text, voice, out_path)
            return
        lang = voice.removeprefix(_PACK_VOICE)
        clips = [self._piece(piece, lang, out_path) for piece in self.pack.pieces(text, lang)]
        if not clips:
            raise SynthError(f"nothing to say in {text!r}")
        gaps = [self.pack.gaps.word] * len(clips)
        write_wav(out_path, splice(clips, gaps))

    def _piece(self, piece: Piece, lang: str, out_path: Path) -> Clip:
        if piece.clip is not None:
            clip = self._clip(piece.clip)
            if clip is not None:
                return clip
        return self._synthesized(piece.text, lang, out_path)

    def _clip(self, path: Path) -> Clip | None:
        with self._lock:
            if path in self._clips:
                return self._clips[path]
        problems = clip_problems(path)
        clip = None
        if problems:
            # Bad clips are spoken by the fallback; `lobbyq voice-pack check` lists them.
            logger.warning("voice pack clip %s unusable (%s)", path, "; ".join(problems))
        else:
            clip = trim_silence(read_wav(path))
        with self._lock:
            self._clips[path] = clip
        return clip

    def _synthesized(self, text: str, lang: str, out_path: Path) -> Clip:
        voice = self._fallback_voice(lang)
        if self._fallback is None or voice is None:
            raise SynthError(f"the voice pack has no clip for {text!r} and there is no fallback")
        temp = out_path.with_name(f".{uuid.uuid4().hex[:12]}.fallback.part.wav")
        try:
            self._fallback.synthesize(text, voice, temp)
            clip = trim_silence(read_wav(temp))
        finally:
            temp.unlink(missing_ok=True)
        if clip.format != MONO_16:
            raise SynthError(f"fallback audio for {text!r} is {clip.format}, not {MONO_16}")
        return clip

    def _fallback_voice(self, lang: str) -> str | None:
        if self._fallback is None or not self._fallback.available():
            return None
        return self._fallback.voice_for(lang)


def clip_problems(path: Path) -> list[str]:
    """What is wrong with one clip for a pack (empty: usable as is)."""
    if not path.is_file():
        return ["file missing"]
    try:
        with wave.open(str(path), "rb") as reader:
            channels, width = reader.getnchannels(), reader.getsampwidth()
            rate, frames = reader.getframerate(), reader.readframes(reader.getnframes())
    except (wave.Error, EOFError, OSError) as exc:
        return [f"not a PCM WAV file ({exc})"]
    problems = []
    if width != MONO_16.sample_width:
        problems.append(f"{8 * width}-bit, needs 16-bit")
    if channels != 1:
        problems.append(f"{channels} channels, needs mono")
    if rate != MONO_16.frame_rate:
        problems.append(f"{rate} Hz, needs {MONO_16.frame_rate} Hz")
    if problems:
        sox = f"sox IN.wav -r {MONO_16.frame_rate} -c 1 -b 16 OUT.wav"
        return [*problems, f"convert: {sox}"]
    values = samples(frames)
    loud = [i for i, v in enumerate(values) if abs(v) > SILENCE_THRESHOLD]
    if not loud:
        return ["silent"]
    lead, trail = loud[0] / rate, (len(values) - 1 - loud[-1]) / rate
    if lead > MAX_EDGE_SILENCE_S or trail > MAX_EDGE_SILENCE_S:
        problems.append(
            f"silence not trimmed ({lead:.2f} s before, {trail:.2f} s after; at most"
            f" {MAX_EDGE_SILENCE_S:.2f} s): sox IN.wav OUT.wav silence 1 0.01 1% reverse"
            " silence 1 0.01 1% reverse"
        )
    return problems


def _names(key: str, lang: str) -> list[str]:
    """What a manifest key matches: itself, and for a digit also its word (1: 一 / one),
    since numbers are read digit by digit but counters as numerals ("counter 1")."""
    key = key.strip()
    names = [_join(_units(key, lang), lang)]
    if len(key) == 1 and key in ASCII_DIGITS:
        names.append(ZH_DIGITS[int(key)] if lang == "zh" else EN_DIGITS[int(key)])
    return names


def _units(text: str, lang: str) -> list[str]:
    """Chinese: one unit per character (spaces dropped); other languages: lower-case words."""
    if lang == "zh":
        return [ch for ch in text if not ch.isspace() and ch not in _SKIP]
    words = "".join(" " if ch in _SKIP else ch for ch in text).split()
    return [w.casefold() for w in words]


def _join(units: list[str], lang: str) -> str:
    return "".join(units) if lang == "zh" else " ".join(units)


_SKIP = ",，。.、;；:：!！?？"


def _gaps(raw: object, manifest: Path) -> Gaps:
    if not isinstance(raw, Mapping):
        raise PackError(f"{manifest}: [gaps] must be a table")
    known = {"token", "word", "clause"}
    if set(raw) - known:
        raise PackError(f"{manifest}: unknown [gaps] key(s) {sorted(set(raw) - known)}")
    values = {}
    for key, value in raw.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 2:
            raise PackError(f"{manifest}: gaps.{key} must be seconds between 0 and 2")
        values[key] = float(value)
    return Gaps(**values)


def _stamp(path: Path) -> str:
    try:
        stat = path.stat()
    except OSError:
        return "missing"
    return f"{stat.st_size}:{stat.st_mtime_ns}"
