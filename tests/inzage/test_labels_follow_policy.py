"""Inzage reports, the export form and the review desk label purposes, categories and flows from the active,
verified policy version as the gateway follows it — never from the bundle on disk."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from gateway.core.errors import PolicyUnavailable
from gateway.core.settings import Settings
from gateway.inzage.document import labels_of
from gateway.review.deps import tables_of
from tests.policy_admin.policy_support import activate_version
from tests.support import BSN_MOTHER, WIJKTEAM, melding_request, token_for
from tests.web.web_support import add_user, login, page_csrf

NEW_LABEL = "melding (beleidsversie 2)"
DISK_LABEL = "melding bij Veilig Thuis"  # what policies/data/purposes.yaml on disk says


def _relabel(purposes: dict[str, Any]) -> None:
    purposes["melding"]["label"] = NEW_LABEL


async def test_reports_and_the_export_form_use_the_active_versions_labels(
        client: httpx.AsyncClient, settings: Settings, app: FastAPI) -> None:
    headers = {"Authorization": f"Bearer {await token_for(client, settings, WIJKTEAM)}"}
    assert (await client.post("/v1/exchanges/push", json=melding_request(), headers=headers)).status_code == 201
    add_user(app, "fg-a", ["dpo"])
    await login(client, "fg-a")
    assert DISK_LABEL in (await client.get("/ui/exports/")).text  # version 1 was seeded from the disk bundle

    activate_version(app, "data/purposes.yaml", _relabel)
    await app.state.policy_runtime.sync()  # what the poller does within GATEWAY_POLICY_RELOAD_SECONDS
    assert app.state.policy_tables["purposes"]["melding"]["label"] == NEW_LABEL

    form = (await client.get("/ui/exports/")).text
    assert NEW_LABEL in form and DISK_LABEL not in form
    csrf = await page_csrf(client, "/ui/inzage/")
    report = await client.post("/ui/inzage/rapport", data={"bsn": BSN_MOTHER, "format": "page", "csrf_token": csrf})
    assert report.status_code == 200, report.text
    assert NEW_LABEL in report.text and DISK_LABEL not in report.text


def _request(state: SimpleNamespace) -> Any:
    return SimpleNamespace(app=SimpleNamespace(state=state))


def test_without_a_verified_active_version_there_are_no_tables_not_the_disk_bundles(settings: Settings) -> None:
    """As with the OPA engine (no bundle in process) before a verified version was loaded: a 503, not disk."""
    state = SimpleNamespace(settings=settings, exchange=SimpleNamespace(policy=object(), registry=None))
    with pytest.raises(PolicyUnavailable):
        tables_of(_request(state))
    with pytest.raises(PolicyUnavailable):
        labels_of(state)
    state.policy_tables = {"purposes": {"melding": {"label": NEW_LABEL}}}  # set by PolicyRuntime.on_tables
    assert tables_of(_request(state))["purposes"]["melding"]["label"] == NEW_LABEL
