"""Helpers for the policy-version tests: a policies folder in which F9 still passes health data.

The repository's F9 (Veilig Thuis → wijkteam) passes no health data. The done-means scenario — a privacy officer
drops health data from F9 — needs a starting point where it does, so these tests seed their gateway from a copy
of policies/ in which F9 passes health data on an AVG art. 9 ground. The change under test is then real.
"""

from __future__ import annotations

import base64
import contextlib
import json
import shutil
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import yaml
from fastapi import FastAPI

from gateway.core.settings import REPO_ROOT, Settings

F9_HEALTH_GROUND = "wmo-5.2.6-melding"


def f9_health_rule() -> dict[str, Any]:
    return {"treatment": "pass", "ground": F9_HEALTH_GROUND,
            "reason": "Welke ggz-hulp loopt, voor de toeleiding naar passende hulp."}


def policies_with_f9_health(target: Path) -> Path:
    shutil.copytree(REPO_ROOT / "policies", target)
    flows_file = target / "data" / "flows.yaml"
    flows = yaml.safe_load(flows_file.read_text(encoding="utf-8"))
    flows["F9"]["categories"]["health"] = f9_health_rule()
    flows_file.write_text(yaml.safe_dump(flows, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return target


def drop_f9_health(flows_yaml: str) -> str:
    """The privacy officer's edit: F9 no longer passes health data (the rule says drop, with a reason)."""
    flows = yaml.safe_load(flows_yaml)
    flows["F9"]["categories"]["health"] = {
        "treatment": "drop", "reason": "Het wijkteam heeft voor de toeleiding geen gezondheidsgegevens nodig."}
    return yaml.safe_dump(flows, allow_unicode=True, sort_keys=False)


# --- a gateway in process, and F9 exchanges through it --------------------------------------------------------

HEALTH_TEXT = "Depressieve klachten"  # the health description in tests.support's sample dossier


def f9_request() -> dict[str, Any]:
    from tests.support import melding_request

    return melding_request(recipient="wijkteam-utrecht-west", purpose="toeleiding_hulp",
                           context={"kader": "vrijwillig"})


@contextlib.asynccontextmanager
async def running_gateway(settings: Settings, simulators: dict[str, FastAPI]) -> AsyncIterator[FastAPI]:
    """Another gateway instance in process (same wiring as the `app` fixture), e.g. a second replica."""
    from gateway.main import create_app
    from tests.support import SIM_HOSTS, RoutingTransport

    application = create_app(settings)
    async with application.router.lifespan_context(application):
        relay = application.state.exchange.relay
        routes = {SIM_HOSTS[n]: a for n, a in simulators.items()}
        await relay.client.aclose()
        relay.client = httpx.AsyncClient(transport=RoutingTransport(routes), timeout=5)
        for org_id, own in list(relay.partner_clients.items()):  # partners with outbound auth keep their auth
            await own.aclose()
            relay.partner_clients[org_id] = httpx.AsyncClient(transport=RoutingTransport(routes), auth=own.auth,
                                                              event_hooks=own.event_hooks, timeout=5)
        try:
            yield application
        finally:
            for own in relay.partner_clients.values():
                await own.aclose()
            await relay.client.aclose()


async def push_f9(app: FastAPI, settings: Settings) -> httpx.Response:
    from tests.support import VT, token_for

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=settings.public_url) as client:
        headers = {"Authorization": f"Bearer {await token_for(client, settings, VT)}"}
        return await client.post("/v1/exchanges/push", json=f9_request(), headers=headers)


def readable(received: Any) -> str:
    """What a simulator received, as text: its JSON plus every base64 string in it decoded (a ZGW document's
    `inhoud`, for one), so a test can tell whether a value arrived whatever the partner's format."""
    texts = [json.dumps(received, ensure_ascii=False)]

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)
        elif isinstance(value, str) and len(value) >= 16:
            with contextlib.suppress(ValueError, UnicodeDecodeError):
                decoded = base64.b64decode(value, validate=True).decode("utf-8")
                texts.append(decoded)
                with contextlib.suppress(ValueError):
                    walk(json.loads(decoded))

    walk(received)
    return "\n".join(texts)


async def received_by(simulator: FastAPI, exchange_id: str) -> str:
    """What the simulator received for this exchange, readable (fails if it received nothing for it)."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=simulator), base_url="http://sim") as c:
        entries = (await c.get("/_sim/received")).json()
    mine = [e for e in entries if e.get("exchange_id") == exchange_id]
    assert mine, "the partner system received nothing for this exchange"
    return readable(mine)


def logged_exchange(app: FastAPI, exchange_id: str) -> dict[str, Any]:
    from sqlmodel import Session, col, select

    from gateway.exchange_log.models import LogEntry

    with Session(app.state.db) as session:
        entry = session.exec(select(LogEntry.entry).where(col(LogEntry.exchange_id) == exchange_id,
                                                          col(LogEntry.kind) == "exchange")).one()
    record: dict[str, Any] = json.loads(entry)
    return record


def health_treatments(response: httpx.Response) -> set[str]:
    return {f["treatment"] for f in response.json()["fields"] if f["category"] == "health"}


# --- a new active version, approved by two privacy officers ---------------------------------------------------

def activate_version(app: FastAPI, path: str, edit: Callable[[Any], None]) -> int:
    """Edit one table of the active version (`data/purposes.yaml`, …) and make it active with four eyes (po-a
    authors, po-b approves, the gateway's policy key signs), as the pages do; returns the new version's number.
    The running gateway follows it at its next poll (or `app.state.policy_runtime.sync()`)."""
    import datetime as dt

    from sqlmodel import Session

    from gateway.policy_admin import service
    from gateway.web.models import WebUser
    from tests.web.web_support import add_user

    for name in ("po-a", "po-b"):
        with Session(app.state.db) as session:
            exists = session.get(WebUser, name) is not None
        if not exists:
            add_user(app, name, ["privacy_officer"])
    now = dt.datetime.now(dt.UTC)
    with Session(app.state.db) as session:
        current = service.active(session)
        assert current is not None
        files = service.files_of(current)
        table = yaml.safe_load(files[path])
        edit(table)
        files[path] = yaml.safe_dump(table, allow_unicode=True, sort_keys=False)
        author, approver = service.Who("po-a"), service.Who("po-b")
        version = service.propose(session, files=files, who=author, note="test", source="test", now=now)
        checked = version.bundle_hash  # the check and the Rego tests are not what these tests are about
        service.submit(session, number=version.number, who=author, now=now, checked_hash=checked)
        service.approve(session, number=version.number, who=approver, signer=app.state.policy_signer, now=now,
                        checked_hash=checked)
        session.commit()
        return version.number


def tamper_active_version(app: FastAPI) -> None:
    """Change the active version's stored files behind the service's back (as someone with SQL access could)."""
    from sqlalchemy import text

    with app.state.db.begin() as connection:
        connection.execute(text("UPDATE policy_version SET files = replace(files, 'P20Y', 'P1D') "
                                "WHERE state = 'active'"))
