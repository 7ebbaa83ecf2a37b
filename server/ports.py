"""The server's outside parts, built once in `create_app` and kept on the store as
fields: the ticket printers, the lobby's voice, the SMS webhook. Each is a Protocol
with the real one in its package (kiosk/printing.py PrinterPort, lobby_display/voice.py
LobbyVoice, server/customer/webhook.py Webhooks) and a stand-in here, for an app or a
test without it. A Protocol's bodies are what its stand-in does.

A call's `announcement` (the text the TV shows, the audio it plays) is the display
side's, not the queue's: the queue records a bare `ticket.called`, and the voice turns
it into an announcement as the event leaves the server (`AppPorts.announced`): live,
before it is published, and replayed, as the stream reads it back from the log."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from server.config import BranchSettings
from server.errors import NotFound
from server.events import Event, EventType
from server.models import Ticket

if TYPE_CHECKING:
    from printers import TicketPrint
    from server.auth import Principal


def no_printers() -> NotFound:
    return NotFound("this server has no ticket printers", code="printer_not_found")


class Printing(Protocol):
    def ticket_issued(
        self,
        branch: BranchSettings,
        ticket: Ticket,
        out: dict[str, Any],
        print_it: bool,
        principal: Principal,
    ) -> dict[str, Any] | None:
        """Print a kiosk's new ticket; the fields to add to the answer (`print`)."""
        return None

    def printer_states(self, branch: BranchSettings) -> list[dict[str, Any]]:
        """Each of the branch's printers: online, paper, error, last job, queue length."""
        raise no_printers()

    def job(self, branch: str, printer_id: str, job_id: str) -> dict[str, Any] | None:
        """A print job as its kiosk reads it (None: no such job, or long finished)."""
        raise no_printers()

    def submit(self, branch: str, printer_id: str, ticket: TicketPrint) -> dict[str, Any]:
        """Queue a ticket at a printer; printer trouble is the job's state, never raised."""
        raise no_printers()

    def health(self) -> dict[str, Any] | None:
        """The `printers` section of /health (None: no printers here)."""
        return None

    def metrics(self, registry: Any) -> None:
        return None

    def close(self) -> None:
        return None


def text_only_announcement(
    branch: BranchSettings, number: str, counter: str, counter_name: dict[str, str]
) -> dict[str, Any]:
    """A call's announcement without a voice: the branch's templates, no audio."""
    voice = branch.voice
    text = {
        lang: voice.templates[lang].format(number=number, counter=counter, service="")
        for lang in voice.languages
    }
    return {"text": text, "audio": [], "repeat": voice.repeat}


class Announcer(Protocol):
    def announce(
        self, branch: BranchSettings, number: str, counter: str, name: dict[str, str]
    ) -> dict[str, Any]:
        """The `announcement` of a call: text, and audio when there is a voice."""
        return text_only_announcement(branch, number, counter, name)

    def ticket_issued(self, branch: BranchSettings, ticket: Ticket) -> None:
        """A new number: its audio can be prepared before it is called."""

    def on_event(self, event: Event) -> None:
        """A committed event (the open counters, a transfer...)."""

    def audio_file(self, name: str, wait_s: float) -> Path | None:
        """The WAV behind `/audio/{name}` (None: no such file, or no voice here)."""
        return None

    def close(self) -> None:
        return None


class Notifier(Protocol):
    def on_event(self, event: Event) -> None:
        """A committed event; only queues (called inside the request)."""

    def stop(self, timeout_s: float = 5.0) -> None:
        return None


class NoPrinting(Printing):
    """No printers: nothing printed, no /health section, the printer API a 404."""


class TextAnnouncer(Announcer):
    """Calls announced as text only (no voice); remembers what it was told."""

    def __init__(self) -> None:
        self.issued: list[str] = []
        self.events: list[Event] = []

    def ticket_issued(self, branch: BranchSettings, ticket: Ticket) -> None:
        self.issued.append(ticket.number)

    def on_event(self, event: Event) -> None:
        self.events.append(event)


class NoNotifier(Notifier):
    """No webhook: remembers the events it would have looked at."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def on_event(self, event: Event) -> None:
        self.events.append(event)


CALLS = frozenset({EventType.ticket_called, EventType.ticket_recalled})
# Announcements kept per (branch, seq): a reconnecting crowd replays the same calls, and
# naming a call's audio costs up to a few ms (lobby_display/announcer).
ANNOUNCED_KEPT = 256


@dataclass
class AppPorts:
    printing: Printing = field(default_factory=NoPrinting)
    announcer: Announcer = field(default_factory=TextAnnouncer)
    notifier: Notifier = field(default_factory=NoNotifier)
    _announced: OrderedDict[tuple[str, int], dict[str, Any]] = field(
        default_factory=OrderedDict, repr=False
    )
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def announced(self, event: Event, branch: BranchSettings | None) -> Event:
        """A call as the hall's devices read it: with the announcement the voice makes
        for it. Other events, and calls logged with one (before v1.2), as they are."""
        data = event.data
        if event.type not in CALLS or branch is None or "announcement" in data:
            return event
        key = (event.branch, event.seq)
        with self._lock:
            announcement = self._announced.get(key)
        if announcement is None:
            announcement = self.announcer.announce(
                branch, str(data["number"]), str(data["counter"]), dict(data["counter_name"])
            )
            with self._lock:
                self._announced[key] = announcement
                if len(self._announced) > ANNOUNCED_KEPT:
                    self._announced.popitem(last=False)
        return replace(event, data={**data, "announcement": announcement})

    def on_event(self, event: Event) -> None:
        """A committed event, to the parts that follow them."""
        self.notifier.on_event(event)
        self.announcer.on_event(event)

    def ticket_issued(
        self,
        branch: BranchSettings,
        ticket: Ticket,
        out: dict[str, Any],
        *,
        by: Principal,
        print_it: bool,
    ) -> dict[str, Any]:
        """After a ticket is issued and committed: print it, prepare its call's audio.
        The fields to add to the answer."""
        extra = self.printing.ticket_issued(branch, ticket, out, print_it, by)
        self.announcer.ticket_issued(branch, ticket)
        return extra or {}
