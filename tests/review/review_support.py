"""Helpers for the review desk tests: real exchanges as templates, and a large generated log through the log service.

`generate` appends thousands of exchange records through `gateway.exchange_log.service.append` — the same
function the exchange path calls, so the side index is filled exactly as in production — with varied parties,
flows, categories, people and professionals. Each record is described by a `Spec`; the tests compute the expected
matches from the specs and compare them with what the search returns.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import random
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi import FastAPI
from sqlmodel import Session, col, select

from gateway.core.settings import Settings
from gateway.exchange_log import service as log_service
from gateway.exchange_log.models import LogEntry
from gateway.pseudonymise.pseudonyms import LOG_DOMAIN, Pseudonymiser
from tests.support import WIJKTEAM, melding_request, token_for

CATEGORIES = ["identification", "contact", "household", "signals", "safety", "help", "health", "justice", "reporter"]
FLOWS = {"F2": ("wijkteam-utrecht-west", "vt-utrecht", "melding", "wmo-5.2.6-melding"),
         "F3": ("wijkteam-utrecht-west", "vt-utrecht", "onderzoek_vt", "wmo-5.2.6-inlichtingen"),
         "F4": ("vt-utrecht", "rvdk-midden-nederland", "verzoek_tot_onderzoek", "bw1-238-verzoek-tot-onderzoek"),
         "F7": ("wijkteam-utrecht-west", "gi-utrecht", "informatie_ots", "jw-7.3.11-lid4-ots"),
         "F9": ("vt-utrecht", "wijkteam-utrecht-west", "toeleiding_hulp", "wmo-4.1.1-toeleiding")}
_LOG_KEYS = ("schema", "record_id", "position", "kind", "time", "prev_leaf_hash")


def bsn_pool(count: int, seed: int = 7) -> list[str]:
    """Fictional BSNs that pass the 11-check."""
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    out: list[str] = []
    while len(out) < count:
        digits = [rng.randrange(10) for _ in range(8)]
        check = sum(d * w for d, w in zip(digits, range(9, 1, -1), strict=True)) % 11
        if check < 10 and digits[0] != 0:
            candidate = "".join(map(str, digits)) + str(check)
            if candidate not in out:
                out.append(candidate)
    return out


@dataclass
class Spec:
    position: int = -1
    recorded_at: dt.datetime = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    kind: str = "exchange"
    sender: str = ""
    recipient: str = ""
    flow: str | None = None
    purpose: str = ""
    outcome: str = "allow"
    legal_basis: str | None = None
    professional: str = ""
    categories: dict[str, str] = field(default_factory=dict)  # category → treatment of its field
    persons: list[str] = field(default_factory=list)           # BSNs (kept in the test only)
    conflict: bool = False
    break_glass: bool = False

    @property
    def special(self) -> bool:
        return any(self.categories.get(c, "drop") != "drop" for c in ("health", "justice"))

    @property
    def reporter_released(self) -> bool:
        return self.categories.get("reporter") == "pass"


async def wijkteam_headers(client: httpx.AsyncClient, settings: Settings) -> dict[str, str]:
    return {"Authorization": f"Bearer {await token_for(client, settings, WIJKTEAM)}"}


def exchange_records(app: FastAPI) -> list[dict[str, Any]]:
    with Session(app.state.db) as session:
        rows = session.exec(select(LogEntry).where(col(LogEntry.kind) == "exchange").order_by(
            col(LogEntry.position))).all()
    return [json.loads(r.entry) for r in rows]


async def template_record(client: httpx.AsyncClient, settings: Settings, app: FastAPI) -> dict[str, Any]:
    """A real allowed F2 record, made through the exchange API, without its log-position keys."""
    response = await client.post("/v1/exchanges/push", json=melding_request(),
                                 headers=await wijkteam_headers(client, settings))
    assert response.status_code == 201, response.text
    record = exchange_records(app)[-1]
    return {k: v for k, v in record.items() if k not in _LOG_KEYS}


def professional_pseudonym(pseudonymiser: Pseudonymiser, organisation: str, number: int) -> str:
    return pseudonymiser.pseudonym(f"professional:{organisation}:mdw-{number:04d}", LOG_DOMAIN)


def record_for(template: dict[str, Any], spec: Spec, pseudonymiser: Pseudonymiser) -> dict[str, Any]:
    record = copy.deepcopy(template)
    record["caller"] = spec.sender
    record["sender"] = {"id": spec.sender, "type": "x", "oin": "0" * 20}
    record["recipient"] = {"id": spec.recipient, "type": "x", "oin": "0" * 20}
    record["flow"], record["purpose"] = spec.flow, spec.purpose
    record["decision"]["outcome"] = spec.outcome
    record["legal_basis"] = {"id": spec.legal_basis, "avg_article": "AVG art. 6 lid 1 sub e"} \
        if spec.legal_basis else None
    record["professional"] = {"pseudonym": spec.professional, "role": "wijkteammedewerker"}
    record["categories"] = sorted(spec.categories)
    record["fields"] = [{"path": f"x.{c}", "field": f"x.{c}", "category": c, "treatment": t}
                        for c, t in sorted(spec.categories.items())]
    record["special_categories"] = [c for c in ("health", "justice") if c in spec.categories]
    record["subjects"] = [{"pseudonym": pseudonymiser.pseudonym(f"bsn:{b}", LOG_DOMAIN), "role": "kind", "by": "bsn"}
                          for b in spec.persons]
    record["policy_input"]["context"]["conflict_van_plichten"] = spec.conflict
    record.pop("break_glass", None)
    if spec.break_glass:
        record["break_glass"] = {"requested": True, "applied": True, "unnecessary": False, "flags": []}
    if spec.outcome != "allow":
        record["obligations"] = []
    return record


def random_specs(count: int, *, start: dt.datetime, pseudonymiser: Pseudonymiser, people: list[str],
                 seed: int = 1) -> list[Spec]:
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    professionals = {org: [professional_pseudonym(pseudonymiser, org, n) for n in range(8)]
                     for org in {v[0] for v in FLOWS.values()}}
    specs = []
    for i in range(count):
        flow = rng.choice(sorted(FLOWS))
        sender, recipient, purpose, basis = FLOWS[flow]
        outcome = rng.choices(["allow", "deny", "escalate"], weights=[80, 15, 5])[0]
        chosen = rng.sample(CATEGORIES, rng.randint(1, 5))
        specs.append(Spec(
            recorded_at=start + dt.timedelta(minutes=7 * i + rng.randint(0, 5)), sender=sender, recipient=recipient,
            flow=flow, purpose=purpose, outcome=outcome, legal_basis=basis if outcome != "deny" else None,
            professional=rng.choice(professionals[sender]),
            categories={c: rng.choice(["pass", "pass", "pseudonymise", "drop"]) for c in chosen},
            persons=rng.sample(people, rng.randint(1, 3)), conflict=rng.random() < 0.05,
            break_glass=rng.random() < 0.03))
    return specs


def append_specs(app: FastAPI, template: dict[str, Any], specs: list[Spec]) -> None:
    """Append the specs' records (and a delivery record after every tenth allowed one) in one transaction."""
    pseudonymiser = app.state.exchange.pseudonymiser
    with Session(app.state.db) as session:
        for n, spec in enumerate(specs):
            entry = log_service.append(session, kind="exchange", record=record_for(template, spec, pseudonymiser),
                                       now=spec.recorded_at)
            spec.position = entry.position
            if spec.outcome == "allow" and n % 10 == 0:
                log_service.append(session, kind="delivery", now=spec.recorded_at + dt.timedelta(seconds=2), record={
                    "refers_to": entry.position, "sender": {"id": spec.sender}, "recipient": {"id": spec.recipient},
                    "outcome": "delivered", "reason": None, "attempts": 1})
        session.commit()
