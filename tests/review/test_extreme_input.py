"""Well-formed but extreme input (the first and last dates, integers beyond 64 bits) is refused or answered, never
a 500: on the review API (problem+json) and on the review, export and policy pages (an error page with a 4xx;
an invalid path or query parameter is a problem+json 422 there too)."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from tests.web.web_support import add_user, login, page_csrf

HUGE = str(2**63)  # one beyond a signed 64-bit integer: SQLite overflows, PostgreSQL raises a DataError
BIG = str(2**31)  # one beyond PostgreSQL's INTEGER, the type of the position and number columns
EXTREME_DATES = [{"until": "9999-12-31"}, {"since": "0001-01-01"}, {"since": "0001-01-01T00:00:00+05:00"},
                 {"until": "9999-12-31T23:59:59-05:00"}, {"since": "1800-01-01"}]


async def _dpo(app: FastAPI, client: httpx.AsyncClient) -> str:
    add_user(app, "fg-x", ["dpo", "privacy_officer"])
    await login(client, "fg-x")
    return await page_csrf(client, "/ui/review/")


@pytest.mark.parametrize("path", ["/ui/api/review/entries", "/ui/api/review/statistics", "/ui/api/review/flags"])
async def test_review_api_refuses_dates_out_of_range(app: FastAPI, client: httpx.AsyncClient, path: str) -> None:
    await _dpo(app, client)
    for params in EXTREME_DATES:
        response = await client.get(path, params=params)
        assert response.status_code == 400, (params, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == "invalid-filter"
    # The ends of the range still work.
    fine = await client.get(path, params={"since": "1900-01-01", "until": "8999-12-31"})
    assert fine.status_code == 200, fine.text


@pytest.mark.parametrize("path", ["/ui/review/", "/ui/review/statistics", "/ui/review/flags"])
async def test_review_pages_refuse_dates_out_of_range(app: FastAPI, client: httpx.AsyncClient, path: str) -> None:
    await _dpo(app, client)
    for params in EXTREME_DATES:
        response = await client.get(path, params=params)
        assert response.status_code == 400, (params, response.text)
        assert response.headers["content-type"].startswith("text/html")


async def test_person_search_refuses_dates_out_of_range(app: FastAPI, client: httpx.AsyncClient) -> None:
    csrf = await _dpo(app, client)
    bsn = "111222333"
    for params in EXTREME_DATES:
        page = await client.post("/ui/review/person", data={"bsn": bsn, "csrf_token": csrf, **params})
        assert page.status_code == 400, (params, page.text)
    for body in ({"since": "0001-01-01T00:00:00+05:00"}, {"until": "9999-12-31T23:59:59-05:00"},
                 {"offset": 2**63}):
        response = await client.post("/ui/api/review/person-search", json={"bsn": bsn, **body},
                                     headers={"X-CSRF-Token": csrf})
        assert response.status_code == 422, (body, response.text)
        assert response.headers["content-type"] == "application/problem+json"
    fine = await client.post("/ui/api/review/person-search", json={"bsn": bsn, "since": "2000-01-01T00:00:00Z"},
                             headers={"X-CSRF-Token": csrf})
    assert fine.status_code == 200, fine.text


async def test_review_integers_beyond_64_bits_are_invalid(app: FastAPI, client: httpx.AsyncClient) -> None:
    csrf = await _dpo(app, client)
    api_gets = [f"/ui/api/review/entries/{HUGE}", f"/ui/api/review/entries?offset={HUGE}",
                f"/ui/api/review/queues/refused?offset={HUGE}", "/ui/api/review/entries/-1"]
    for path in api_gets:
        response = await client.get(path)
        assert response.status_code == 422, (path, response.text)
        assert response.headers["content-type"] == "application/problem+json"
    api_posts = [f"/ui/api/review/entries/{HUGE}/reviewed", f"/ui/api/review/obligations/0/{HUGE}/fulfilled",
                 f"/ui/api/review/obligations/{HUGE}/0/fulfilled"]
    for path in api_posts:
        response = await client.post(path, headers={"X-CSRF-Token": csrf})
        assert response.status_code == 422, (path, response.text)
    annotated = await client.post(f"/ui/api/review/entries/{HUGE}/annotations", json={"text": "x"},
                                  headers={"X-CSRF-Token": csrf})
    assert annotated.status_code == 422, annotated.text
    assert (await client.get(f"/ui/api/review/entries/{BIG}")).status_code == 422
    # The largest storable position is simply not there.
    assert (await client.get(f"/ui/api/review/entries/{2**31 - 1}")).status_code == 404
    assert (await client.post(f"/ui/api/review/obligations/{2**31 - 1}/{2**31 - 1}/fulfilled",
                              headers={"X-CSRF-Token": csrf})).status_code == 404
    pages = [f"/ui/review/entries/{HUGE}", f"/ui/review/?page={HUGE}", f"/ui/review/queues/refused?page={HUGE}",
             f"/ui/review/entries/0?saved={HUGE}", f"/ui/review/deliveries?done={HUGE}"]
    for path in pages:
        response = await client.get(path)
        assert response.status_code == 422, (path, response.text)
        assert response.headers["content-type"] == "application/problem+json"  # as any invalid parameter
    for path in (f"/ui/review/entries/{HUGE}/reviewed", f"/ui/review/obligations/{HUGE}/{HUGE}/fulfilled",
                 f"/ui/review/entries/{HUGE}/annotations"):
        response = await client.post(path, data={"csrf_token": csrf, "text": "x"})
        assert response.status_code == 422, (path, response.text)


async def test_policy_pages_take_extreme_dates_and_refuse_huge_numbers(app: FastAPI,
                                                                       client: httpx.AsyncClient) -> None:
    await _dpo(app, client)
    csrf = await page_csrf(client, "/ui/policy/")
    for params in ({"until": "9999-12-31"}, {"since": "0001-01-01", "until": "0001-01-01"}):
        # The last possible day means: no upper bound.
        response = await client.get("/ui/policy/versions/1/whatif", params=params)
        assert response.status_code == 200, (params, response.text)
    assert (await client.get(f"/ui/policy/versions/{2**31 - 1}")).status_code == 404
    for path in (f"/ui/policy/versions/{HUGE}", f"/ui/policy/versions/{BIG}/whatif",
                 f"/ui/policy/versions/{HUGE}/diff", f"/ui/policy/flows/F1?version={HUGE}"):
        response = await client.get(path)
        assert response.status_code == 422, (path, response.text)
        assert response.headers["content-type"] == "application/problem+json"  # as any invalid parameter
    for path, data in ((f"/ui/policy/versions/{HUGE}/rollback", {}), ("/ui/policy/drafts", {"base": HUGE}),
                       (f"/ui/policy/versions/{HUGE}/reject", {"reason": "zomaar"})):
        response = await client.post(path, data={"csrf_token": csrf, **data})
        assert response.status_code == 422, (path, response.text)


async def test_export_refuses_the_day_after_the_last(app: FastAPI, client: httpx.AsyncClient) -> None:
    await _dpo(app, client)
    csrf = await page_csrf(client, "/ui/exports/")
    response = await client.post("/ui/exports/bundle", data={"csrf_token": csrf, "until": "9999-12-31"})
    assert response.status_code == 422, response.text
    assert "een datum of het BSN is niet geldig" in response.text
    early = await client.post("/ui/exports/bundle", data={"csrf_token": csrf, "since": "0001-01-01"})
    assert early.status_code == 200, early.text
