"""Announcement text: what the lobby reads and hears for one call.

Pure functions of plain values, so the rules are testable without a synthesizer.
Two renderings come from the same per-language template:

- the *caption* is for reading (the TV, deaf customers): values as printed on the
  ticket, ``请A012号到3号窗口办理`` / ``Number A012, please go to counter 3``;
- the *speech* is for the synthesizer: the ticket number letter by letter and digit
  by digit (``请A 零 一 二号到三号窗口办理`` / ``Number A, zero one two, please go to
  counter 3``), counters as a natural numeral.

Spelling choices made against espeak-ng (checked with ``espeak-ng -x``):
- zh digits are written 零一二: Arabic digit runs are read as one number (012 → 十二).
- zh letters stay as capitals separated by spaces: ``cmn-latn-pinyin`` reads a lone
  capital as its letter name (A → ei, B → bi), while adjacent capitals are read as a
  pinyin syllable (VA → va).
- en letters are followed by a comma: a bare "A" before a word is read as the article
  (schwa); "A," is read as the letter name.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

PLACEHOLDERS = frozenset({"number", "counter", "counter_name", "service"})

ZH_DIGITS = "零一二三四五六七八九"
EN_DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
ASCII_DIGITS = "0123456789"

# Counters beyond this are read digit by digit: nobody names a counter 一万.
_MAX_ZH_NUMERAL = 9999


class TemplateError(ValueError):
    """A voice template uses a placeholder the announcer cannot fill."""


class SegmentKind(StrEnum):
    LITERAL = "literal"
    NUMBER = "number"
    COUNTER = "counter"
    COUNTER_NAME = "counter_name"
    SERVICE = "service"


@dataclass(frozen=True)
class CallWords:
    """The plain values of one call, as the server hands them over."""

    number: str
    counter: str
    counter_name: Mapping[str, str] | None = None
    service: str | Mapping[str, str] | None = None


@dataclass(frozen=True)
class Segment:
    """One piece of a spoken sentence.

    ``tokens`` are the smallest pieces that can be synthesized alone and spliced
    (each letter or digit of a number); for other kinds it is the text itself.
    """

    kind: SegmentKind
    text: str
    tokens: tuple[str, ...] = field(default=())


def check_template(template: str) -> frozenset[str]:
    """Return the placeholders a template uses; raise TemplateError if one is unknown.

    Called when the config is loaded, so a typo fails at start-up and never during a call.
    """
    used: set[str] = set()
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise TemplateError(f"malformed voice template {template!r}: {exc}") from exc
    for _literal, name, spec, conversion in parsed:
        if name is None:
            continue
        if name not in PLACEHOLDERS or spec or conversion:
            allowed = ", ".join("{" + p + "}" for p in sorted(PLACEHOLDERS))
            raise TemplateError(f"voice template {template!r} uses {{{name}}}; allowed: {allowed}")
        used.add(name)
    return frozenset(used)


def chinese_numeral(n: int) -> str:
    """Read an integer 0–9999 the way a counter number is said: 12 → 十二, 105 → 一百零五."""
    if not 0 <= n <= _MAX_ZH_NUMERAL:
        raise ValueError(f"{n} is outside 0–{_MAX_ZH_NUMERAL}")
    if n == 0:
        return ZH_DIGITS[0]
    units = ("", "十", "百", "千")
    digits = [int(c) for c in str(n)]
    out: list[str] = []
    zero_pending = False
    for position, digit in enumerate(digits):
        if digit == 0:
            zero_pending = True
            continue
        if zero_pending:
            # One 零 stands for any run of inner zeros (1005 → 一千零五).
            out.append(ZH_DIGITS[0])
            zero_pending = False
        out.append(ZH_DIGITS[digit] + units[len(digits) - 1 - position])
    text = "".join(out)
    # 10–19 are said without the leading 一 (十二, not 一十二).
    return text[1:] if 10 <= n <= 19 else text


def number_tokens(number: str, lang: str) -> tuple[str, ...]:
    """The ticket number as single letters and digit words: zh A012 → (A, 零, 一, 二)."""
    tokens: list[str] = []
    for char in number.strip().upper():
        if char in ASCII_DIGITS:
            tokens.append(_digit_word(int(char), lang))
        elif char.isalnum():
            tokens.append(char)
        # Separators such as "-" in "A-012" carry no sound.
    return tuple(tokens)


def spoken_number(number: str, lang: str) -> str:
    """The ticket number as the synthesizer should read it, letter by letter."""
    tokens = number_tokens(number, lang)
    if lang != "en":
        return " ".join(tokens)
    parts: list[str] = []
    for index, token in enumerate(tokens):
        parts.append(token)
        if index < len(tokens) - 1:
            parts.append(", " if _is_letter(token) else " ")
    return "".join(parts)


def spoken_counter(counter: str, lang: str) -> str:
    """A counter number said naturally (zh 12 → 十二, en 12 → 12); names pass through."""
    value = counter.strip()
    if not value or any(c not in ASCII_DIGITS for c in value):
        return value
    n = int(value)
    if lang == "zh":
        if n <= _MAX_ZH_NUMERAL:
            return chinese_numeral(n)
        return " ".join(ZH_DIGITS[int(c)] for c in str(n))
    # espeak and SAPI read Arabic numerals naturally in the other languages.
    return str(n)


def caption(template: str, lang: str, call: CallWords) -> str:
    """The sentence for reading on screen, values as printed on the ticket."""
    values = {
        "number": call.number.strip(),
        "counter": _counter_for_caption(call, lang),
        "counter_name": _counter_name(call, lang),
        "service": localized(call.service, lang),
    }
    return template.format_map(values)


def speech_segments(template: str, lang: str, call: CallWords) -> list[Segment]:
    """The spoken sentence split at its placeholders, for whole or spliced synthesis."""
    segments: list[Segment] = []
    for literal, name, _spec, _conversion in string.Formatter().parse(template):
        if literal:
            segments.append(Segment(SegmentKind.LITERAL, literal, (literal,)))
        if name is None:
            continue
        segment = _placeholder_segment(SegmentKind(name), lang, call)
        if segment.text:
            segments.append(segment)
    return segments


def speech(template: str, lang: str, call: CallWords) -> str:
    """The whole sentence as the synthesizer should read it."""
    return "".join(segment.text for segment in speech_segments(template, lang, call))


def localized(value: str | Mapping[str, str] | None, lang: str) -> str:
    """Pick a language from a ``{zh: ..., en: ...}`` name; a plain string is used as is."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return value.get(lang) or value.get("en") or next(iter(value.values()), "")


def _placeholder_segment(kind: SegmentKind, lang: str, call: CallWords) -> Segment:
    if kind is SegmentKind.NUMBER:
        return Segment(kind, spoken_number(call.number, lang), number_tokens(call.number, lang))
    if kind is SegmentKind.COUNTER:
        text = _counter_for_speech(call, lang)
    elif kind is SegmentKind.COUNTER_NAME:
        text = _counter_name(call, lang)
    else:
        text = localized(call.service, lang)
    return Segment(kind, text, (text,))


def _counter_for_caption(call: CallWords, lang: str) -> str:
    counter = call.counter.strip()
    if _is_numeric(counter) or not call.counter_name:
        return counter
    # A counter known by a name ("vip") reads better as its configured name.
    return localized(call.counter_name, lang) or counter


def _counter_for_speech(call: CallWords, lang: str) -> str:
    counter = call.counter.strip()
    if _is_numeric(counter) or not call.counter_name:
        return spoken_counter(counter, lang)
    return localized(call.counter_name, lang) or counter


def _counter_name(call: CallWords, lang: str) -> str:
    return localized(call.counter_name, lang) or call.counter.strip()


def _digit_word(digit: int, lang: str) -> str:
    if lang == "zh":
        return ZH_DIGITS[digit]
    if lang == "en":
        return EN_DIGITS[digit]
    # Other voices read a lone digit in their own language.
    return str(digit)


def _is_numeric(value: str) -> bool:
    return bool(value) and all(c in ASCII_DIGITS for c in value)


def _is_letter(token: str) -> bool:
    return len(token) == 1 and token.isalpha()
