"""The review API and pages: person search without a stored BSN, detail, annotations, reviewed state, roles, CSRF."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlmodel import Session, select

from gateway.core.settings import Settings
from gateway.review.models import ReviewAnnotation, ReviewItem
from gateway.web.models import AdminAuditEntry
from tests.review.review_support import wijkteam_headers
from tests.support import BSN_CHILD, BSN_MOTHER, melding_request
from tests.web.web_support import add_user, login, page_csrf

OTHER_BSN = "663923323"  # passes the 11-check; not in the sample dossier


def _other_person() -> dict[str, Any]:
    body = melding_request()
    body["dossier"]["persons"][0]["bsn"] = OTHER_BSN
    body["dossier"]["persons"][1]["bsn"] = "146881977"
    return body


async def _dpo(app: FastAPI, client: httpx.AsyncClient, username: str = "fg-a") -> str:
    add_user(app, username, ["dpo"])
    await login(client, username)
    return await page_csrf(client, "/ui/review/")


async def _push(client: httpx.AsyncClient, settings: Settings, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post("/v1/exchanges/push", json=body, headers=await wijkteam_headers(client, settings))
    assert response.status_code in (201, 202, 403), response.text
    result: dict[str, Any] = response.json()
    return result.get("exchange", result)


def _audit(app: FastAPI) -> list[AdminAuditEntry]:
    with Session(app.state.db) as session:
        return list(session.exec(select(AdminAuditEntry)))


async def test_person_search_finds_their_exchanges_and_stores_no_bsn(app: FastAPI, client: httpx.AsyncClient,
                                                                      settings: Settings) -> None:
    mine = [await _push(client, settings, melding_request()) for _ in range(2)]
    other = await _push(client, settings, _other_person())
    csrf = await _dpo(app, client)
    response = await client.post("/ui/api/review/person-search", json={"bsn": BSN_MOTHER},
                                 headers={"X-CSRF-Token": csrf})
    assert response.status_code == 200, response.text
    found = response.json()
    ids = {e["exchange_id"] for e in found["entries"] if e["kind"] == "exchange"}
    assert ids == {r["exchange_id"] for r in mine}
    assert other["exchange_id"] not in ids
    # The page: a POST form, rendered directly.
    page = await client.post("/ui/review/person", data={"bsn": f"{BSN_CHILD[:3]} {BSN_CHILD[3:]}", "csrf_token": csrf})
    assert page.status_code == 200
    assert 'data-testid="person-result"' in page.text and BSN_CHILD not in page.text
    assert page.text.count('data-testid="entry-row"') == len(mine)
    # An invalid number is refused without echoing it.
    bad = await client.post("/ui/api/review/person-search", json={"bsn": "123456789"}, headers={"X-CSRF-Token": csrf})
    assert bad.status_code == 422 and "123456789" not in bad.text
    # Nothing stored: the audit trail says a person was searched for, never who.
    searches = [e for e in _audit(app) if e.action == "review_search"]
    # The first is the search page opened to read the CSRF token; then the API's and the page's person search.
    assert [json.loads(e.detail)["person_search"] for e in searches] == [False, True, True]
    for value in (BSN_MOTHER, BSN_CHILD):
        assert all(value not in (e.detail + (e.target or "")) for e in _audit(app))
    _assert_not_in_database(app, settings, [BSN_MOTHER, BSN_CHILD, OTHER_BSN])


def _assert_not_in_database(app: FastAPI, settings: Settings, values: list[str]) -> None:
    if settings.is_sqlite:
        app.state.db.dispose()  # checkpoint nothing away: read the main file and the WAL as they are
        path = Path(settings.database_url.removeprefix("sqlite:///"))
        raw = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
        for value in values:
            assert value.encode() not in raw
        return
    with app.state.db.connect() as connection:
        tables = [r[0] for r in connection.execute(text(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"))]
        for table in tables:
            dump = " ".join(str(r) for r in connection.execute(text(f'SELECT * FROM "{table}"')))  # noqa: S608
            for value in values:
                assert value not in dump, table


async def test_detail_annotations_and_reviewed_state(app: FastAPI, client: httpx.AsyncClient,
                                                     settings: Settings) -> None:
    result = await _push(client, settings, melding_request())
    position = result["log"]["position"]
    csrf = await _dpo(app, client)
    detail = (await client.get(f"/ui/api/review/entries/{position}")).json()
    assert detail["flow"] == "F2" and detail["outcome"] == "allow"
    assert detail["reasons"] and detail["bundle_hash"].startswith("sha256:")
    assert detail["legal_basis_current"]["citation"] and detail["legal_basis_logged"]["id"] == "wmo-5.2.6-melding"
    treatments = {f["path"]: f for f in detail["fields"]}
    assert treatments["persons[0].bsn"]["treatment"] == "pass" and treatments["persons[0].bsn"]["reason"]
    assert {"special", "reporter"} <= set(detail["queues"])
    note = "Melding besproken met Veilig Thuis; grondslag klopt."
    added = await client.post(f"/ui/api/review/entries/{position}/annotations", json={"text": note},
                              headers={"X-CSRF-Token": csrf})
    assert added.status_code == 201, added.text
    refused = await client.post(f"/ui/api/review/entries/{position}/annotations",
                                json={"text": f"Betreft BSN {BSN_CHILD}"}, headers={"X-CSRF-Token": csrf})
    assert refused.status_code == 422 and BSN_CHILD not in refused.text
    marked = await client.post(f"/ui/api/review/entries/{position}/reviewed", headers={"X-CSRF-Token": csrf})
    again = await client.post(f"/ui/api/review/entries/{position}/reviewed", headers={"X-CSRF-Token": csrf})
    assert marked.status_code == again.status_code == 200
    assert marked.json()["reviewed_by"] == "fg-a" and again.json()["reviewed_at"] == marked.json()["reviewed_at"]
    detail = (await client.get(f"/ui/api/review/entries/{position}")).json()
    assert [a["text"] for a in detail["annotation_list"]] == [note]
    assert detail["reviewed_by"] == "fg-a"
    # Reviewed items leave the open queue and show under reviewed.
    open_ = (await client.get("/ui/api/review/queues/special")).json()
    done = (await client.get("/ui/api/review/queues/special?state=reviewed")).json()
    assert position not in [e["position"] for e in open_["entries"]]
    assert [e["position"] for e in done["entries"]] == [position]
    with Session(app.state.db) as session:
        stored = session.exec(select(ReviewAnnotation)).one()
    assert note not in stored.sealed_text  # sealed at rest
    actions = [e.action for e in _audit(app)]
    assert {"review_viewed", "annotation", "reviewed"} <= set(actions)
    assert all(note not in e.detail for e in _audit(app))
    # The pages show the same.
    page = await client.get(f"/ui/review/entries/{position}")
    assert page.status_code == 200 and note in page.text and 'data-testid="reviewed"' in page.text


async def test_break_glass_review_marks_the_review_item(app: FastAPI, client: httpx.AsyncClient,
                                                        settings: Settings) -> None:
    body = melding_request(recipient="gi-utrecht", purpose="informatie_ots", context={
        "kader": "vrijwillig", "break_glass": {"justification": "Acuut gevaar; gegevens over de OTS ontbreken."}})
    result = await _push(client, settings, body)
    csrf = await _dpo(app, client)
    queue = (await client.get("/ui/api/review/queues/break_glass")).json()
    assert [e["exchange_id"] for e in queue["entries"]] == [result["exchange_id"]]
    position = queue["entries"][0]["position"]
    detail = (await client.get(f"/ui/api/review/entries/{position}")).json()
    assert detail["break_glass"]["justification"] == "Acuut gevaar; gegevens over de OTS ontbreken."
    await client.post(f"/ui/api/review/entries/{position}/reviewed", headers={"X-CSRF-Token": csrf})
    with Session(app.state.db) as session:
        item = session.exec(select(ReviewItem)).one()
    assert item.reviewer == "fg-a" and item.reviewed_at is not None


async def test_roles_csrf_and_sessions_are_enforced(app: FastAPI, client: httpx.AsyncClient) -> None:
    # No session: the API answers 401 problem+json, a page sends to the login page.
    anonymous = await client.get("/ui/api/review/entries")
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"].startswith("application/problem+json")
    assert (await client.post("/ui/api/review/person-search", json={"bsn": BSN_CHILD})).status_code == 401
    assert (await client.get("/ui/review/")).status_code == 303
    # A privacy officer is not a DPO.
    add_user(app, "po-a", ["privacy_officer"])
    await login(client, "po-a")
    assert (await client.get("/ui/api/review/entries")).status_code == 403
    assert (await client.get("/ui/review/")).status_code == 403
    assert (await client.get("/ui/review/deliveries")).status_code == 403
    await client.post("/ui/logout", data={"csrf_token": await page_csrf(client, "/ui/")})
    # A DPO without the CSRF token is refused on every POST.
    await _dpo(app, client, "fg-b")
    assert (await client.post("/ui/api/review/person-search", json={"bsn": BSN_CHILD})).status_code == 403
    assert (await client.post("/ui/api/review/entries/0/reviewed")).status_code == 403
    assert (await client.post("/ui/review/person", data={"bsn": BSN_CHILD})).status_code == 403
    # A DPO may not retry deliveries (operators do).
    csrf = await page_csrf(client, "/ui/review/")
    assert (await client.post("/ui/api/review/deliveries/x/retry", headers={"X-CSRF-Token": csrf})).status_code == 403


@pytest.mark.parametrize("path", ["/ui/api/review/entries", "/ui/api/review/queues", "/ui/api/review/statistics",
                                  "/ui/api/review/flags", "/ui/api/review/obligations"])
async def test_review_api_is_documented_with_its_problems(app: FastAPI, client: httpx.AsyncClient,
                                                          path: str) -> None:
    schema = (await client.get("/openapi.json")).json()
    operation = schema["paths"][path]["get"]
    assert operation["tags"] == ["review"]
    assert {"401", "403"} <= set(operation["responses"])
    assert (await client.get(path)).status_code == 401


async def test_search_pages_render_for_a_dpo(app: FastAPI, client: httpx.AsyncClient, settings: Settings) -> None:
    await _push(client, settings, melding_request())
    await _dpo(app, client)
    for path in ("/ui/review/?flow=F2&decision=allow&category=health", "/ui/review/queues/special",
                 "/ui/review/statistics?bucket=week", "/ui/review/flags", "/ui/review/obligations?state=open",
                 "/ui/review/deliveries"):
        page = await client.get(path)
        assert page.status_code == 200, (path, page.text)
        assert "<script" not in page.text
    page = await client.get("/ui/review/?flow=F2")
    assert page.text.count('data-testid="entry-row"') == 1
    assert (await client.get("/ui/review/?since=not-a-date")).status_code == 400
    assert (await client.get("/ui/review/queues/nope")).status_code == 404
