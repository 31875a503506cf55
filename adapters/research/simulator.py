"""A simulated regional monitor (action research): receives flat record extracts, answers by pseudonym.

It checks what a careful research recipient checks on arrival: the counts in the header match the records,
and no `pseudoniem` is a plaintext BSN.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI

from adapters.mapping import Json
from adapters.research.adapter import QUERY_PATH, RECEIVE_PATH
from adapters.research.fixtures import FIXTURES
from adapters.simkit import SimulatorSpec, build_app
from gateway.dossier.bsn import is_valid_bsn

_MESSAGES = {400: "malformed request", 404: "no records for these pseudonyms", 422: "delivery refused"}


def _receipt(sequence: int) -> Json:
    return {"batch_id": f"MON-2025-{sequence:06d}", "status": "accepted"}


def _error(status: int, code: str) -> Json:
    return {"error": code, "message": _MESSAGES.get(status, "monitor unavailable")}


def _query_bsns(query: Json) -> list[str]:
    asked = query.get("pseudoniemen")
    return [p for p in asked if isinstance(p, str)] if isinstance(asked, list) else []


def _fixture_pseudonyms(message: Mapping[str, Any]) -> set[str]:
    return {row["pseudoniem"] for row in message.get("records") or []
            if row.get("type") == "persoon" and isinstance(row.get("pseudoniem"), str)}


def _validate(message: Json) -> str | None:
    header, rows = message.get("aanlevering"), message.get("records")
    if not isinstance(header, dict) or not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        return "malformed_delivery"
    if any(is_valid_bsn(str(p)) for p in _fixture_pseudonyms(message)):
        return "direct_identifier"
    counted = Counter(str(row.get("type")) for row in rows if "nr" in row)
    declared = header.get("aantallen") or {}
    if any(counted.get(kind, 0) != n for kind, n in declared.items()):
        return "count_mismatch"
    return None


def create_app() -> FastAPI:
    return build_app(SimulatorSpec(
        title="Regionale monitor (simulator)", receive_path=RECEIVE_PATH, query_path=QUERY_PATH,
        make_receipt=_receipt, error_body=_error, query_bsns=_query_bsns, fixtures=FIXTURES,
        fixture_bsns=_fixture_pseudonyms, validate=_validate,
    ))
