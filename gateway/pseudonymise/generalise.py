"""Generalisation: keep what a recipient needs at a coarser grain."""

from __future__ import annotations

import datetime as dt
from typing import Any

AGE_BANDS = ((0, 3), (4, 11), (12, 17), (18, 23), (24, 64), (65, 200))


def birth_year(value: Any) -> str | None:
    text = str(value)
    return text[:4] if len(text) >= 4 and text[:4].isdigit() else None


def age_band(value: Any, today: dt.date) -> str | None:
    try:
        born = dt.date.fromisoformat(str(value))
    except ValueError:
        return None
    age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    for low, high in AGE_BANDS:
        if low <= age <= high:
            return f"{low}-{high}" if high < 200 else f"{low}+"
    return None


def postcode4(value: Any) -> str | None:
    text = str(value).replace(" ", "")
    return text[:4] if len(text) >= 4 and text[:4].isdigit() else None
