"""Numbers never reach a log or message in full."""

from __future__ import annotations

from dncsync.net.masking import mask_digits, mask_phone, mask_sample


def test_mask_phone_hides_the_last_four_digits() -> None:
    assert mask_phone("+14155552671") == "+1415555****"
    assert mask_phone("+4930901820") == "+493090****"


def test_mask_sample_is_short_and_masked() -> None:
    assert mask_sample(["+14155552671", "+14155552672", "+14155552673", "+1415555"], 2) == [
        "+1415555****",
        "+1415555****",
    ]


def test_platform_messages_are_masked() -> None:
    text = "Phone number +1 (415) 555-2671 and 4155552672 are invalid; code 400"
    masked = mask_digits(text)
    assert "2671" not in masked
    assert "4155552672" not in masked
    assert "code 400" in masked
