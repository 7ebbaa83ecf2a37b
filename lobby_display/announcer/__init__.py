"""The lobby announcer: announcement text, voice synthesis and the audio cache.

Takes plain values (ticket number, counter, names) and never imports server code.
The server builds one ``Announcer`` per branch from ``[branches.voice]``, puts
``announcement(...).to_dict()`` into ``ticket.called`` / ``ticket.recalled`` events,
calls ``prepare(...)`` when a ticket is issued or transferred, and serves
``/audio/{name}`` with ``wait_for(name, timeout)``.
"""

from __future__ import annotations

from lobby_display.announcer.announcer import (
    DEFAULT_STRATEGY,
    Announcement,
    Announcer,
    Strategy,
)
from lobby_display.announcer.synth import FakeSynth, Pyttsx3Synth, SynthError, VoiceSynth
from lobby_display.announcer.text import TemplateError

__all__ = [
    "DEFAULT_STRATEGY",
    "Announcement",
    "Announcer",
    "FakeSynth",
    "Pyttsx3Synth",
    "Strategy",
    "SynthError",
    "TemplateError",
    "VoiceSynth",
]
