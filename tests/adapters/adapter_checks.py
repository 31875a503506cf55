"""Sample dossiers and the adapter-vs-simulator checks shared by the partner adapter tests.

`FULL` sets every leaf of the canonical model (test_common asserts it), so a round trip through a native
format proves that the mapping carries every field. `MINIMISED` is what a recipient gets after the gateway
minimised a dossier: pseudonymised or encrypted BSNs, generalised dates and postcode, no names or contact
details, some parts dropped, some lists empty. Every name and BSN is fictional.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from gateway.relay.port import AdapterError, Delivery, FetchRequest, PartnerAdapter, PartnerEndpoint

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PSEUDONYM = "PS1.k1.QUJDREVGR0hJSktMTU5PUFFSU1RVVldY"
ENCRYPTED = "ENC1.k2.c2VjcmV0LWJzbi10b2tlbi1mb3ItdGVzdHM"

FULL: dict[str, Any] = {
    "case_numbers": [{"organisation": "wijkteam-voorbeeldstad", "number": "WT-2025-0042"}],
    "household": {
        "composition": "tweeoudergezin",
        "address": {"kind": "brp", "street": "Proefstraat", "house_number": "12", "postcode": "1234 AB",
                    "municipality": "Voorbeeldstad", "secret": False},
        "member_refs": ["p1", "p2", "p3", "p4"],
    },
    "persons": [
        {"ref": "p1", "role": "kind", "bsn": "111222333", "given_names": "Noor", "surname": "Voorbeeld",
         "birth_date": "2016-04-12", "sex": "vrouw", "nationality": "Nederlandse", "school": "De Proeftuin",
         "education_level": "groep 5", "language": "Nederlands", "interpreter_needed": False},
        {"ref": "p2", "role": "ouder", "bsn": "999990019", "given_names": "Eva", "surname": "Voorbeeld",
         "birth_date": "1988-01-25", "sex": "vrouw", "phone": "0600000001", "email": "eva@example.org"},
        {"ref": "p3", "role": "ouder", "bsn": "999990020", "given_names": "Daan", "surname_prefix": "de",
         "surname": "Proef", "birth_date": "1986-11-30", "sex": "man"},
        {"ref": "p4", "role": "kind", "surname": "Voorbeeld", "expected_birth_date": "2025-08-01",
         "sex": "onbekend"},
        {"ref": "p5", "role": "melder", "given_names": "Ilse", "surname": "Meldster", "phone": "0200000000",
         "reporter_role": "onderwijs", "organisation": "De Proeftuin", "anonymous_towards_family": True},
        {"ref": "p6", "role": "informant", "organisation": "Consultatiebureau", "sex": "anders"},
    ],
    "gezag": [{"child_ref": "p1", "type": "gezamenlijk_ouderlijk", "holder_refs": ["p2", "p3"],
               "under_investigation": False}],
    "signals": [
        {"kind": "melding", "date": "2024-10-02", "relation": "nieuw",
         "situation": "Zorgen over ruzies thuis.",
         "violence_forms": [
             {"category": "getuige_huiselijk_geweld", "victim_ref": "p1", "perpetrator_ref": "p3"},
             {"category": "partnergeweld", "victim_ref": "p2"},
         ],
         "existing_help": True, "restraining_order": False},
        {"kind": "adviesvraag", "relation": "herhaald", "violence_forms": []},
    ],
    "observations": [{"text": "Moeder bevestigt de ruzies.", "nature": "feit", "source": "gesprek moeder",
                      "approved": True}],
    "safety_assessments": [{"triage": "structureel", "date": "2024-10-07", "instrument": "LIRIK",
                            "outcome": "Structurele onveiligheid.", "score": 62}],
    "safety_plan": {"dangers": ["escalerende ruzies"], "goals": ["geen geweld"],
                    "agreements": [{"who_ref": "p3", "what": "verlaat het huis bij spanning",
                                    "when": "direct"}],
                    "scale": 4, "contacts": ["buurvrouw"]},
    "involvements": [{"organisation": "GGZ Voorbeeld", "kind": "behandeling", "start": "2024-01-15",
                      "end": "2024-06-30", "mental_health": True}],
    "health": [{"person_ref": "p3", "kind": "verslaving", "description": "Alcoholgebruik."}],
    "justice": [{"person_ref": "p3", "kind": "politiecontact", "description": "Melding burengerucht."}],
    "finances": {"debts": True, "description": "Huurachterstand."},
    "measures": [{"kind": "voorlopige_ots", "child_ref": "p1", "court": "Rechtbank Voorbeeld",
                  "ruling_date": "2025-02-03", "case_number": "C/01/123456", "start": "2025-02-03",
                  "end": "2025-05-03", "executing_gi": "GI Voorbeeld"}],
    "plan": {"type": "plan van aanpak", "goals": ["rust in huis"], "case_director": "jeugdbeschermer"},
}

MINIMISED: dict[str, Any] = {
    "household": {"composition": "tweeoudergezin", "member_refs": ["p1", "p2"],
                  "address": {"postcode": "1234", "municipality": "Voorbeeldstad"}},
    "persons": [
        {"ref": "p1", "role": "kind", "bsn": PSEUDONYM, "birth_date": "2016", "sex": "vrouw"},
        {"ref": "p2", "role": "ouder", "bsn": ENCRYPTED, "birth_date": "30-39"},
        {"ref": "p3", "role": "kind", "birth_date": "0-4"},
        {"ref": "p5", "role": "melder", "reporter_role": "onderwijs"},
    ],
    "gezag": [{"child_ref": "p1", "type": "gezamenlijk_ouderlijk"}],
    "signals": [{"kind": "melding", "date": "2024", "violence_forms": [{"category": "verwaarlozing"}]},
                {"relation": "vervolg", "violence_forms": []}],
    "safety_assessments": [{"triage": "acuut", "date": "2024-10"}],
    "safety_plan": {"scale": 6, "agreements": []},
    "involvements": [{"kind": "jeugdhulp", "start": "2024"}],
    "finances": {"debts": False},
    "measures": [{"kind": "ots", "start": "2025"}],
}


def without_direct_identifiers(dossier: dict[str, Any]) -> dict[str, Any]:
    """The full sample as the research recipient may get it: pseudonyms, postcode area, no names."""
    for person in dossier["persons"]:
        for name in ("given_names", "surname_prefix", "surname", "phone", "email"):
            person.pop(name, None)
        if "bsn" in person:
            person["bsn"] = PSEUDONYM
    address = dossier["household"]["address"]
    del address["street"], address["house_number"]
    address["postcode"] = "1234"
    return dossier


class SimulatorChecks:
    """Adapter-vs-simulator checks every partner test module runs with its own adapter and simulator."""

    def __init__(self, endpoint: PartnerEndpoint) -> None:
        self.endpoint = endpoint

    async def deliver_twice(self, adapter: PartnerAdapter, client: httpx.AsyncClient,
                            delivery: Delivery) -> dict[str, Any]:
        """Deliver, check receipt and stored headers, repeat, check nothing was stored twice."""
        first = await adapter.deliver(client, self.endpoint, delivery)
        assert first.status_code == 201
        assert first.partner_reference
        again = await adapter.deliver(client, self.endpoint, delivery)
        assert (again.status_code, again.partner_reference) == (200, first.partner_reference)
        received = (await client.get("/_sim/received")).json()
        assert len(received) == 1
        stored = received[0]
        assert stored["idempotency_key"] == delivery.delivery_key
        assert stored["exchange_id"] == delivery.exchange_id
        assert stored["traceparent"].startswith(f"00-{TRACE_ID}-")
        body: dict[str, Any] = stored["body"]
        return body

    async def fault_fails_delivery(self, adapter: PartnerAdapter, client: httpx.AsyncClient,
                                   delivery: Delivery) -> None:
        await client.post("/_sim/faults", json={"fail_next": 1, "status": 503})
        with pytest.raises(AdapterError) as raised:
            await adapter.deliver(client, self.endpoint, delivery)
        assert (raised.value.reason, raised.value.status_code) == ("partner_error", 503)
        assert (await client.get("/_sim/received")).json() == []
        receipt = await adapter.deliver(client, self.endpoint, delivery)  # the fault was used up
        assert receipt.status_code == 201

    async def unknown_bsn_is_rejected(self, adapter: PartnerAdapter, client: httpx.AsyncClient,
                                      request: FetchRequest) -> None:
        with pytest.raises(AdapterError) as raised:
            await adapter.fetch(client, self.endpoint, request)
        assert (raised.value.reason, raised.value.status_code) == ("rejected", 404)

    async def health(self, adapter: PartnerAdapter, client: httpx.AsyncClient) -> None:
        assert await adapter.health(client, self.endpoint) is True
        down = PartnerEndpoint(**{**self.endpoint.__dict__, "base_url": "http://sim/nothing-here"})
        assert await adapter.health(client, down) is False
