"""Two families in one log, written by real exchanges: what the inzage tests report on."""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
from fastapi import FastAPI
from sqlmodel import Session

from gateway.core.settings import Settings
from gateway.exchange_log import service as log_service
from gateway.pseudonymise.pseudonyms import LOG_DOMAIN
from tests.support import BSN_CHILD, BSN_MOTHER, BSN_REPORTER, WIJKTEAM, melding_request, token_for

# Family B: other fictional BSNs that pass the 11-check, and another reporter.
BSN_CHILD_B = "222333443"
BSN_FATHER_B = "222333455"
BSN_REPORTER_B = "333444553"
REPORTER_NAMES = ("Noor", "de Vries", "Basisschool De Linde", "Kees", "Bakker", "Sportclub De Meeuw")


def family_b_request() -> dict[str, Any]:
    body = melding_request()
    dossier = body["dossier"]
    dossier["persons"] = [
        {"ref": "k1", "role": "kind", "bsn": BSN_CHILD_B, "given_names": "Lotte", "surname": "Visser",
         "birth_date": "2015-09-01"},
        {"ref": "o1", "role": "ouder", "bsn": BSN_FATHER_B, "given_names": "Tom", "surname": "Visser",
         "birth_date": "1985-04-12"},
        {"ref": "m1", "role": "melder", "bsn": BSN_REPORTER_B, "given_names": "Kees", "surname": "Bakker",
         "reporter_role": "overig", "organisation": "Sportclub De Meeuw", "anonymous_towards_family": True}]
    body["professional"] = {"id": "mdw-0777", "role": "wijkteammedewerker"}
    return body


def refused_request() -> dict[str, Any]:
    """An advice request that carries identifiers: flow F1 refuses it, and the refusal is logged."""
    body = melding_request(purpose="adviesvraag")
    body["dossier"] = copy.deepcopy(body["dossier"])
    return body


@dataclass
class TwoFamilies:
    a_positions: set[int] = field(default_factory=set)
    b_positions: set[int] = field(default_factory=set)
    professional_pseudonyms: set[str] = field(default_factory=set)


def exchange_position(app: FastAPI, exchange_id: str) -> int:
    with Session(app.state.db) as session:
        rows = [e for e in log_service.entries_for_exchange(session, exchange_id) if e.kind == "exchange"]
    assert len(rows) == 1
    return rows[0].position


async def write_two_families(client: httpx.AsyncClient, settings: Settings, app: FastAPI) -> TwoFamilies:
    headers = {"Authorization": f"Bearer {await token_for(client, settings, WIJKTEAM)}"}
    log = TwoFamilies()
    for body, positions in ((melding_request(), log.a_positions), (family_b_request(), log.b_positions),
                            (melding_request(), log.a_positions)):
        response = await client.post("/v1/exchanges/push", json=body, headers=headers)
        assert response.status_code == 201, response.text
        positions.add(exchange_position(app, response.json()["exchange_id"]))
    refused = await client.post("/v1/exchanges/push", json=refused_request(), headers=headers)
    assert refused.status_code == 403, refused.text
    log.a_positions.add(exchange_position(app, refused.json()["exchange"]["exchange_id"]))
    with Session(app.state.db) as session:
        for position in log.a_positions | log.b_positions:
            entry = log_service.entry_at(session, position)
            assert entry is not None
            log.professional_pseudonyms.add(orjson.loads(entry.entry)["professional"]["pseudonym"])
    return log


def reported_positions(html: str) -> set[int]:
    return {int(p) for p in re.findall(r'data-testid="inzage-item" data-position="(\d+)"', html)}


def reported_categories(html: str) -> list[str]:
    return re.findall(r'<dd data-testid="inzage-categories">(.*?)</dd>', html, flags=re.S)


def pseudonym_of(app: FastAPI, bsn: str) -> str:
    pseudonym: str = app.state.exchange.pseudonymiser.pseudonym(f"bsn:{bsn}", LOG_DOMAIN)
    return pseudonym


def forbidden_strings(app: FastAPI, log: TwoFamilies) -> list[str]:
    """What a report must never contain: BSNs, the reporters' identities and pseudonyms, professionals."""
    return [BSN_CHILD, BSN_MOTHER, BSN_REPORTER, BSN_CHILD_B, BSN_FATHER_B, BSN_REPORTER_B, *REPORTER_NAMES,
            pseudonym_of(app, BSN_REPORTER), pseudonym_of(app, BSN_REPORTER_B), *log.professional_pseudonyms,
            "mdw-0042", "mdw-0777", "wijkteammedewerker", "PS1."]
