"""The policy pages in process: reading for privacy officers and DPOs, the four-eyes path, CSRF on every form."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from gateway.core.settings import Settings
from tests.policy_admin.policy_support import drop_f9_health, push_f9
from tests.web.web_support import PASSWORD, add_user, login, page_csrf


@pytest.fixture
async def officers(app: FastAPI, settings: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    add_user(app, "po-a", ["privacy_officer"])
    add_user(app, "po-b", ["privacy_officer"])
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=settings.public_url) as anna, \
            httpx.AsyncClient(transport=transport, base_url=settings.public_url) as bram:
        await login(anna, "po-a")
        await login(bram, "po-b")
        yield anna, bram


def _textarea(html: str, name: str) -> str:
    import html as html_lib

    match = re.search(rf'<textarea name="{re.escape(name)}"[^>]*>(.*?)</textarea>', html, re.S)
    assert match, f"no textarea {name}"
    return html_lib.unescape(match.group(1))


async def test_privacy_officers_and_dpos_read_the_flows_table_and_a_flows_legal_basis(
        app: FastAPI, client: httpx.AsyncClient) -> None:
    add_user(app, "fg-c", ["dpo"])
    add_user(app, "ops", ["operator"])
    await login(client, "fg-c")
    page = await client.get("/ui/policy/")
    assert page.status_code == 200
    assert 'data-flow="F9"' in page.text and 'data-flow="R1"' in page.text
    assert "new-draft" not in page.text  # read-only for a DPO
    detail = await client.get("/ui/policy/flows/F9")
    assert "Wmo 2015 art. 4.1.1 lid 2 en 5.2.6" in detail.text and "https://wetten.overheid.nl/" in detail.text
    assert 'data-category="health"' in detail.text and "Het wijkteam krijgt nooit de identiteit" in detail.text
    assert (await client.get("/ui/policy/flows/F99")).status_code == 404
    assert "Beleid" in (await client.get("/ui/")).text
    await client.post("/ui/logout", data={"csrf_token": await page_csrf(client)})
    await login(client, "ops")
    assert (await client.get("/ui/policy/")).status_code == 403


async def test_every_policy_form_needs_the_csrf_token_and_the_privacy_officer_role(
        app: FastAPI, client: httpx.AsyncClient,
        officers: tuple[httpx.AsyncClient, httpx.AsyncClient]) -> None:
    anna, _ = officers
    token = await page_csrf(anna, "/ui/policy/")
    created = await anna.post("/ui/policy/drafts", data={"csrf_token": token})
    assert created.status_code == 303
    forms = {"/ui/policy/drafts": {}, "/ui/policy/versions/2/save": {"table:data/limits.yaml": "x: 1"},
             "/ui/policy/versions/2/submit": {}, "/ui/policy/versions/2/approve": {"password": PASSWORD},
             "/ui/policy/versions/2/reject": {"reason": "zomaar"}, "/ui/policy/versions/1/rollback": {}}
    for path, data in forms.items():
        refused = await anna.post(path, data=data)
        assert refused.status_code == 403, path
        wrong = await anna.post(path, data={**data, "csrf_token": "not-the-token"})
        assert wrong.status_code == 403, path
    add_user(app, "fg-c", ["dpo"])
    await login(client, "fg-c")
    dpo_token = await page_csrf(client, "/ui/policy/")
    for path, data in forms.items():
        assert (await client.post(path, data={**data, "csrf_token": dpo_token})).status_code == 403, path
    page = await anna.get("/ui/policy/versions/2")
    assert "Concept opslaan" in page.text and 'data-testid="version-state">concept' in page.text


async def test_draft_edit_check_diff_whatif_submit_and_approval_by_a_colleague(
        app: FastAPI, settings: Settings, officers: tuple[httpx.AsyncClient, httpx.AsyncClient]) -> None:
    anna, bram = officers
    assert (await push_f9(app, settings)).status_code == 201
    token = await page_csrf(anna, "/ui/policy/")
    draft = await anna.post("/ui/policy/drafts", data={"csrf_token": token})
    assert draft.headers["location"] == "/ui/policy/versions/2"
    page = await anna.get("/ui/policy/versions/2")
    flows = _textarea(page.text, "table:data/flows.yaml")

    broken = await anna.post("/ui/policy/versions/2/save", data={
        "csrf_token": token, "table:data/flows.yaml": flows.replace("treatment: pass", "treatment: doorgeven", 1)})
    assert broken.status_code == 422
    assert "Niet opgeslagen: Een tabel voldoet niet aan het schema." in broken.text
    assert "moet een van deze waarden zijn: pass, pseudonymise" in broken.text
    assert "treatment: doorgeven" in _textarea(broken.text, "table:data/flows.yaml")  # what was typed stays

    saved = await anna.post("/ui/policy/versions/2/save", data={
        "csrf_token": token, "table:data/flows.yaml": drop_f9_health(flows), "note": "F9 zonder gezondheid"})
    assert saved.status_code == 303
    check = await anna.get("/ui/policy/versions/2/check")
    assert "De controle vond geen problemen" in check.text
    diff = await anna.get("/ui/policy/versions/2/diff")
    assert "categorie health" in diff.text
    assert (await anna.get("/ui/policy/versions/2/whatif", params={"since": "gisteren"})).status_code == 422
    whatif = await anna.get("/ui/policy/versions/2/whatif", params={"since": "", "until": ""})
    assert "1 uitwisseling(en) opnieuw beslist; 1 zouden veranderen." in whatif.text
    assert "health[].description" in whatif.text

    assert (await anna.post("/ui/policy/versions/2/submit", data={"csrf_token": token})).status_code == 303
    own = await anna.get("/ui/policy/versions/2")
    assert 'data-testid="waiting"' in own.text and "approve-form" not in own.text
    assert (await anna.post("/ui/policy/versions/2/approve",
                            data={"csrf_token": token, "password": PASSWORD})).status_code == 403

    bram_token = await page_csrf(bram, "/ui/policy/versions/2")
    assert "approve-form" in (await bram.get("/ui/policy/versions/2")).text
    wrong = await bram.post("/ui/policy/versions/2/approve", data={"csrf_token": bram_token, "password": "fout"})
    assert wrong.status_code == 403 and "wachtwoord klopt niet" in wrong.text
    assert 'data-testid="version-state">ter goedkeuring' in (await bram.get("/ui/policy/versions/2")).text
    old_hash = app.state.exchange.policy.bundle_hash
    approved = await bram.post("/ui/policy/versions/2/approve", data={"csrf_token": bram_token, "password": PASSWORD})
    assert approved.status_code == 303
    page = await bram.get(approved.headers["location"])
    assert 'data-testid="activated"' in page.text and 'data-testid="signature-ok"' in page.text
    new_hash = re.search(r'data-testid="version-hash">([^<]+)<', page.text)
    assert new_hash and app.state.exchange.policy.bundle_hash == new_hash.group(1) != old_hash  # at once, here

    history = await bram.get("/ui/policy/versions")
    assert 'data-testid="rollback-1"' in history.text and "rollback-2" not in history.text
