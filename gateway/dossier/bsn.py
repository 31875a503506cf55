"""BSN validation (the 11-proef). The value itself never leaves this module in an error."""

from __future__ import annotations

import re

_NINE_DIGITS = re.compile(r"^\d{9}$")


def is_valid_bsn(value: str) -> bool:
    """Burgerservicenummer check: 9 digits, weighted sum (9..2, and -1 for the last digit) divisible by 11."""
    if not _NINE_DIGITS.match(value):
        return False
    digits = [int(c) for c in value]
    total = sum(d * w for d, w in zip(digits[:8], range(9, 1, -1), strict=True)) - digits[8]
    return total % 11 == 0 and value != "000000000"
