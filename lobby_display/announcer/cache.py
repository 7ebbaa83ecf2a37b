"""The on-disk audio cache, and the bookkeeping of files still being made.

A file's name is a hash of what makes its sound (synth tag, voice, text, how it was
made), so the announcer can hand out a URL before the file exists and any later
call with the same words hits the same file. Files are written to a temporary
name and renamed into place, so a reader never sees half a WAV.

Layout under ``cache_dir``: served files (sentences and the chime) at the top;
``fragments/`` holds the spliceable pieces, which are never served.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import CancelledError, Future
from pathlib import Path

logger = logging.getLogger(__name__)

# Names we hand out; anything else (paths, dot files, temp files) is not ours to serve.
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,79}\.wav$")
_TEMP_SUFFIX = ".part.wav"


def audio_name(*key: str, prefix: str = "") -> str:
    digest = hashlib.sha256("\x1f".join(key).encode("utf-8")).hexdigest()[:32]
    return f"{prefix}{digest}.wav"


def is_audio_name(name: str) -> bool:
    return bool(_NAME.match(name))


class AudioCache:
    """WAV files on disk plus a future per file in progress.

    ``max_files`` bounds the served sentences: one per language per new call adds up
    over a busy day. The oldest go first; the chime and fragments are kept.
    """

    def __init__(self, directory: Path, *, max_files: int = 2000) -> None:
        self.directory = directory
        self.fragments = directory / "fragments"
        self.fragments.mkdir(parents=True, exist_ok=True)
        self._max_files = max_files
        self._lock = threading.Lock()
        self._in_progress: dict[Path, Future[Path]] = {}
        self._writes = 0
        self._remove_stale_temp_files()

    def served_path(self, name: str) -> Path | None:
        """Where a served name lives, or None for a name we never hand out."""
        return self.directory / name if is_audio_name(name) else None

    def fragment_path(self, name: str) -> Path:
        return self.fragments / name

    def ready(self, path: Path) -> bool:
        return path.is_file()

    def claim(self, path: Path) -> tuple[Future[Path], bool]:
        """The future for a file in progress; ``True`` when this call created it."""
        with self._lock:
            future = self._in_progress.get(path)
            if future is not None:
                return future, False
            future = self._in_progress[path] = Future()
            return future, True

    def touch(self, path: Path) -> None:
        """Mark a served file as used now, so pruning keeps it while it is played."""
        with contextlib.suppress(OSError):
            os.utime(path)

    def in_progress(self, path: Path) -> Future[Path] | None:
        with self._lock:
            return self._in_progress.get(path)

    def produce(self, path: Path, future: Future[Path], make: Callable[[Path], None]) -> bool:
        """Run ``make`` into a temporary file, rename it into place, settle the future.

        Returns False when the future was already taken (done, cancelled or running).
        """
        if future.running() or future.done() or not future.set_running_or_notify_cancel():
            return False
        temp = path.with_name(f".{path.stem}.{uuid.uuid4().hex[:8]}{_TEMP_SUFFIX}")
        try:
            make(temp)
            os.replace(temp, path)
        except Exception as exc:
            logger.warning("audio %s could not be made: %s", path.name, exc)
            temp.unlink(missing_ok=True)
            self._settle(path)
            future.set_exception(exc)
            return True
        # The file is in place before the future leaves the table, so a reader that
        # finds no future always finds the file (or a genuine miss).
        self._settle(path)
        future.set_result(path)
        self._count_write()
        return True

    def wait_for(self, path: Path, timeout: float) -> Path | None:
        """Block until a file in progress is written; None if it fails, times out or is
        unknown."""
        future = self.in_progress(path)
        if future is None:
            return path if path.is_file() else None
        try:
            return future.result(timeout=timeout)
        except (TimeoutError, CancelledError):
            return None
        except Exception:
            return None  # the failure was logged where it happened

    def cancel_all(self) -> None:
        with self._lock:
            futures = list(self._in_progress.values())
            self._in_progress.clear()
        for future in futures:
            future.cancel()

    def prune(self) -> int:
        """Delete the oldest served sentences beyond ``max_files``; return how many."""
        with self._lock:
            busy = set(self._in_progress)
        sentences = [
            p
            for p in self.directory.glob("*.wav")
            if is_audio_name(p.name) and not p.name.startswith("chime-") and p not in busy
        ]
        excess = len(sentences) - self._max_files
        if excess <= 0:
            return 0
        sentences.sort(key=_mtime)
        for path in sentences[:excess]:
            path.unlink(missing_ok=True)
        logger.info("audio cache: removed %d old files from %s", excess, self.directory)
        return excess

    def _settle(self, path: Path) -> None:
        with self._lock:
            self._in_progress.pop(path, None)

    def _count_write(self) -> None:
        with self._lock:
            self._writes += 1
            due = self._writes % 100 == 0
        if due:
            self.prune()

    def _remove_stale_temp_files(self) -> None:
        # A crash mid-write leaves temp files behind; nobody will ever rename them.
        for folder in (self.directory, self.fragments):
            for temp in folder.glob(f".*{_TEMP_SUFFIX}"):
                temp.unlink(missing_ok=True)


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return 0.0
