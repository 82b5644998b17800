"""IMO ship numbers (contract v1.1): normalised as filed, and checked by their check digit.

An IMO number is seven digits; the last is the sum of the first six weighted 7, 6, 5, 4, 3, 2,
modulo 10. Filers write it "IMO 9123456", "imo9123456" or "9123456": all are the same ship.
"""

from __future__ import annotations

import functools
import re

__all__ = ["imo_check_digit_valid", "normalise_imo"]

_PREFIX = re.compile(r"^\s*IMO(?![A-Z])[\s.:#-]*", re.IGNORECASE)
_SEPARATORS = re.compile(r"[\s.-]")
_SEVEN_DIGITS = re.compile(r"[0-9]{7}")


@functools.lru_cache(maxsize=100_000)  # a vessel carries many consignments
def normalise_imo(value: str | None) -> str | None:
    """The seven digits of an IMO number as filed, or None when it is not seven digits."""
    if value is None:
        return None
    digits = _SEPARATORS.sub("", _PREFIX.sub("", value))
    return digits if _SEVEN_DIGITS.fullmatch(digits) else None


def imo_check_digit_valid(value: str | None) -> bool:
    """Seven digits whose last is the weighted sum of the first six modulo 10."""
    digits = normalise_imo(value)
    if digits is None:
        return False
    total = sum(int(d) * weight for d, weight in zip(digits[:6], range(7, 1, -1), strict=True))
    return total % 10 == int(digits[6])
