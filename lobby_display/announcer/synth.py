"""Voice synthesis behind a small Protocol, with the real pyttsx3 engine and a fake.

pyttsx3 is not thread-safe, and its espeak-ng driver keeps one process-wide espeak
instance and one global synthesis callback. So every ``Pyttsx3Synth`` in a process
shares ONE engine thread that owns the engine; callers submit jobs through a queue
and get futures. Each job is one ``save_to_file`` followed by one ``runAndWait``:
the espeak driver remembers a single output file, so batching would lose files.

There is no sound device on a server: audio is always written to WAV files.
"""

from __future__ import annotations

import logging
import math
import queue
import threading
import time
from array import array
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from lobby_display.announcer.wav import MONO_16, Clip, to_frames, write_wav

logger = logging.getLogger(__name__)

# espeak-ng voice ids. Plain "cmn" reads Latin letters as English and misreads
# 请/号/到; "cmn-latn-pinyin" reads them as Mandarin and capitals as letter names.
ESPEAK_VOICES: Mapping[str, str] = {"zh": "cmn-latn-pinyin", "en": "en-us"}
_EMPTY_OUTPUT_RETRIES = 4
_WAV_HEADER_BYTES = 44
# espeak-ng (pyttsx3's retrieval mode) synthesizes on a thread of its own and queues
# rate and volume changes there; the engine thread waits until espeak is idle before
# the next job. The cap only keeps a wedged espeak from stopping the announcer for ever.
_ESPEAK_SETTLE_S = 30.0
DEFAULT_RATE = 150  # words per minute; espeak's 175–200 is too fast for a lobby


class SynthError(RuntimeError):
    """Synthesis of one utterance failed."""


class VoiceSynth(Protocol):
    """Turns text into a WAV file. Implementations may block; the announcer calls them
    from its own worker thread, never from a request."""

    @property
    def tag(self) -> str:
        """Engine and settings that change the sound; part of every cache key."""
        ...

    def available(self) -> bool:
        """False when no audio can be produced (no engine, no espeak)."""
        ...

    def voice_for(self, lang: str) -> str | None:
        """The engine's voice id for a language, or None when it has none."""
        ...

    def synthesize(self, text: str, voice: str, out_path: Path) -> None:
        """Write ``text`` spoken by ``voice`` to ``out_path`` as WAV; raise on failure."""
        ...


@dataclass
class _Job:
    text: str
    voice: str
    rate: int
    volume: float
    out_path: Path
    future: Future[None]


class _EngineThread:
    """The one thread that owns a pyttsx3 engine and runs jobs from a queue."""

    def __init__(self, driver: str | None) -> None:
        self._driver = driver
        self._jobs: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self._ready = threading.Event()
        self._errors: list[str] = []
        self.failure: str | None = None
        self._espeak_busy: Callable[[], Any] | None = None
        self.voice_ids: frozenset[str] = frozenset()
        self.thread = threading.Thread(
            target=self._run, name=f"pyttsx3-engine-{driver or 'default'}", daemon=True
        )
        self.thread.start()

    def wait_ready(self, timeout: float) -> bool:
        return self._ready.wait(timeout)

    def submit(self, job: _Job) -> None:
        if self.failure is not None:
            job.future.set_exception(SynthError(self.failure))
            return
        self._jobs.put(job)

    def _run(self) -> None:
        try:
            engine = self._start_engine()
        except Exception as exc:  # any import or driver failure means "no voice"
            self.failure = f"pyttsx3 engine unavailable: {type(exc).__name__}: {exc}"
            self._ready.set()
            self._fail_queued()
            return
        self._ready.set()
        while True:
            job = self._jobs.get()
            if not job.future.set_running_or_notify_cancel():
                continue
            try:
                self._synthesize(engine, job)
            except BaseException as exc:
                job.future.set_exception(exc)
            else:
                job.future.set_result(None)

    def _start_engine(self) -> Any:
        import pyttsx3  # imported here: a missing package must not break importing us

        engine = pyttsx3.init(self._driver)
        driver_module = getattr(getattr(engine, "proxy", None), "_module", None)
        if getattr(driver_module, "__name__", "") == "pyttsx3.drivers.espeak":
            from pyttsx3.drivers import _espeak

            self._espeak_busy = _espeak.IsPlaying
            _espeak.Synth = exact_espeak_synth
            # Its driver print()s "Audio saved to ..." for every file, into the server's
            # output: its module's own `print` turns that into a debug log line.
            driver_module.print = _driver_print  # type: ignore[union-attr]
        ids: set[str] = set()
        for voice in engine.getProperty("voices") or []:
            voice_id = str(voice.id).lower()
            # espeak ids look like "sit/cmn-latn-pinyin"; config uses the last part.
            ids.update({voice_id, voice_id.rsplit("/", 1)[-1]})
        self.voice_ids = frozenset(ids)
        # pyttsx3 reports a failed command (e.g. an unknown voice) only through this
        # callback and then goes on with the previous voice; we turn it into an error.
        engine.connect("error", self._on_error)
        # A fresh pyttsx3 driver starts "busy", so the first runAndWait runs its own
        # end-of-loop command before the utterance and returns while espeak is still
        # speaking: the first file would be missing or cut. One empty run settles it.
        engine.runAndWait()
        return engine

    def _on_error(self, name: object = None, exception: object = None, **_: object) -> None:
        self._errors.append(repr(exception))

    def _synthesize(self, engine: Any, job: _Job) -> None:
        # pyttsx3 2.99 with espeak-ng sometimes wrote a WAV with no frames (a few % of
        # jobs before _wait_for_espeak_queue and the warm-up run, none in 300 since); a
        # retry is cheap insurance, and a fragment cached empty would stay silent.
        for _attempt in range(_EMPTY_OUTPUT_RETRIES):
            self._synthesize_once(engine, job)
            if job.out_path.is_file() and job.out_path.stat().st_size > _WAV_HEADER_BYTES:
                return
        raise SynthError(f"pyttsx3 wrote no audio for {job.text!r}")

    def _synthesize_once(self, engine: Any, job: _Job) -> None:
        self._errors.clear()
        self._wait_for_espeak_queue()  # nothing of an earlier attempt still in flight
        job.out_path.unlink(missing_ok=True)
        try:
            engine.setProperty("voice", job.voice)
            engine.setProperty("rate", job.rate)
            engine.setProperty("volume", job.volume)
            self._wait_for_espeak_queue()
            engine.save_to_file(job.text, str(job.out_path))
            engine.runAndWait()
        except Exception:
            # runAndWait leaves the engine "in loop" when a command raises; without
            # endLoop every later job would fail with "run loop already started".
            try:
                engine.endLoop()
            except Exception:
                logger.debug("pyttsx3 endLoop after a failed job also failed", exc_info=True)
            raise
        if self._errors:
            raise SynthError(f"pyttsx3 reported {'; '.join(self._errors)} for {job.text!r}")

    def _wait_for_espeak_queue(self) -> None:
        # espeak-ng in pyttsx3's retrieval mode queues rate and volume changes on its
        # own thread, and runAndWait begins with a Cancel that drops whatever is still
        # queued: the utterance then comes out at the previous job's rate. Waiting
        # until espeak's queue is empty (well under a millisecond) keeps every change.
        if self._espeak_busy is None:
            return
        deadline = time.monotonic() + _ESPEAK_SETTLE_S
        while self._espeak_busy():
            if time.monotonic() > deadline:
                logger.warning("espeak-ng still busy after %.0f s; going on", _ESPEAK_SETTLE_S)
                return
            time.sleep(0.0005)

    def _fail_queued(self) -> None:
        while True:
            try:
                job = self._jobs.get_nowait()
            except queue.Empty:
                return
            if job.future.set_running_or_notify_cancel():
                job.future.set_exception(SynthError(self.failure or "engine unavailable"))


def exact_espeak_synth(
    text: str | bytes,
    position: int = 0,
    position_type: int = 1,  # espeak's POS_CHARACTER
    end_position: int = 0,
    flags: int = 0,
    user_data: Any = None,
) -> int:
    """``espeak_Synth`` with the text's true size; replaces pyttsx3's ``_espeak.Synth``.

    pyttsx3 2.99 passes ``len(text) * 10`` as the size, and espeak-ng in retrieval mode
    copies ``size`` bytes of the text into its queue (``create_espeak_text``: ``memcpy(a_text,
    text, size)``): it reads nine times the text's length past the end of the Python bytes
    object. That is harmless while the bytes after it are mapped and a segfault in
    ``espeak_Synth`` when the object lies near the end of a heap arena: the crash of issue 12
    (a pytest worker or a server dying under load, once in a few whole-suite runs).
    ``tests/lobby_display/test_espeak_overread.py`` reproduces it with a guard page.
    A Python bytes object always ends in a NUL, so ``len + 1`` bytes are readable.
    """
    from pyttsx3.drivers import _espeak

    data = text.encode("utf-8") if isinstance(text, str) else bytes(text)
    result: int = _espeak.cSynth(
        data, len(data) + 1, position, position_type, end_position, flags, None, user_data
    )
    return result


def _driver_print(*values: object, **_: object) -> None:
    logger.debug("pyttsx3: %s", " ".join(str(v) for v in values))


_engines: dict[str | None, _EngineThread] = {}
_engines_lock = threading.Lock()


def _engine_thread(driver: str | None) -> _EngineThread:
    with _engines_lock:
        engine = _engines.get(driver)
        if engine is None:
            engine = _engines[driver] = _EngineThread(driver)
        return engine


class Pyttsx3Synth:
    """pyttsx3 (espeak-ng on Linux, SAPI5 on Windows) on its one engine thread.

    ``voices`` maps languages to engine voice ids; the default suits espeak-ng.
    Construction starts the engine thread (once per process) without waiting.
    """

    def __init__(
        self,
        *,
        rate: int = DEFAULT_RATE,
        volume: float = 1.0,
        voices: Mapping[str, str] | None = None,
        driver: str | None = None,
        init_timeout_s: float = 10.0,
        job_timeout_s: float = 30.0,
    ) -> None:
        self._rate = rate
        self._volume = volume
        self._voices = dict(ESPEAK_VOICES if voices is None else voices)
        self._driver = driver
        self._init_timeout_s = init_timeout_s
        self._job_timeout_s = job_timeout_s
        self._engine = _engine_thread(driver)

    @property
    def tag(self) -> str:
        return f"pyttsx3:{self._driver or 'default'}:rate={self._rate}:volume={self._volume}"

    @property
    def engine_thread(self) -> threading.Thread:
        return self._engine.thread

    @property
    def unavailable_reason(self) -> str | None:
        if not self._engine.wait_ready(self._init_timeout_s):
            return f"pyttsx3 engine did not start within {self._init_timeout_s} s"
        return self._engine.failure

    def available(self) -> bool:
        return self.unavailable_reason is None

    def voice_for(self, lang: str) -> str | None:
        voice = self._voices.get(lang)
        if voice is None or not self.available():
            return None
        known = self._engine.voice_ids
        # An engine that lists no voices gets the configured id on trust.
        if known and voice.lower() not in known:
            logger.warning("voice %r for %r is not installed in the speech engine", voice, lang)
            return None
        return voice

    def submit(self, text: str, voice: str, out_path: Path) -> Future[None]:
        """Queue one utterance for the engine thread; the future completes when written."""
        future: Future[None] = Future()
        self._engine.submit(_Job(text, voice, self._rate, self._volume, out_path, future))
        return future

    def synthesize(self, text: str, voice: str, out_path: Path) -> None:
        future = self.submit(text, voice, out_path)
        try:
            future.result(timeout=self._job_timeout_s)
        except TimeoutError as exc:
            future.cancel()
            raise SynthError(f"synthesis took longer than {self._job_timeout_s} s") from exc


class FakeSynth:
    """A synthesizer for tests: writes a short tone, counts calls, can block or fail.

    ``gate``: when given, each call waits until it is set (a stuck engine).
    """

    def __init__(
        self,
        *,
        is_available: bool = True,
        languages: tuple[str, ...] = ("zh", "en"),
        gate: threading.Event | None = None,
        fail: bool = False,
        seconds_per_char: float = 0.03,
    ) -> None:
        self._is_available = is_available
        self._languages = languages
        self._gate = gate
        self._fail = fail
        self._seconds_per_char = seconds_per_char
        self._lock = threading.Lock()
        self.calls: list[tuple[str, str]] = []
        self.thread_ids: set[int] = set()

    tag = "fake"

    def available(self) -> bool:
        return self._is_available

    def voice_for(self, lang: str) -> str | None:
        return f"fake-{lang}" if self._is_available and lang in self._languages else None

    def synthesize(self, text: str, voice: str, out_path: Path) -> None:
        with self._lock:
            self.calls.append((text, voice))
            self.thread_ids.add(threading.get_ident())
        if self._gate is not None:
            self._gate.wait()
        if self._fail:
            raise SynthError("fake synth told to fail")
        write_wav(out_path, _tone_clip(max(0.1, self._seconds_per_char * len(text))))


def _tone_clip(seconds: float, hz: float = 440.0) -> Clip:
    rate = MONO_16.frame_rate
    count = round(seconds * rate)
    values = array("h", (round(8000 * math.sin(2 * math.pi * hz * i / rate)) for i in range(count)))
    return Clip(MONO_16, to_frames(values))
