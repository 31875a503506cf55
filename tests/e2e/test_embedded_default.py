"""End to end over real HTTP with real processes: `gateway run` (gateway + partner simulators) as a user starts it.

The tests run in file order; the last one inspects the database file and the application log of the whole run.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from collections import Counter
from typing import Any

import httpx
import pytest

from gateway.auth.client import fetch_token
from gateway.core.settings import REPO_ROOT
from gateway.dossier.fields import flatten
from tests.e2e.conftest import RunningGateway
from tests.support import BSN_CHILD, BSN_MOTHER, BSN_REPORTER, GI, MELDING_DOSSIER, VT, WIJKTEAM, melding_request

pytestmark = pytest.mark.e2e
SECRETS = (BSN_CHILD, BSN_MOTHER, BSN_REPORTER, "Jansen", "de Vries", "0612345678", "Voorbeeldstraat")


def _headers(gw: RunningGateway, client_id: str) -> dict[str, str]:
    token = fetch_token(base_url=gw.url, client_id=client_id,
                        private_key_path=gw.keys_dir / "clients" / f"{client_id}.pem")
    return {"Authorization": f"Bearer {token}"}


def _received(gw: RunningGateway, simulator: str) -> list[dict[str, Any]]:
    received: list[dict[str, Any]] = httpx.get(f"{gw.simulators[simulator]}/_sim/received", timeout=5).json()
    return received


def _canonical(simulator: str, message: dict[str, Any]) -> dict[str, Any]:
    adapter = importlib.import_module(f"adapters.{simulator}.adapter")
    decoded: dict[str, Any] = adapter.decode_message(message["body"])
    return decoded


def test_dev_keys_were_generated_at_first_start(running_gateway: RunningGateway) -> None:
    clients = running_gateway.keys_dir / "clients"
    for client_id in (WIJKTEAM, VT, GI):
        assert (clients / f"{client_id}.pem").stat().st_mode & 0o077 == 0
        assert (clients / f"{client_id}.jwks.json").exists()
    assert (running_gateway.keys_dir / "gateway-signing-key.pem").exists()
    assert (running_gateway.keys_dir / "pseudonym-keyring.json").exists()


def test_melding_reaches_veilig_thuis_with_exactly_the_allowed_fields(running_gateway: RunningGateway) -> None:
    gw = running_gateway
    response = httpx.post(f"{gw.url}/v1/exchanges/push", json=melding_request(), headers=_headers(gw, WIJKTEAM),
                          timeout=30)
    assert response.status_code == 201, response.text
    result = response.json()
    assert (result["flow"], result["status"]) == ("F2", "delivered")
    passed = Counter(f["field"] for f in result["fields"] if f["treatment"] != "drop")
    dropped = {f["field"] for f in result["fields"] if f["treatment"] == "drop"}
    received = _received(gw, "veilig_thuis")
    assert len(received) == 1
    canonical = _canonical("veilig_thuis", received[0])
    arrived = Counter(f.schema_path for f in flatten(canonical))
    assert arrived == passed
    assert not dropped & set(arrived)
    persons = {p["ref"]: p for p in canonical["persons"]}
    assert persons["k1"]["bsn"] == BSN_CHILD  # VT must know who the family is: identities pass under F2
    assert persons["o1"]["surname"] == MELDING_DOSSIER["persons"][1]["surname"]


def test_refused_request_is_logged_and_nothing_reaches_the_gi(running_gateway: RunningGateway) -> None:
    gw = running_gateway
    body = melding_request(recipient="gi-utrecht", purpose="informatie_ots")  # no OTS in the context
    response = httpx.post(f"{gw.url}/v1/exchanges/push", json=body, headers=_headers(gw, WIJKTEAM), timeout=30)
    assert response.status_code == 403
    problem = response.json()
    assert problem["code"] == "exchange-refused"
    assert problem["exchange"]["reasons"]
    assert problem["exchange"]["log"]["position"] >= 0
    assert _received(gw, "gi") == []
    status = httpx.get(f"{gw.url}/v1/exchanges/{problem['exchange']['exchange_id']}",
                       headers=_headers(gw, WIJKTEAM), timeout=10)
    assert status.json()["status"] == "refused"


def test_reporter_identity_does_not_reach_the_wijkteam_in_f9(running_gateway: RunningGateway) -> None:
    gw = running_gateway
    body = melding_request(recipient="wijkteam-utrecht-west", purpose="toeleiding_hulp",
                           context={"kader": "vrijwillig"})
    response = httpx.post(f"{gw.url}/v1/exchanges/push", json=body, headers=_headers(gw, VT), timeout=30)
    assert response.status_code == 201, response.text
    received = _received(gw, "wijkteam")
    assert len(received) == 1
    canonical = _canonical("wijkteam", received[0])
    assert [p["role"] for p in canonical["persons"]] == ["kind", "ouder"]  # not even the reporter's existence
    raw = json.dumps(received)
    for reporter_value in (BSN_REPORTER, "Noor", "de Vries", "Basisschool De Linde"):
        assert reporter_value not in raw


def test_research_extract_carries_pseudonyms_and_birth_years(running_gateway: RunningGateway) -> None:
    gw = running_gateway
    body = melding_request(recipient="monitor-regio-utrecht", purpose="onderzoek_en_sturing",
                           context={"kader": "vrijwillig"})
    response = httpx.post(f"{gw.url}/v1/exchanges/push", json=body, headers=_headers(gw, WIJKTEAM), timeout=30)
    assert response.status_code == 201, response.text
    received = _received(gw, "research")
    assert len(received) == 1
    canonical = _canonical("research", received[0])
    child = next(p for p in canonical["persons"] if p["role"] == "kind")
    assert child["bsn"].startswith("PS1.")
    assert child["birth_date"] == "2016"
    raw = json.dumps(received)
    for secret in (*SECRETS, "2016-05-17"):
        assert secret not in raw


def test_the_command_line_sends_a_first_exchange(running_gateway: RunningGateway) -> None:
    gw = running_gateway
    env = {**os.environ, "GATEWAY_PUBLIC_URL": gw.url, "GATEWAY_KEYS_DIR": str(gw.keys_dir)}
    done = subprocess.run([sys.executable, "-m", "gateway.cli", "push", "examples/melding-f2.json",
                           "--client", WIJKTEAM], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "HTTP 201" in done.stdout
    assert '"flow": "F2"' in done.stdout


def test_no_plaintext_identifier_in_database_or_application_logs(running_gateway: RunningGateway) -> None:
    gw = running_gateway
    stored = b"".join(p.read_bytes() for p in gw.database.parent.glob("gateway.db*"))
    log = gw.log_file.read_bytes()
    assert b'"exchange_id"' in stored and log  # both were written during the run
    for secret in SECRETS:
        assert secret.encode() not in stored, f"{secret} in database"
        assert secret.encode() not in log, f"{secret} in application log"
