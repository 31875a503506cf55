"""A simulated municipal social-team system with a ZGW-shaped Zaken API: receives zaken, answers `_zoek`."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI

from adapters.mapping import Json
from adapters.simkit import SimulatorSpec, build_app
from adapters.wijkteam.adapter import BSN_FILTER, QUERY_PATH, RECEIVE_PATH
from adapters.wijkteam.fixtures import FIXTURES

_TITLES = {400: "Ongeldige request body.", 404: "Niet gevonden.", 422: "Validatiefout."}


def _receipt(sequence: int) -> Json:
    zaak_uuid = str(uuid.uuid4())
    return {"url": f"http://wijkteam.sim{RECEIVE_PATH}/{zaak_uuid}", "uuid": zaak_uuid,
            "identificatie": f"ZAAK-2025-{sequence:07d}"}


def _error(status: int, code: str) -> Json:
    """ZGW answers errors as RFC 9457 problem details."""
    return {"type": f"urn:zgw:fouten:{code}", "code": code, "title": _TITLES.get(status, "Er is een serverfout."),
            "status": status, "instance": f"urn:uuid:{uuid.uuid4()}"}


def _query_bsns(query: Json) -> list[str]:
    asked = query.get(BSN_FILTER)
    return [b for b in asked if isinstance(b, str)] if isinstance(asked, list) else []


def _fixture_bsns(message: Mapping[str, Any]) -> set[str]:
    return {bsn for rol in message.get("rollen") or []
            if isinstance(bsn := (rol.get("betrokkeneIdentificatie") or {}).get("inpBsn"), str)}


def _validate(message: Json) -> str | None:
    document = message.get("informatieobject")
    if not isinstance(message.get("zaak"), dict) or not isinstance(document, dict):
        return "required"
    if not isinstance(document.get("inhoud"), str):
        return "invalid_inhoud"
    return None


def _answer(found: Json) -> Json:
    return {"count": 1, "next": None, "previous": None, "results": [found]}


def create_app() -> FastAPI:
    return build_app(SimulatorSpec(
        title="Wijkteam zaaksysteem (simulator)", receive_path=RECEIVE_PATH, query_path=QUERY_PATH,
        make_receipt=_receipt, error_body=_error, query_bsns=_query_bsns, fixtures=FIXTURES,
        fixture_bsns=_fixture_bsns, validate=_validate, answer=_answer, error_media_type="application/problem+json",
    ))
