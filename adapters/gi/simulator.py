"""A simulated GI case system: receives jeugdbeschermingszaken (e.g. an OTS to carry out), answers queries."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI

from adapters.gi.adapter import QUERY_PATH, RECEIVE_PATH
from adapters.gi.fixtures import FIXTURES
from adapters.mapping import Json, get_dotted
from adapters.simkit import SimulatorSpec, build_app

_TEXT = {400: "Ongeldig verzoek", 404: "Zaak niet gevonden", 422: "Opdracht niet verwerkbaar"}


def _receipt(sequence: int) -> Json:
    return {"OpdrachtNummer": f"GI-OPD-{sequence:06d}", "Status": "Geaccepteerd"}


def _error(status: int, code: str) -> Json:
    return {"Foutcode": status, "Foutmelding": _TEXT.get(status, "Interne fout"), "Reden": code}


def _query_bsns(query: Json) -> list[str]:
    asked = get_dotted(query, "Zoekvraag.Bsn")
    return [b for b in asked if isinstance(b, str)] if isinstance(asked, list) else []


def _fixture_bsns(message: Mapping[str, Any]) -> set[str]:
    clients = get_dotted(message, "Jeugdbeschermingszaak.Clienten") or []
    return {c["Bsn"] for c in clients if isinstance(c.get("Bsn"), str)}


def _validate(message: Json) -> str | None:
    if not all(isinstance(message.get(key), dict) for key in ("Opdracht", "Jeugdbeschermingszaak")):
        return "opdracht_onvolledig"
    return None


def create_app() -> FastAPI:
    return build_app(SimulatorSpec(
        title="Gecertificeerde Instelling (simulator)", receive_path=RECEIVE_PATH, query_path=QUERY_PATH,
        make_receipt=_receipt, error_body=_error, query_bsns=_query_bsns, fixtures=FIXTURES,
        fixture_bsns=_fixture_bsns, validate=_validate,
    ))
