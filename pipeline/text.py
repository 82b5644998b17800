"""Text helpers shared by the rules and the reference data."""

from __future__ import annotations

import unicodedata


def without_format_characters(text: str) -> str:
    """``text`` without Unicode format characters (zero-width spaces and joiners,
    bidirectional controls): invisible, they could split a word to slip past a comparison."""
    if text.isascii():
        return text
    return "".join(ch for ch in text if unicodedata.category(ch) != "Cf")
