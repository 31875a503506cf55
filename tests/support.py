"""Shared test helpers: settings for a throwaway gateway, tokens for demo clients, sample dossiers."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import httpx
from starlette.types import ASGIApp

from gateway.auth.client import client_assertion, token_form
from gateway.core.settings import REPO_ROOT, Settings

PUBLIC_URL = "http://gateway.test"
SIM_HOSTS = {"veilig_thuis": "vt.sim", "rvdk": "rvdk.sim", "gi": "gi.sim", "wijkteam": "wijkteam.sim",
             "research": "research.sim"}
WIJKTEAM = "wijkteam-utrecht-west-cms"
VT = "vt-utrecht-registratie"
RVDK = "rvdk-midden-nederland-kinderzaken"
GI = "gi-utrecht-jeugdbescherming"
RESEARCH = "monitor-regio-utrecht-onderzoek"

# Fictional BSNs that pass the 11-check.
BSN_CHILD = "111222333"
BSN_MOTHER = "123456782"
BSN_REPORTER = "999999990"


def test_settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "public_url": PUBLIC_URL,
        "database_url": f"sqlite:///{tmp_path / 'gateway.db'}",
        "keys_dir": tmp_path / "keys",
        "organisations_file": REPO_ROOT / "config" / "organisations.yaml",
        "policies_dir": REPO_ROOT / "policies",
        # Retries within the time of a test: the outbox's behaviour, not its production pacing.
        "delivery_backoff_base_seconds": 0.05,
        "delivery_backoff_max_seconds": 0.2,
        "delivery_poll_seconds": 0.05,
        # Demo web accounts cost four Argon2id hashes per start; web tests create the accounts they need.
        "web_dev_accounts": False,
    }
    values.update(overrides)
    return Settings(**values)


def assertion_for(settings: Settings, client_id: str, **kwargs: Any) -> str:
    pem = (settings.keys_dir / "clients" / f"{client_id}.pem").read_bytes()
    return client_assertion(private_key_pem=pem, client_id=client_id,
                            audience=f"{settings.public_url}/oauth/token", **kwargs)


async def token_for(client: httpx.AsyncClient, settings: Settings, client_id: str,
                    scope: str | None = None) -> str:
    response = await client.post("/oauth/token", data=token_form(assertion_for(settings, client_id), scope))
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


class RoutingTransport(httpx.AsyncBaseTransport):
    """Outbound HTTP seam for in-process tests: each simulator host goes to its ASGI app."""

    def __init__(self, apps: dict[str, ASGIApp]) -> None:
        self.transports = {host: httpx.ASGITransport(app=app) for host, app in apps.items()}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        transport = self.transports.get(request.url.host)
        if transport is None:
            raise httpx.ConnectError("no such simulator host", request=request)
        return await transport.handle_async_request(request)


MELDING_DOSSIER: dict[str, Any] = {
    "household": {"composition": "eenoudergezin",
                  "address": {"kind": "brp", "street": "Voorbeeldstraat", "house_number": "12",
                              "postcode": "3531 AB", "municipality": "Utrecht"}},
    "persons": [
        {"ref": "k1", "role": "kind", "bsn": BSN_CHILD, "given_names": "Sam", "surname": "Jansen",
         "birth_date": "2016-05-17", "sex": "onbekend"},
        {"ref": "o1", "role": "ouder", "bsn": BSN_MOTHER, "given_names": "Eva", "surname": "Jansen",
         "birth_date": "1988-02-03", "phone": "0612345678"},
        {"ref": "m1", "role": "melder", "bsn": BSN_REPORTER, "given_names": "Noor", "surname": "de Vries",
         "reporter_role": "onderwijs", "organisation": "Basisschool De Linde", "anonymous_towards_family": True},
    ],
    "gezag": [{"child_ref": "k1", "type": "eenhoofdig_ouderlijk", "holder_refs": ["o1"]}],
    "signals": [{"kind": "melding", "date": "2026-11-20", "relation": "nieuw",
                 "situation": "Kind komt herhaaldelijk met blauwe plekken op school.",
                 "violence_forms": [{"category": "lichamelijke_mishandeling", "victim_ref": "k1"}],
                 "existing_help": True}],
    "safety_assessments": [{"triage": "structureel", "date": "2026-11-20", "instrument": "LIRIK",
                            "outcome": "Structurele onveiligheid"}],
    "involvements": [{"organisation": "Buurtteam Utrecht West", "kind": "ambulante hulp",
                      "start": "2026-03-01"}],
    "health": [{"person_ref": "o1", "kind": "ggz", "description": "Depressieve klachten"}],
}

MELDING_CONTEXT: dict[str, Any] = {"afwegingskader_documented": True, "parents_informed": True,
                                   "kader": "vrijwillig"}


def melding_request(**overrides: Any) -> dict[str, Any]:
    body = {"recipient": "vt-utrecht", "purpose": "melding",
            "professional": {"id": "mdw-0042", "role": "wijkteammedewerker"},
            "context": copy.deepcopy(MELDING_CONTEXT), "dossier": copy.deepcopy(MELDING_DOSSIER)}
    body.update(overrides)
    return body
