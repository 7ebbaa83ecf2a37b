"""The cause of issue 12's segfault, reproduced, and the fix that avoids it.

pyttsx3 2.99's ``_espeak.Synth`` tells espeak-ng the text is ``len(text) * 10`` bytes
long; espeak-ng in retrieval mode copies that many bytes into its queue. The text is
put just before a page the process may not read (a guard page): with pyttsx3's size
espeak reads into it and the process dies of SIGSEGV; with the true size (what
``exact_espeak_synth`` passes) it synthesizes. Each case runs in a subprocess of its
own, as a crash must not take the test run with it, and espeak's one instance per
process must not be shared with the session's announcer engine.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap

from lobby_display.announcer import Pyttsx3Synth
from lobby_display.announcer.synth import exact_espeak_synth

_GUARD_PAGE = textwrap.dedent(
    """
    import ctypes, mmap, sys
    from pyttsx3.drivers import _espeak

    assert _espeak.Initialize(_espeak.AUDIO_OUTPUT_RETRIEVAL, 1000) != -1
    samples = []

    def on_synth(wav, count, events):
        samples.append(count)
        return 0

    _espeak.SetSynthCallback(on_synth)
    text = "请 A 零零一 号到 3 号窗口".encode("utf-8")
    page = mmap.PAGESIZE
    region = mmap.mmap(-1, 2 * page, prot=mmap.PROT_READ | mmap.PROT_WRITE)
    base = ctypes.addressof(ctypes.c_char.from_buffer(region))
    libc = ctypes.CDLL(None)
    libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    assert libc.mprotect(base + page, page, 0) == 0
    start = page - (len(text) + 1)  # the text and its NUL end where the guard begins
    region[start:start + len(text)] = text
    region[page - 1:page] = b"\\0"
    size = len(text) * 10 if sys.argv[1] == "pyttsx3" else len(text) + 1
    result = _espeak.cSynth(
        ctypes.c_char_p(base + start), size, 0, _espeak.POS_CHARACTER, 0,
        _espeak.CHARS_UTF8, None, None,
    )
    _espeak.Synchronize()
    print(result, sum(samples))
    """
)

_SIZES = textwrap.dedent(
    """
    from pyttsx3.drivers import _espeak
    from lobby_display.announcer.synth import exact_espeak_synth

    sizes = []
    _espeak.cSynth = lambda text, size, *rest: sizes.append(size) or 0
    text = "请 A 零零一 号到 3 号窗口"
    _espeak.Synth(text.encode("utf-8"), flags=_espeak.CHARS_UTF8)
    exact_espeak_synth(text.encode("utf-8"), flags=_espeak.CHARS_UTF8)
    print(len(text.encode("utf-8")), *sizes)
    """
)


def _run(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", script, *args], capture_output=True, text=True, timeout=60
    )


def test_pyttsx3_tells_espeak_ten_times_the_size_and_the_fix_tells_the_truth() -> None:
    done = _run(_SIZES)
    assert done.returncode == 0, done.stderr
    length, pyttsx3_size, exact_size = map(int, done.stdout.split())
    assert pyttsx3_size == 10 * length
    assert exact_size == length + 1


def test_espeak_reads_the_size_it_is_told_past_the_end_of_the_text() -> None:
    crashed = _run(_GUARD_PAGE, "pyttsx3")
    assert crashed.returncode == -signal.SIGSEGV, (crashed.returncode, crashed.stderr)

    exact = _run(_GUARD_PAGE, "exact")
    assert exact.returncode == 0, exact.stderr
    result, samples = map(int, exact.stdout.split())
    assert result == 0  # EE_OK
    assert samples > 10_000  # the sentence was spoken: over half a second at 22,050 Hz


def test_the_engine_synthesizes_through_the_exact_size(espeak: Pyttsx3Synth) -> None:
    from pyttsx3.drivers import _espeak

    assert espeak.available()
    assert _espeak.Synth is exact_espeak_synth
