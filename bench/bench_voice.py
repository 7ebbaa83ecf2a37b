"""Measure the announcer's two strategies on the real engine (pyttsx3 + espeak-ng), and a
voice pack (recorded clips, here sine tones written at bench time) with and without
espeak-ng filling in a language the pack lacks.

Run: ``.venv/bin/python bench/bench_voice.py [--calls 200]``

For each strategy, on a fresh cache folder:
- start-up: constructing the Announcer until its queue is empty (fragments warm up);
- call: how long ``announcement()`` itself takes (what the server's request pays);
- ready cold: from the call until every spoken WAV of a never-seen ticket is on disk;
- ready warm: the same when ``prepare(number, counter)`` ran at issue;
- burst: 12 counters call at the same instant, ready time of each (cold);
- synth per sentence: engine time spent at call time, and the sentence durations (longer and
  choppier = less natural).
The floor is reading one cached WAV from disk, measured in the same run.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import math
import statistics
import tempfile
import time
from array import array
from dataclasses import dataclass, field
from pathlib import Path

from lobby_display.announcer import Announcer, Pyttsx3Synth, Strategy
from lobby_display.announcer.pack import Gaps, PackSynth, VoicePack
from lobby_display.announcer.synth import VoiceSynth
from lobby_display.announcer.wav import MONO_16, Clip, read_wav, to_frames, write_wav

TEMPLATES = {
    "zh": "请{number}号到{counter}号窗口办理",
    "en": "Number {number}, please go to counter {counter}",
}
COUNTERS = [str(n) for n in range(1, 13)]


class TimedSynth:
    """Wraps a synthesizer and adds up the time spent in it."""

    def __init__(self, inner: VoiceSynth) -> None:
        self._inner = inner
        self.seconds = 0.0
        self.count = 0

    @property
    def tag(self) -> str:
        return self._inner.tag

    def available(self) -> bool:
        return self._inner.available()

    def voice_for(self, lang: str) -> str | None:
        return self._inner.voice_for(lang)

    def synthesize(self, text: str, voice: str, out_path: Path) -> None:
        started = time.perf_counter()
        try:
            self._inner.synthesize(text, voice, out_path)
        finally:
            self.seconds += time.perf_counter() - started
            self.count += 1


@dataclass
class Result:
    strategy: str
    startup_s: float = 0.0
    call_ms: list[float] = field(default_factory=list)
    cold_ms: list[float] = field(default_factory=list)
    warm_ms: list[float] = field(default_factory=list)
    burst_ms: list[float] = field(default_factory=list)
    synth_ms_per_sentence: float = 0.0
    duration_s: dict[str, float] = field(default_factory=dict)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def ready_ms(announcer: Announcer, number: str, counter: str) -> tuple[float, float, list[Path]]:
    """(ms inside announcement(), ms until every spoken file is on disk, the files)."""
    started = time.perf_counter()
    result = announcer.announcement(number, counter)
    returned = time.perf_counter()
    paths: list[Path] = []
    for url in result.audio[1:]:
        path = announcer.wait_for(url.rsplit("/", 1)[1], timeout=30)
        if path is None:
            raise RuntimeError(f"{url} was never made")
        paths.append(path)
    done = time.perf_counter()
    return (returned - started) * 1000, (done - started) * 1000, paths


def run_strategy(
    strategy: Strategy,
    engine: VoiceSynth,
    calls: int,
    folder: Path,
    *,
    name: str | None = None,
    gaps: Gaps | None = None,
) -> Result:
    synth = TimedSynth(engine)
    result = Result(name or strategy.value)
    started = time.perf_counter()
    announcer = Announcer(
        languages=["zh", "en"],
        templates=TEMPLATES,
        repeat=1,
        cache_dir=folder,
        synth=synth,
        strategy=strategy,
        counters=COUNTERS,
        # A pack warms the letters of the bench's numbers, as the server passes a branch's.
        **({"gaps": gaps, "letters": "CWX"} if gaps else {}),
    )
    if not announcer.drain(timeout=120):
        raise RuntimeError("start-up did not finish")
    result.startup_s = time.perf_counter() - started
    durations: dict[str, list[float]] = {"zh": [], "en": []}
    try:
        before = (synth.seconds, synth.count)
        for i in range(calls):
            call_ms, total_ms, paths = ready_ms(announcer, _number("C", i), _counter(i))
            result.call_ms.append(call_ms)
            result.cold_ms.append(total_ms)
            for lang, path in zip(("zh", "en"), paths, strict=True):
                durations[lang].append(read_wav(path).duration_s)
        sentences = calls * len(TEMPLATES)
        result.synth_ms_per_sentence = (synth.seconds - before[0]) * 1000 / sentences

        for i in range(calls):
            announcer.prepare(_number("W", i), _counter(i))
        if not announcer.drain(timeout=300):
            raise RuntimeError("preparation did not finish")
        for i in range(calls):
            _call_ms, total_ms, _paths = ready_ms(announcer, _number("W", i), _counter(i))
            result.warm_ms.append(total_ms)

        result.burst_ms = _burst(announcer, rounds=max(1, calls // 40))
    finally:
        announcer.close()
    result.duration_s = {lang: statistics.fmean(values) for lang, values in durations.items()}
    return result


def _burst(announcer: Announcer, rounds: int) -> list[float]:
    """All counters call at once; how long until each call's audio is ready."""
    ready: list[float] = []
    for r in range(rounds):
        started = time.perf_counter()
        per_call = [
            [url.rsplit("/", 1)[1] for url in announcer.announcement(number, counter).audio[1:]]
            for number, counter in ((_number("X", r * 100 + i), c) for i, c in enumerate(COUNTERS))
        ]
        # The worker serves calls in order, so waiting in order times each one.
        for names in per_call:
            for name in names:
                announcer.wait_for(name, timeout=30)
            ready.append((time.perf_counter() - started) * 1000)
    return ready


# What a recording studio would deliver for the bench's calls: every word of the templates,
# digits, the letters of the numbers and the counters 1-12.
PACK_WORDS = {
    "zh": ["请", "号", "到", "窗口", "办理", "十", "C", "W", "X", *"0123456789"],
    "en": ["number", "please go to counter", "C", "W", "X", *"0123456789", "10", "11", "12"],
}


def write_tone_pack(folder: Path, languages: tuple[str, ...]) -> VoicePack:
    """A pack of 0.3 s sine tones, one pitch per word, in the announcer's format."""
    lines = ["sample_rate = 22050", "[gaps]", "token = 0.10", "word = 0.12", "clause = 0.30"]
    for lang in languages:
        lines.append(f"[clips.{lang}]")
        for index, word in enumerate(PACK_WORDS[lang]):
            file = folder / lang / f"{index:02d}.wav"
            file.parent.mkdir(parents=True, exist_ok=True)
            hz = 220 + 40 * index
            rate = MONO_16.frame_rate
            values = array(
                "h",
                (int(12000 * math.sin(2 * math.pi * hz * t / rate)) for t in range(rate * 3 // 10)),
            )
            write_wav(file, Clip(MONO_16, to_frames(values)))
            lines.append(f'"{word}" = "{lang}/{index:02d}.wav"')
    (folder / "manifest.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return VoicePack.load(folder)


def floor_ms(folder: Path, reads: int) -> list[float]:
    """Reading one cached sentence from disk: the least any "ready" can cost."""
    path = next(p for p in folder.glob("*.wav") if not p.name.startswith("chime-"))
    times: list[float] = []
    for _ in range(reads):
        started = time.perf_counter()
        path.read_bytes()
        times.append((time.perf_counter() - started) * 1000)
    return times


def _number(letter: str, i: int) -> str:
    return f"{letter}{i:03}"


def _counter(i: int) -> str:
    return COUNTERS[i % len(COUNTERS)]


def _row(name: str, values: list[float]) -> str:
    return f"{percentile(values, 0.5):8.2f} {percentile(values, 0.99):8.2f}  {name}"


def report(results: list[Result], floor: list[float], calls: int) -> None:
    def fmt(values: list[float]) -> str:
        return f"{percentile(values, 0.5):7.2f} / {percentile(values, 0.99):7.2f}"

    print(f"\nannouncer strategies and voice packs, {calls} calls each (ms, p50 / p99)\n")
    header = [
        "strategy",
        "start-up s",
        "announcement()",
        "ready cold",
        "ready warm",
        "burst of 12",
        "synth ms/sentence",
        "zh s",
        "en s",
    ]
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" for _ in header) + "|")
    for r in results:
        cells = [
            r.strategy,
            f"{r.startup_s:.2f}",
            fmt(r.call_ms),
            fmt(r.cold_ms),
            fmt(r.warm_ms),
            fmt(r.burst_ms),
            f"{r.synth_ms_per_sentence:.1f}",
            f"{r.duration_s['zh']:.2f}",
            f"{r.duration_s['en']:.2f}",
        ]
        print("| " + " | ".join(cells) + " |")
    floor_cells = ["floor: read a cached WAV", "", "", fmt(floor), fmt(floor), "", "", "", ""]
    print("| " + " | ".join(floor_cells) + " |")
    print("\nready = until every spoken WAV of the call is on disk. The display plays the")
    print("1.0 s chime first, so audio ready within ~1000 ms is heard without delay.")
    print("synth ms/sentence = engine time spent at call time per spoken sentence (for a")
    print("pack: reading its clips, plus espeak-ng for what it lacks).")
    print("zh s / en s = mean length of the spoken sentence (longer = choppier).")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--rate", type=int, default=150)
    args = parser.parse_args()
    engine = Pyttsx3Synth(rate=args.rate)
    if not engine.available():
        raise SystemExit(f"no engine: {engine.unavailable_reason}")
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="bench-voice-") as tmp:
        # pyttsx3's espeak driver prints a line per file written; keep the table readable.
        with contextlib.redirect_stdout(io.StringIO()):
            for strategy in (Strategy.WHOLE, Strategy.FRAGMENTS):
                folder = Path(tmp) / strategy.value
                results.append(run_strategy(strategy, engine, args.calls, folder))
            for name, languages in (
                ("pack, zh + en", ("zh", "en")),
                ("pack zh, espeak en", ("zh",)),
            ):
                folder = Path(tmp) / name.replace(" ", "").replace(",", "-")
                pack = write_tone_pack(folder / "pack", languages)
                results.append(
                    run_strategy(
                        Strategy.FRAGMENTS,
                        PackSynth(pack, engine),
                        args.calls,
                        folder / "cache",
                        name=name,
                        gaps=pack.gaps,
                    )
                )
            floor = floor_ms(Path(tmp) / Strategy.WHOLE.value, args.calls)
        report(results, floor, args.calls)


if __name__ == "__main__":
    main()
