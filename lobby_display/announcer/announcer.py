"""The announcer: text and audio URLs for a call, without ever waiting on synthesis.

``announcement()`` renders the text, names the audio files by hash of their words and
returns at once; files not yet on disk are queued for ONE worker thread (calls ahead
of pre-synthesis), and the HTTP route that serves ``/audio/{name}`` blocks in
``wait_for()`` until the file is written. The display plays the ~1 s chime first,
which gives synthesis a head start before the first spoken file is needed.

Two strategies, measured with ``bench/bench_voice.py`` (pyttsx3 + espeak-ng, rate
150, zh + en, 200 calls each; p50 / p99, ranges over five runs on a shared 2-CPU
machine with a load average of 8–12, so the p99s carry scheduling noise):

- ``whole``: each language is ONE utterance, so the engine's prosody is intact.
  ``prepare(number, counter)`` makes it ahead when the counter is known (transfer to
  a chosen counter, recall). Pre-making it for every counter that may call a ticket
  is too many files (languages x counters per ticket, ~200 kB each), and the number
  part alone is not a sentence, so otherwise it is made at call time.
  Ready cold 28–36 / 34–98 ms (14–19 ms of engine time per sentence), warm
  0.1 / 0.3–14 ms; 12 counters calling at the same instant: the last ready within
  350–650 ms. Sentences last 4.66 s (zh) and 4.37 s (en).
- ``fragments``: the template's fixed parts, letters, digits and counter numerals are
  synthesized once at start (1.3–2.3 s), trimmed, and spliced per call: ready cold
  2–8 / 3–98 ms, warm 0.1 / 0.4–8 ms, a burst of 12 within 30–200 ms, no engine
  time per call. It sounds choppier (every digit with its own full tone, fixed gaps)
  and runs ~0.3 s longer (4.93 s zh, 4.65 s en).
- The floor, reading a cached WAV from disk, is 0.01 / 0.02–0.06 ms;
  ``announcement()`` itself returns in ~0.3 / 2–15 ms with either.

Default: ``whole``. The deadline that matters is the listener's: the display plays the
1.0 s chime before the first spoken file, and even a burst of calls has its sentences
ready well inside that (calls are also played one after another, each lasting ~10 s,
and the worker serves calls before pre-synthesis). Both strategies meet it with a wide
margin, so we keep the more natural audio. Choose ``fragments`` for an engine slow
enough that one sentence takes longer than the chime (SAPI5 on a weak PC), or when
calls must cost no synthesis at all.
"""

from __future__ import annotations

import itertools
import logging
import queue
import string
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from pathlib import Path
from types import TracebackType

from lobby_display.announcer.cache import AudioCache, audio_name
from lobby_display.announcer.chime import ChimeSpec, write_chime
from lobby_display.announcer.pack import Gaps
from lobby_display.announcer.synth import SynthError, VoiceSynth
from lobby_display.announcer.text import (
    CallWords,
    SegmentKind,
    caption,
    check_template,
    number_tokens,
    speech,
    speech_segments,
    spoken_counter,
)
from lobby_display.announcer.wav import Clip, read_wav, splice, trim_silence, write_wav

logger = logging.getLogger(__name__)


class Strategy(StrEnum):
    WHOLE = "whole"
    FRAGMENTS = "fragments"


DEFAULT_STRATEGY = Strategy.WHOLE


class Priority(IntEnum):
    """Queue order of the worker: a call someone is waiting for goes first."""

    STOP = -1
    CALL = 0
    PREPARE = 1
    WARM = 2


# Pauses when splicing fragments, tuned by ear against espeak-ng's own reading. A voice
# pack brings its own (recorded speech needs longer ones: pack.Gaps).
TOKEN_GAP_S = 0.06  # between the digits and letters of a number
WORD_GAP_S = 0.05  # between a fixed part and a value
CLAUSE_PAUSE_S = 0.22  # where the template has a comma or full stop
ESPEAK_GAPS = Gaps(token=TOKEN_GAP_S, word=WORD_GAP_S, clause=CLAUSE_PAUSE_S)
_PUNCTUATION = ",，。.、;；:：!！?？"
_STRIP = _PUNCTUATION + " \t\n"


@dataclass(frozen=True)
class Announcement:
    """What the TV shows and plays for one call.

    ``text`` is for reading (values as on the ticket), ``speech`` is what the audio
    says, ``audio`` lists URLs in play order (chime, then each language), and the
    display plays the whole list ``repeat`` times.
    """

    text: dict[str, str]
    speech: dict[str, str]
    audio: list[str]
    repeat: int

    def to_dict(self) -> dict[str, object]:
        """The ``announcement`` object of the ``ticket.called`` event."""
        return {
            "text": dict(self.text),
            "speech": dict(self.speech),
            "audio": list(self.audio),
            "repeat": self.repeat,
        }


@dataclass
class _Work:
    path: Path
    future: Future[Path]
    make: Callable[[Path], None]
    priority: int = field(default=Priority.WARM + 1)


class Announcer:
    """Announcement text and audio for one branch's voice config.

    Start-up (construction) writes the chime, checks the synthesizer and, with the
    ``fragments`` strategy, queues the fragments; use as a context manager or call
    ``close()``. ``counters`` are the branch's counter numbers, used to pre-make
    their spoken numerals; unknown counters still work, made on first use.
    """

    def __init__(
        self,
        *,
        languages: list[str],
        templates: dict[str, str],
        repeat: int,
        cache_dir: Path,
        synth: VoiceSynth,
        url_prefix: str = "/audio",
        strategy: Strategy | str = DEFAULT_STRATEGY,
        counters: Iterable[str] = (),
        letters: str = string.ascii_uppercase,
        max_cache_files: int = 2000,
        gaps: Gaps = ESPEAK_GAPS,
    ) -> None:
        missing = [lang for lang in languages if lang not in templates]
        if missing:
            raise ValueError(f"voice languages without a template: {', '.join(missing)}")
        for lang in languages:
            check_template(templates[lang])
        if repeat < 1:
            raise ValueError("voice repeat must be at least 1")
        self.languages = list(languages)
        self.strategy = Strategy(strategy)
        self.repeat = repeat
        self._gaps = gaps
        self._templates = {lang: templates[lang] for lang in languages}
        self._synth = synth
        self._url_prefix = url_prefix.rstrip("/")
        self._cache = AudioCache(cache_dir, max_files=max_cache_files)
        self._chime_name = self._write_chime()
        self._voices = self._find_voices()

        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._outstanding = 0
        self._closed = False
        self._pending: dict[Path, _Work] = {}
        self._seq = itertools.count()
        self._queue: queue.PriorityQueue[tuple[int, int, _Work | None]] = queue.PriorityQueue()
        self._worker = threading.Thread(target=self._run, name="announcer-worker", daemon=True)
        self._worker.start()
        if self.strategy is Strategy.FRAGMENTS:
            self._warm_fragments(counters, letters)

    # -- the calls the server and the audio route make ---------------------------------

    def announcement(
        self,
        number: str,
        counter: str,
        counter_name: Mapping[str, str] | None = None,
        service: str | Mapping[str, str] | None = None,
    ) -> Announcement:
        """Text and audio URLs for a call, returned at once; missing audio is queued."""
        call = CallWords(str(number), str(counter), counter_name, service)
        try:
            text = {lang: caption(self._templates[lang], lang, call) for lang in self.languages}
            said = {lang: speech(self._templates[lang], lang, call) for lang in self.languages}
            audio = [self._url(self._chime_name)]
            for lang, voice in self._voices.items():
                path = self._sentence(lang, voice, call, Priority.CALL)
                if path is not None:
                    audio.append(self._url(path.name))
            return Announcement(text, said, audio, self.repeat)
        except Exception:
            # A call must be shown even when the voice part breaks.
            logger.exception("announcement for %s at counter %s failed", number, counter)
            fallback = {lang: f"{number} → {counter}" for lang in self.languages}
            return Announcement(fallback, fallback, [self._url(self._chime_name)], self.repeat)

    def prepare(
        self,
        number: str,
        counter: str | None = None,
        counter_name: Mapping[str, str] | None = None,
        service: str | Mapping[str, str] | None = None,
    ) -> None:
        """Make audio ahead of the call (at issue, transfer, recall); fire and forget."""
        try:
            if self.strategy is Strategy.FRAGMENTS:
                for lang, voice in self._voices.items():
                    for token in number_tokens(str(number), lang):
                        self._ensure_fragment(voice, token, Priority.PREPARE)
            if counter is None:
                return
            call = CallWords(str(number), str(counter), counter_name, service)
            for lang, voice in self._voices.items():
                self._sentence(lang, voice, call, Priority.PREPARE)
        except Exception:
            logger.exception("preparing audio for %s failed", number)

    def audio_path(self, name: str) -> Path | None:
        """The file for ``/audio/{name}`` if it is on disk; None for unknown names."""
        path = self._cache.served_path(name)
        return path if path is not None and path.is_file() else None

    def wait_for(self, name: str, timeout: float) -> Path | None:
        """Block until ``name`` is written (for the GET of a file still in progress)."""
        path = self._cache.served_path(name)
        return None if path is None else self._cache.wait_for(path, timeout)

    def drain(self, timeout: float) -> bool:
        """Wait until the worker has nothing queued; False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._outstanding == 0, timeout)

    def close(self, timeout: float = 5.0) -> None:
        """Stop the worker; files in progress are abandoned (their waiters get None)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._cache.cancel_all()
        self._queue.put((Priority.STOP, -1, None))
        self._worker.join(timeout)

    def __enter__(self) -> Announcer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def voices(self) -> dict[str, str]:
        """Languages that get audio, with their voice ids (empty: text-only)."""
        return dict(self._voices)

    # -- start-up ----------------------------------------------------------------------

    def _write_chime(self) -> str:
        spec = ChimeSpec()
        name = f"chime-{spec.digest()}.wav"
        path = self._cache.directory / name
        if not path.is_file():
            # Unique temp name: several processes may share one cache folder.
            temp = path.with_name(f".{name}.{uuid.uuid4().hex[:8]}.part.wav")
            write_chime(temp, spec)
            temp.replace(path)
        return name

    def _find_voices(self) -> dict[str, str]:
        try:
            if not self._synth.available():
                reason = getattr(self._synth, "unavailable_reason", None) or "unavailable"
                logger.warning("voice synthesis %s: announcements are text-only", reason)
                return {}
            voices: dict[str, str] = {}
            for lang in self.languages:
                voice = self._synth.voice_for(lang)
                if voice is None:
                    logger.warning("no voice for %r: its announcement is text-only", lang)
                else:
                    voices[lang] = voice
            return voices
        except Exception:
            logger.exception("voice synthesis check failed: announcements are text-only")
            return {}

    def _warm_fragments(self, counters: Iterable[str], letters: str) -> None:
        for lang, voice in self._voices.items():
            texts: list[str] = []
            for literal, _name, _spec, _conv in string.Formatter().parse(self._templates[lang]):
                texts.append(literal)
            texts.extend(number_tokens("0123456789" + letters, lang))
            texts.extend(spoken_counter(str(c), lang) for c in counters)
            for text in texts:
                self._ensure_fragment(voice, text, Priority.WARM)

    # -- naming and queueing -----------------------------------------------------------

    def _url(self, name: str) -> str:
        return f"{self._url_prefix}/{name}"

    def _sentence(self, lang: str, voice: str, call: CallWords, priority: Priority) -> Path | None:
        """The sentence's served path, queued if missing; None if nothing to say."""
        template = self._templates[lang]
        if self.strategy is Strategy.WHOLE:
            text = speech(template, lang, call).strip()
            if not text:
                return None
            path = self._served(self._synth.tag, voice, "whole", text)
            make = self._whole_maker(text, voice)
        else:
            plan = _fragment_plan(template, lang, call, self._gaps)
            if not plan:
                return None
            key = "\x1e".join(f"{text}\x1d{gap}" for text, gap in plan)
            path = self._served(self._synth.tag, voice, "spliced", key)
            make = self._splice_maker(plan, voice)
        if path.is_file():
            self._cache.touch(path)
        else:
            self._ensure(path, make, priority)
        return path

    def _served(self, *key: str) -> Path:
        return self._cache.directory / audio_name(*key)

    def _ensure_fragment(self, voice: str, text: str, priority: Priority) -> _Work | None:
        core = text.strip(_STRIP)
        if not core:
            return None
        path = self._cache.fragment_path(audio_name(self._synth.tag, voice, "fragment", core))
        return self._ensure(path, self._fragment_maker(core, voice), priority)

    def _ensure(self, path: Path, make: Callable[[Path], None], priority: int) -> _Work | None:
        """Queue ``make`` for ``path`` unless on disk; re-queue sooner if now more urgent."""
        with self._lock:
            if self._closed or path.is_file():
                return None
            work = self._pending.get(path)
            if work is None:
                future, _ = self._cache.claim(path)
                work = self._pending[path] = _Work(path, future, make)
            elif priority >= work.priority:
                return work
            # A second entry at the better priority; whichever comes out first does
            # the job and the other finds the future taken.
            work.priority = priority
            self._outstanding += 1
            self._queue.put((priority, next(self._seq), work))
            return work

    # -- the worker --------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            priority, _seq, work = self._queue.get()
            if work is None:
                return
            try:
                self._execute(work)
            except Exception:
                logger.exception("announcer worker job for %s failed", work.path.name)
            finally:
                with self._idle:
                    self._outstanding -= 1
                    self._idle.notify_all()

    def _execute(self, work: _Work) -> None:
        try:
            self._cache.produce(work.path, work.future, work.make)
        finally:
            with self._lock:
                if self._pending.get(work.path) is work and work.future.done():
                    del self._pending[work.path]

    def _whole_maker(self, text: str, voice: str) -> Callable[[Path], None]:
        def make(temp: Path) -> None:
            self._synth.synthesize(text, voice, temp)

        return make

    def _fragment_maker(self, text: str, voice: str) -> Callable[[Path], None]:
        def make(temp: Path) -> None:
            # Still a ".part.wav" name, so a crash leaves nothing start-up won't sweep.
            raw = temp.with_name(temp.name.removesuffix(".part.wav") + ".raw.part.wav")
            try:
                self._synth.synthesize(text, voice, raw)
                write_wav(temp, trim_silence(read_wav(raw)))
            finally:
                raw.unlink(missing_ok=True)

        return make

    def _splice_maker(self, plan: list[tuple[str, float]], voice: str) -> Callable[[Path], None]:
        def make(temp: Path) -> None:
            clips: list[Clip] = []
            for text, _gap in plan:
                work = self._ensure_fragment(voice, text, Priority.CALL)
                if work is not None:
                    # Runs on the worker thread already: make the piece now rather
                    # than wait for a queue entry behind us.
                    self._execute(work)
                fragment = self._cache.fragment_path(
                    audio_name(self._synth.tag, voice, "fragment", text)
                )
                if not fragment.is_file():
                    raise SynthError(f"fragment {text!r} could not be made")
                clips.append(read_wav(fragment))
            write_wav(temp, splice(clips, [gap for _text, gap in plan]))

        return make


def _fragment_plan(
    template: str, lang: str, call: CallWords, gaps: Gaps = ESPEAK_GAPS
) -> list[tuple[str, float]]:
    """The fragments of a sentence with the pause before each (the first is ignored)."""
    plan: list[tuple[str, float]] = []
    carry = gaps.word
    for segment in speech_segments(template, lang, call):
        if segment.kind is SegmentKind.LITERAL:
            core = segment.text.strip(_STRIP)
            lead = segment.text[: len(segment.text) - len(segment.text.lstrip(_STRIP))]
            trail = segment.text[len(segment.text.rstrip(_STRIP)) :]
            gap = max(carry, gaps.clause if _has_punctuation(lead) else gaps.word)
            if core:
                plan.append((core, gap))
                gap = gaps.word
            carry = max(gap, gaps.clause if _has_punctuation(trail) else gaps.word)
            continue
        for index, token in enumerate(segment.tokens):
            core = token.strip(_STRIP)
            if not core:
                continue
            if index == 0:
                gap = carry
            elif lang == "en" and _is_letter(segment.tokens[index - 1]):
                gap = gaps.clause / 2  # "A, zero": the comma the whole sentence has
            else:
                gap = gaps.token
            plan.append((core, gap))
        carry = gaps.word
    return plan


def _has_punctuation(text: str) -> bool:
    return any(c in _PUNCTUATION for c in text)


def _is_letter(token: str) -> bool:
    return len(token) == 1 and token.isalpha()
