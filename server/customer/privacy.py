"""What the public may type, and how a customer's phone, contact and name are shown.

Phones and contacts are stored whole (the SMS gateway and the manager answering an
opinion need them) and shown masked everywhere else: pages, exports, logs, the lobby.
"""

from __future__ import annotations

import re

from server.customer.appointments import check_text
from server.errors import InvalidInput

MOBILE = re.compile(r"^1[3-9]\d{9}$")
# Bidirectional controls reorder what is shown around them ("RLO" makes "exe.txt"
# read "txt.exe"): a name or an opinion never needs one.
BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")


def normalize_phone(value: str) -> str:
    """A mainland China mobile number, 11 digits: spaces and dashes and a leading
    +86 / 0086 / 86 are allowed, nothing else."""
    digits = re.sub(r"[\s\-()]", "", value or "")
    for prefix in ("+86", "0086", "86"):
        if digits.startswith(prefix) and len(digits) == len(prefix) + 11:
            digits = digits[len(prefix) :]
            break
    if not MOBILE.match(digits):
        raise InvalidInput(
            "请填写11位中国大陆手机号码。Please give an 11-digit mainland China mobile number.",
            code="invalid_phone",
        )
    return digits


def mask_phone(phone: str) -> str:
    """13812345678 -> 138****5678."""
    if len(phone) < 7:
        return "*" * len(phone)
    return f"{phone[:3]}****{phone[-4:]}"


def mask_contact(contact: str) -> str:
    """A phone as 138****5678; an e-mail as w***@example.com; anything else keeps its
    first and last character."""
    text = contact.strip()
    if not text:
        return ""
    digits = re.sub(r"[\s\-+()]", "", text)
    if digits.isdigit() and len(digits) >= 7:
        return mask_phone(digits[-11:] if len(digits) > 11 else digits)
    if "@" in text:
        user, _, domain = text.partition("@")
        return f"{user[:1]}***@{domain}"
    if len(text) <= 2:
        return text[:1] + "*"
    return f"{text[0]}{'*' * min(len(text) - 2, 6)}{text[-1]}"


def mask_name(name: str) -> str:
    """王芳 -> 王*; Anna Li -> A******: enough to pick oneself in a short list."""
    name = name.strip()
    if not name:
        return ""
    return name[0] + "*" * max(1, min(len(name) - 1, 6))


def public_text(value: str, field: str, *, max_len: int, required: bool = True) -> str:
    """Free text from the public: trimmed, bounded, no control or bidi characters.
    Everything else (emoji, '<script>') is kept and always shown as text."""
    text = (value or "").strip()
    if required and not text:
        raise InvalidInput(f"{field}: required", code="required")
    if len(text) > max_len:
        raise InvalidInput(f"{field}: at most {max_len} characters", code="too_long")
    check_text(text, field)
    if BIDI_CONTROLS.search(text):
        raise InvalidInput(f"{field}: text direction controls are not allowed", code="invalid_text")
    return text
