"""The lobby voice as the server's `Announcer` port (server/ports.py): one announcer per
voice config, the `announce` that turns a `ticket.called` into text and audio as the
event leaves the server, pre-synthesis when a ticket is issued, and the files behind
`/audio/{name}`.

A call never waits on synthesis: `announce` only names the files (the announcer queues
what is missing for its one worker thread, calls first) and `/audio/{name}` waits a
little for a file still in progress. At issue we make the sentences for the counters
that are open and serve the ticket's service (at most `PREPARE_COUNTERS`), so when one
of them calls it the audio is already on disk; a call from any other counter is made
at call time, well inside the one-second chime the TV plays first.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from lobby_display.announcer import Announcer, Pyttsx3Synth, VoiceSynth
from lobby_display.voice_pack import make_announcer
from server.config import BranchSettings, VoiceSettings
from server.events import CounterUpdated, Event, EventType, TicketTransferred
from server.models import Ticket
from server.ports import text_only_announcement
from server.store import Store

log = logging.getLogger("lobbyq.voice")

PREPARE_COUNTERS = 6
AUDIO_URL_PREFIX = "/audio"

# Swapped by tests for a fast fake; the real one is pyttsx3 (espeak-ng on Linux).
synth_factory: Callable[[], VoiceSynth] = Pyttsx3Synth


def counter_name(branch: BranchSettings, number: str) -> dict[str, str]:
    """The counter's name as the server stores it (see server/bootstrap.py)."""
    return branch.counter_name(number)


def _voice_key(voice: VoiceSettings) -> tuple[object, ...]:
    return (
        tuple(voice.languages),
        tuple(sorted(voice.templates.items())),
        voice.repeat,
        voice.pack,
    )


class LobbyVoice:
    """The announcers of all branches (one per distinct voice config)."""

    def __init__(self, store: Store, synth: VoiceSynth | None) -> None:
        self._store = store
        self._announcers: dict[str, Announcer] = {}
        self._open: dict[str, dict[str, dict[str, object]]] = {}
        self._lock = threading.Lock()
        cache_dir = Path(store.config.server.data_dir) / "audio"
        shared: dict[tuple[object, ...], Announcer] = {}
        for branch in store.config.branches:
            key = _voice_key(branch.voice)
            announcer = shared.get(key)
            if announcer is None:
                try:
                    announcer = make_announcer(
                        store.config,
                        branch,
                        synth=synth,
                        cache_dir=cache_dir,
                        url_prefix=AUDIO_URL_PREFIX,
                    )
                except Exception:
                    log.exception(
                        "voice for branch %s unavailable: calls are text-only", branch.code
                    )
                    continue
                if announcer is None:
                    continue
                shared[key] = announcer
            if announcer is not None:
                self._announcers[branch.code] = announcer

    @property
    def announcers(self) -> list[Announcer]:
        return list({id(a): a for a in self._announcers.values()}.values())

    def announcer(self, branch: str) -> Announcer | None:
        return self._announcers.get(branch)

    # -- the server's Announcer port----------------------------------------------------------

    def announce(
        self, branch: BranchSettings, number: str, counter: str, name: dict[str, str]
    ) -> dict[str, Any]:
        announcer = self._announcers.get(branch.code)
        if announcer is None:
            return text_only_announcement(branch, number, counter, name)
        return announcer.announcement(number, counter, name).to_dict()

    def ticket_issued(self, branch: BranchSettings, ticket: Ticket) -> None:
        announcer = self._announcers.get(branch.code)
        if announcer is None or not ticket.number:
            return
        announcer.prepare(ticket.number)  # the number's pieces (fragments strategy)
        self._prepare_for_open_counters(announcer, branch, ticket.number, ticket.service)

    def _prepare_for_open_counters(
        self, announcer: Announcer, branch: BranchSettings, number: str, service: str
    ) -> None:
        with self._lock:
            open_here = dict(self._open.get(branch.code, {}))
        serving = [n for n, c in open_here.items() if service in _services(c)]
        for counter in serving[:PREPARE_COUNTERS]:
            announcer.prepare(number, counter, counter_name(branch, counter))

    def on_event(self, event: Event) -> None:
        if event.type == EventType.counter_updated:
            counter = event.typed()
            assert isinstance(counter, CounterUpdated)
            with self._lock:
                counters = self._open.setdefault(event.branch, {})
                if counter.data.state == "open":
                    counters[counter.data.number] = {"services": list(counter.data.services)}
                else:
                    counters.pop(counter.data.number, None)
        elif event.type == EventType.ticket_transferred:
            moved = event.typed()
            assert isinstance(moved, TicketTransferred)
            announcer = self._announcers.get(event.branch)
            branch = self._store.config.branch(event.branch)
            number = moved.data.number
            if announcer is None or branch is None or not number:
                return
            target = moved.data.to_counter
            if target:  # sent to a chosen counter: that counter will call it
                announcer.prepare(number, target, counter_name(branch, target))
            else:
                self._prepare_for_open_counters(announcer, branch, number, moved.data.to_service)

    def track_open_counters(self, known: dict[str, dict[str, dict[str, object]]]) -> None:
        with self._lock:
            self._open = {b: dict(c) for b, c in known.items()}

    # -- /audio ---------------------------------------------------------------------------

    def audio_file(self, name: str, wait_s: float) -> Path | None:
        """The WAV behind `/audio/{name}`, waiting up to `wait_s` for one in progress."""
        announcers = self.announcers
        for announcer in announcers:
            path = announcer.audio_path(name)
            if path is not None:
                return path
        for announcer in announcers:
            path = announcer.wait_for(name, wait_s)
            if path is not None:
                return path
        return None

    def close(self) -> None:
        for announcer in self.announcers:
            announcer.close(timeout=0.5)  # its worker is a daemon: a stop never waits on it


def _services(counter: Mapping[str, object]) -> list[str]:
    services = counter.get("services")
    return [str(s) for s in services] if isinstance(services, list) else []


def build_voice(store: Store) -> LobbyVoice:
    """The server's `Announcer` port (server/ports.py): built once by create_app."""
    synth: VoiceSynth | None
    try:
        synth = synth_factory()
    except Exception:
        log.warning("voice synthesis unavailable (no pyttsx3/espeak-ng): calls are text-only")
        synth = None
    return LobbyVoice(store, synth)
