"""Flags fire on a spike, out-of-hours bulk and repeated refusals — and not on normal traffic; obligations due;
statistics per day and week."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import Session

from gateway.core.settings import Settings
from gateway.review import insights
from gateway.review.index import deadline_days
from tests.review.review_support import Spec, append_specs, professional_pseudonym, template_record
from tests.support import melding_request
from tests.web.web_support import add_user, login, page_csrf

AMS = ZoneInfo("Europe/Amsterdam")
DAY = dt.date(2026, 6, 17)  # a Wednesday
WIJK, VT = "wijkteam-utrecht-west", "vt-utrecht"


def _at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), AMS).astimezone(dt.UTC)


def _spec(org: str, professional: str, when: dt.datetime, outcome: str = "allow") -> Spec:
    return Spec(recorded_at=when, sender=org, recipient=VT if org == WIJK else WIJK, flow="F2", purpose="melding",
                outcome=outcome, legal_basis="wmo-5.2.6-melding" if outcome != "deny" else None,
                professional=professional, categories={"signals": "pass"}, persons=["111222333"])


def _normal_traffic(profs: dict[str, list[str]]) -> list[Spec]:
    """Office-hours traffic on the weekdays of a month: 34 + 2 refusals a day from twelve professionals at the
    wijkteam, 10 a day from eight at Veilig Thuis; nothing in the weekends."""
    specs = []
    for back in range(30, -1, -1):
        day = DAY - dt.timedelta(days=back)
        if day.weekday() >= 5:
            continue
        specs.extend(_spec(WIJK, profs[WIJK][n % 12], _at(day, 9 + n % 7, n), "deny" if n >= 34 else "allow")
                     for n in range(36))
        specs.extend(_spec(VT, profs[VT][n % 8], _at(day, 10 + n % 6, n)) for n in range(10))
    return specs


def _anomalies(profs: dict[str, list[str]]) -> list[Spec]:
    spike = [_spec(VT, profs[VT][n % 8], _at(DAY, 9 + n % 8, n % 60)) for n in range(80)]
    busy = [_spec(WIJK, profs[WIJK][1], _at(DAY, 10 + n % 6, 30 + n)) for n in range(16)]
    night = [_spec(WIJK, profs[WIJK][2], _at(DAY, 21 + n % 2, n * 4)) for n in range(11)]
    refused = [_spec(WIJK, profs[WIJK][3], _at(DAY, 11, n * 5), "deny") for n in range(6)]
    return spike + busy + night + refused


@pytest.fixture
async def traffic(app: FastAPI, client: httpx.AsyncClient, settings: Settings) -> dict[str, Any]:
    template = await template_record(client, settings, app)
    pseudonymiser = app.state.exchange.pseudonymiser
    profs = {org: [professional_pseudonym(pseudonymiser, org, n) for n in range(12)] for org in (WIJK, VT)}
    return {"template": template, "profs": profs}


def _flags(app: FastAPI) -> list[insights.Flag]:
    with Session(app.state.db) as session:
        return insights.flags(session, since=_at(DAY - dt.timedelta(days=6), 0),
                              until=_at(DAY + dt.timedelta(days=1), 0), t=insights.Thresholds())


async def test_normal_traffic_raises_no_flag(app: FastAPI, traffic: dict[str, Any]) -> None:
    append_specs(app, traffic["template"], _normal_traffic(traffic["profs"]))
    assert _flags(app) == []


async def test_spike_out_of_hours_bulk_and_repeated_refusals_are_flagged(app: FastAPI, client: httpx.AsyncClient,
                                                                        traffic: dict[str, Any]) -> None:
    profs = traffic["profs"]
    append_specs(app, traffic["template"], _normal_traffic(profs) + _anomalies(profs))
    found = {(f.code, f.subject, f.day) for f in _flags(app)}
    assert found == {("volume_spike_organisation", VT, DAY), ("volume_spike_professional", profs[WIJK][1], DAY),
                     ("out_of_hours_bulk", profs[WIJK][2], DAY), ("repeated_refusals", profs[WIJK][3], DAY)}
    add_user(app, "fg-a", ["dpo"])
    await login(client, "fg-a")
    api = await client.get(f"/ui/api/review/flags?since={DAY - dt.timedelta(days=2)}&until={DAY}")
    assert api.status_code == 200
    assert {(f["code"], f["subject"]) for f in api.json()} == {(c, s) for c, s, _ in found}
    page = await client.get(f"/ui/review/flags?since={DAY}&until={DAY}")
    assert page.text.count('data-testid="flag-row"') == 4


async def test_statistics_count_per_day_and_week(app: FastAPI, client: httpx.AsyncClient,
                                                 traffic: dict[str, Any]) -> None:
    specs = _normal_traffic(traffic["profs"])
    append_specs(app, traffic["template"], specs)
    add_user(app, "fg-a", ["dpo"])
    await login(client, "fg-a")
    since, until = DAY - dt.timedelta(days=13), DAY
    days = (await client.get(f"/ui/api/review/statistics?since={since}&until={until}")).json()
    inside = [s for s in specs if since <= s.recorded_at.astimezone(AMS).date() <= until]
    per_day = Counter(s.recorded_at.astimezone(AMS).date().isoformat() for s in inside)
    assert {b["start"]: b["exchanges"] for b in days} == dict(per_day)
    assert sum(b["refused"] for b in days) == sum(1 for s in inside if s.outcome == "deny")
    assert all(b["by_organisation"] == {VT: 10, WIJK: 36} for b in days)
    weeks = (await client.get(f"/ui/api/review/statistics?since={since}&until={until}&bucket=week")).json()
    assert sum(b["exchanges"] for b in weeks) == len(inside)
    assert all(dt.date.fromisoformat(b["start"]).weekday() == 0 for b in weeks)


def test_deadlines_are_read_from_the_obligations_text() -> None:
    assert deadline_days("Veilig Thuis informeert de betrokkenen binnen vier weken over …") == 28
    assert deadline_days("stelt binnen zes weken een plan van aanpak op") == 42
    assert deadline_days("binnen 10 dagen") == 10
    assert deadline_days("Gebruik de gegevens alleen voor deze maatregel.") is None


async def test_obligations_become_due_and_can_be_marked_fulfilled(app: FastAPI, client: httpx.AsyncClient,
                                                                  settings: Settings) -> None:
    fresh = await client.post("/v1/exchanges/push", json=melding_request(), headers={
        "Authorization": (await _bearer(client, settings))})
    assert fresh.status_code == 201
    template = await template_record(client, settings, app)
    old = Spec(recorded_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=30), sender=WIJK, recipient=VT, flow="F2",
               purpose="melding", outcome="allow", legal_basis="wmo-5.2.6-melding", professional="PS1.x.y",
               categories={"signals": "pass"})
    refused = Spec(recorded_at=old.recorded_at, sender=WIJK, recipient=VT, flow="F2", purpose="melding",
                   outcome="deny", professional="PS1.x.y", categories={"signals": "pass"})
    append_specs(app, template, [old, refused])
    add_user(app, "fg-a", ["dpo"])
    await login(client, "fg-a")
    csrf = await page_csrf(client, "/ui/review/obligations")
    due = (await client.get("/ui/api/review/obligations")).json()
    assert [(o["position"], o["overdue"]) for o in due] == [(old.position, True)]
    assert "binnen vier weken" in due[0]["text"]
    open_ = (await client.get("/ui/api/review/obligations?state=open")).json()
    assert len(open_) == 3  # the old one and the two real pushes; never the refused exchange
    done = await client.post(f"/ui/api/review/obligations/{old.position}/{due[0]['number']}/fulfilled",
                             headers={"X-CSRF-Token": csrf})
    assert done.status_code == 204
    assert (await client.get("/ui/api/review/obligations")).json() == []
    everything = (await client.get("/ui/api/review/obligations?state=all")).json()
    assert [o["fulfilled_by"] for o in everything if o["position"] == old.position] == ["fg-a"]
    missing = await client.post("/ui/api/review/obligations/999999/0/fulfilled", headers={"X-CSRF-Token": csrf})
    assert missing.status_code == 404


async def _bearer(client: httpx.AsyncClient, settings: Settings) -> str:
    from tests.review.review_support import wijkteam_headers

    return (await wijkteam_headers(client, settings))["Authorization"]
