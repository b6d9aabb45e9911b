"""Keeping phone numbers and secrets out of logs and messages (DOMAIN.md principle 7).

Numbers are masked to their first digits (`+1415555****`): enough for an operator to tell
areas apart, never enough to dial. Platform error messages can quote the numbers they refused,
so any text relayed from a platform goes through `mask_digits` first.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_MASKED_TAIL = 4
_DIGIT_RUN = re.compile(r"\+?\d[\d\s().-]{5,}\d")


def mask_phone(phone: str) -> str:
    """`+14155552671` -> `+1415555****`: the last four digits hidden."""
    if len(phone) <= _MASKED_TAIL:
        return "*" * len(phone)
    return phone[:-_MASKED_TAIL] + "*" * _MASKED_TAIL


def mask_sample(phones: Iterable[str], size: int = 3) -> list[str]:
    """The first few numbers, masked: a sample for a log line."""
    sample: list[str] = []
    for phone in phones:
        if len(sample) >= size:
            break
        sample.append(mask_phone(phone))
    return sample


def mask_digits(text: str) -> str:
    """Mask every run of seven or more digits in free text (a platform's error message)."""
    return _DIGIT_RUN.sub(lambda match: mask_phone(re.sub(r"[\s().-]", "", match[0])), text)
