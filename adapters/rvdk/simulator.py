"""A simulated RvdK case system: receives kindzaak messages (e.g. a verzoek tot onderzoek), answers queries
by BSN."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI

from adapters.mapping import Json, get_dotted
from adapters.rvdk.adapter import QUERY_PATH, RECEIVE_PATH
from adapters.rvdk.fixtures import FIXTURES
from adapters.simkit import SimulatorSpec, build_app

_CODES = {400: "KZ400", 404: "KZ404", 422: "KZ422"}


def _receipt(sequence: int) -> Json:
    return {"ontvangstbevestiging": {"kindzaaknummer": f"KZ-2025-{sequence:05d}", "status": "geregistreerd"}}


def _error(status: int, code: str) -> Json:
    return {"fout": {"code": _CODES.get(status, "KZ500"), "reden": code}}


def _query_bsns(query: Json) -> list[str]:
    asked = get_dotted(query, "zoekcriteria.burgerservicenummers")
    return [b for b in asked if isinstance(b, str)] if isinstance(asked, list) else []


def _fixture_bsns(message: Mapping[str, Any]) -> set[str]:
    people = get_dotted(message, "kindzaak.personen") or []
    return {p["burgerservicenummer"] for p in people if isinstance(p.get("burgerservicenummer"), str)}


def _validate(message: Json) -> str | None:
    if not isinstance(message.get("bericht"), dict) or not isinstance(message.get("kindzaak"), dict):
        return "bericht_onvolledig"
    return None


def create_app() -> FastAPI:
    return build_app(SimulatorSpec(
        title="Raad voor de Kinderbescherming (simulator)", receive_path=RECEIVE_PATH, query_path=QUERY_PATH,
        make_receipt=_receipt, error_body=_error, query_bsns=_query_bsns, fixtures=FIXTURES,
        fixture_bsns=_fixture_bsns, validate=_validate,
    ))
