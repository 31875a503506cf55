"""Fixtures for the partner adapter tests; the data and checks live in `adapter_checks`."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from gateway.relay.port import Delivery, FetchRequest, FetchSubject, PartnerEndpoint
from tests.adapters.adapter_checks import FULL, MINIMISED, TRACE_ID, SimulatorChecks


@pytest.fixture
def full_dossier() -> dict[str, Any]:
    return copy.deepcopy(FULL)


@pytest.fixture
def minimised_dossier() -> dict[str, Any]:
    return copy.deepcopy(MINIMISED)


@pytest.fixture
def endpoint() -> PartnerEndpoint:
    return PartnerEndpoint(organisation_id="org-partner", organisation_type="test", display_name="Partner",
                           base_url="http://sim", adapter="test")


def _delivery(dossier: dict[str, Any], **overrides: Any) -> Delivery:
    base = Delivery(
        exchange_id="ex-0001", delivery_key="ex-0001:org-partner", sender_id="org-sender",
        sender_name="Wijkteam Voorbeeldstad", recipient_id="org-partner", purpose="melding", flow="F2",
        legal_basis={"avg": "6(1)(e)", "national": "Wmo 2015 art. 5.2.6"}, log_position=7, trace_id=TRACE_ID,
        dossier=dossier, context={"parents_informed": True},
    )
    return replace(base, **overrides)


@pytest.fixture
def make_delivery() -> Callable[..., Delivery]:
    return _delivery


@pytest.fixture
def make_fetch() -> Callable[..., FetchRequest]:
    def make(*bsns: str, role: str = "kind") -> FetchRequest:
        subjects = [FetchSubject(ref=f"s{i}", role=role, bsn=bsn) for i, bsn in enumerate(bsns)]
        return FetchRequest(exchange_id="ex-0002", requester_id="org-sender", requester_name="Wijkteam",
                            holder_id="org-partner", purpose="informatie", trace_id=TRACE_ID,
                            subjects=subjects, categories=["household", "signals"])
    return make


@pytest.fixture
def checks(endpoint: PartnerEndpoint) -> SimulatorChecks:
    return SimulatorChecks(endpoint)
