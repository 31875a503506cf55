"""Value formats a YAML mapping can name: date patterns, the BRP "onvolledige datum", yes/no booleans.

Every codec here rewrites only the values it recognises and passes anything else through unchanged, so what
the gateway minimised (a pseudonym, a birth year "2016", an age band "0-4") arrives as it left.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from adapters.mapping import PLAIN, Codec, iso_if_date

_TOKENS = {"yyyy": r"(?P<y>\d{4})", "mm": r"(?P<m>\d{2})", "dd": r"(?P<d>\d{2})"}
_PATTERN = re.compile(r"yyyy|mm|dd")
_ISO = re.compile(r"(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})")
DATE_PATTERN_RULE = "a date pattern uses yyyy, mm and dd once each, separated by '-', '/', '.' or nothing"


def _date_regex(pattern: str) -> re.Pattern[str] | None:
    tokens = _PATTERN.findall(pattern)
    rest = _PATTERN.sub("", pattern)
    if sorted(tokens) != ["dd", "mm", "yyyy"] or any(ch not in "-/." for ch in rest):
        return None
    return re.compile(_PATTERN.sub(lambda m: _TOKENS[m.group(0)], re.escape(pattern)))


def is_date_pattern(pattern: str) -> bool:
    return pattern in NAMED_DATE_FORMATS or _date_regex(pattern) is not None


def _swap(source: re.Pattern[str], target: str) -> Any:
    def swap(value: Any) -> Any:
        value = iso_if_date(value)
        if isinstance(value, str) and (match := source.fullmatch(value)):
            return target.replace("yyyy", match["y"]).replace("mm", match["m"]).replace("dd", match["d"])
        return value  # a generalised date ("2015", "0-4") stays as it is

    return swap


def date_codec(pattern: str) -> Codec:
    """ISO date ⇄ `pattern` (e.g. "dd-mm-yyyy", "yyyymmdd"), or one of the named formats."""
    if pattern in NAMED_DATE_FORMATS:
        return NAMED_DATE_FORMATS[pattern]
    native = _date_regex(pattern)
    if native is None:
        raise ValueError(DATE_PATTERN_RULE)
    return Codec(_swap(_ISO, pattern), _swap(native, "yyyy-mm-dd"))


_YEAR = re.compile(r"\d{4}")
_YEAR_MONTH = re.compile(r"(\d{4})-(\d{2})")


def _to_incomplete_date(value: Any) -> Any:
    value = iso_if_date(value)
    if not isinstance(value, str):
        return value
    if _ISO.fullmatch(value):
        return {"type": "Datum", "datum": value}
    if _YEAR.fullmatch(value):
        return {"type": "JaarDatum", "jaar": int(value)}
    if match := _YEAR_MONTH.fullmatch(value):
        return {"type": "JaarMaandDatum", "jaar": int(match.group(1)), "maand": int(match.group(2))}
    return {"type": "Gegeneraliseerd", "waarde": value}  # an age band such as "0-4"


def _from_incomplete_date(value: Any) -> Any:
    if not isinstance(value, Mapping):
        return value
    kind = value.get("type")
    if kind == "JaarDatum":
        return f"{value['jaar']:04d}"
    if kind == "JaarMaandDatum":
        return f"{value['jaar']:04d}-{value['maand']:02d}"
    return value.get("datum") if kind == "Datum" else value.get("waarde")


# The BRP "onvolledige datum" object (Haal Centraal), which is also how a generalised date travels.
ONVOLLEDIGE_DATUM = Codec(_to_incomplete_date, _from_incomplete_date)
ISO_DATE = Codec(iso_if_date, lambda value: value)

NAMED_DATE_FORMATS: dict[str, Codec] = {
    "iso": ISO_DATE,
    "yyyy-mm-dd": ISO_DATE,
    "brp-onvolledige-datum": ONVOLLEDIGE_DATUM,
}


def boolean_codec(true_value: str, false_value: str) -> Codec:
    """True/False ⇄ two native strings (e.g. "J"/"N"); anything else passes unchanged."""
    if true_value == false_value:
        raise ValueError("the true and false values must differ")

    def encode(value: Any) -> Any:
        return (true_value if value else false_value) if isinstance(value, bool) else value

    def decode(value: Any) -> Any:
        return {true_value: True, false_value: False}.get(value, value) if isinstance(value, str) else value

    return Codec(encode, decode)


__all__ = ["ISO_DATE", "NAMED_DATE_FORMATS", "ONVOLLEDIGE_DATUM", "PLAIN", "boolean_codec", "date_codec",
           "is_date_pattern"]
