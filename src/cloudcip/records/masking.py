"""How personal values are shown masked (B2, B4): what a reader without the unmasked permission sees,
and what the linkage graph, incident reports and sub-lessee views display.

``mask_tail`` keeps at most the last four characters, ``mask_email`` the first letter and the
domain, ``card_display`` at most the first six and last four digits of a card (PCI DSS).
"""

from __future__ import annotations

MASK = "\u2022"  # •


def mask_tail(value: str, keep: int = 4) -> str:
    """``••••••1234``: six bullets and at most the last ``keep`` characters."""
    tail = value[-keep:] if len(value) > keep + 2 else ""
    return MASK * 6 + tail


def mask_email(value: str) -> str:
    local, _, domain = value.partition("@")
    return (local[:1] + MASK * 3 + "@" + domain) if domain else MASK * 6


def card_display(number: str) -> str:
    """PCI DSS: at most the first six and the last four digits."""
    digits = number if number.isdigit() else "".join(ch for ch in number if ch.isdigit())
    return digits[:6] + MASK * max(len(digits) - 10, 2) + digits[-4:]


__all__ = ["MASK", "card_display", "mask_email", "mask_tail"]
