"""A simulated Veilig Thuis registration system: receives meldingen, answers casus queries by BSN."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI

from adapters.mapping import Json, get_dotted
from adapters.simkit import SimulatorSpec, build_app
from adapters.veilig_thuis.adapter import QUERY_PATH, RECEIVE_PATH
from adapters.veilig_thuis.fixtures import FIXTURES

_MESSAGES = {400: "Bericht niet leesbaar", 404: "Geen casus gevonden", 422: "Bericht niet verwerkt"}


def _receipt(sequence: int) -> Json:
    return {"registratienummer": f"VT-2025-{sequence:06d}", "status": "ONTVANGEN"}


def _error(status: int, code: str) -> Json:
    return {"foutcode": code.upper(), "omschrijving": _MESSAGES.get(status, "Storing in het VT-systeem")}


def _query_bsns(query: Json) -> list[str]:
    asked = get_dotted(query, "zoekvraag.bsn")
    asked = [asked] if isinstance(asked, str) else asked
    return [b for b in asked or [] if isinstance(b, str)]


def _fixture_bsns(message: Mapping[str, Any]) -> set[str]:
    casus = message.get("casus") or {}
    return {bsn for key in ("betrokkenen", "melders", "informanten") for person in casus.get(key) or []
            if isinstance(bsn := get_dotted(person, "persoonsgegevens.bsn"), str)}


def _validate(message: Json) -> str | None:
    if not isinstance(message.get("berichtkop"), dict) or not isinstance(message.get("casus"), dict):
        return "onvolledig_bericht"
    return None


def create_app() -> FastAPI:
    return build_app(SimulatorSpec(
        title="Veilig Thuis (simulator)", receive_path=RECEIVE_PATH, query_path=QUERY_PATH,
        make_receipt=_receipt, error_body=_error, query_bsns=_query_bsns, fixtures=FIXTURES,
        fixture_bsns=_fixture_bsns, validate=_validate,
    ))
