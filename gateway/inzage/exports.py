"""The DPO's export page: a filtered selection of the log as CSV or JSON, in a proof bundle (zip).

The bundle (gateway/exchange_log/export.py) carries a signed checkpoint, the gateway's key and an inclusion proof
per entry, so a third party verifies it offline with `gateway log verify-export`. A person can be selected by BSN
(POST only; turned into pseudonyms, never stored). Every export is recorded in the admin audit trail with the
names of the filters used and the number of entries.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session

from gateway.core.database import run_db
from gateway.exchange_log.checkpointer import LogDeps
from gateway.exchange_log.export import FORMATS, Bundle, build_bundle
from gateway.inzage.document import labels_of
from gateway.review.search import InvalidBsn, ReviewFilter, matching_entries, person_pseudonyms
from gateway.web import audit
from gateway.web.deps import WebPrincipal, client_address, require_role, require_role_csrf
from gateway.web.templating import render

router = APIRouter(prefix="/ui/exports", include_in_schema=False)
DECISIONS = {"allow": "toegestaan", "deny": "geweigerd", "escalate": "voorgelegd", "delivered": "afgeleverd",
             "failed": "aflevering mislukt", "rejected": "afgewezen verzoek"}
KINDS = {"exchange": "uitwisseling", "delivery": "aflevering", "rejected_request": "afgewezen verzoek",
         "reidentification": "herleiding", "retention_purge": "bewaartermijn verstreken",
         "policy_activation": "beleid geactiveerd"}
Text = Annotated[str, Form(max_length=100)]


def _choices(request: Request) -> dict[str, Any]:
    labels = labels_of(request.app.state)  # the active policy version's tables, not the bundle on disk
    return {"organisations": sorted(labels.organisations.items(), key=lambda kv: kv[1]),
            "purposes": {k: labels.purpose(k)[0] for k in sorted(labels.purposes)},
            "categories": {k: labels.category(k) for k in sorted(labels.categories) if k != "structure"},
            "flows": sorted(request.app.state.exchange.known_flows), "decisions": DECISIONS, "kinds": KINDS,
            "formats": FORMATS}


@router.get("/", response_class=HTMLResponse)
async def export_form(request: Request, principal: Annotated[WebPrincipal, Depends(require_role("dpo"))]) -> Response:
    del principal
    return render(request, "inzage/exports.html", _choices(request))


def _date(value: str) -> dt.datetime | None:
    return dt.datetime.combine(dt.date.fromisoformat(value), dt.time(), tzinfo=dt.UTC) if value else None


@router.post("/bundle")
async def export_bundle(request: Request, principal: Annotated[WebPrincipal, Depends(require_role_csrf("dpo"))], *,
                        since: Text = "", until: Text = "", organisation_id: Text = "", flow: Text = "",
                        purpose: Text = "", decision: Text = "", kind: Text = "", category: Text = "",
                        bsn: Annotated[str, Form(max_length=20)] = "",
                        format: Text = "json") -> Response:  # noqa: A002
    try:
        pseudonyms = (person_pseudonyms(request.app.state.exchange.pseudonymiser, None, bsn) if bsn.strip()
                      else frozenset())
        end = _date(until)
        f = ReviewFilter(since=_date(since), until=end + dt.timedelta(days=1) if end else None,
                         organisation_id=organisation_id or None, flow=flow or None, purpose=purpose or None,
                         decision=decision or None, kind=kind or None, category=category or None,
                         person_pseudonyms=pseudonyms)
    except (InvalidBsn, ValueError, OverflowError):  # OverflowError: the day after 9999-12-31
        return render(request, "inzage/exports.html", {**_choices(request), "error":
                      "Controleer de invoer: een datum of het BSN is niet geldig."}, status_code=422)
    fmt = format if format in FORMATS else "json"
    del bsn
    log: LogDeps = request.app.state.log
    now = dt.datetime.now(dt.UTC)
    filters = {name: ("(persoon)" if name == "person" else str(getattr(f, name))) for name in f.used()}
    client = client_address(request)

    def work(session: Session) -> Bundle:
        bundle = build_bundle(session, matching_entries(session, f), fmt=fmt, signer=log.signer,
                              origin=log.origin, now=now, filters=filters)
        audit.record(session, actor=principal.username, action="export", client=client, now=now,
                     detail={"filters": sorted(filters), "entries": bundle.entries, "format": fmt,
                             "tree_size": bundle.tree_size})
        return bundle

    bundle = await run_db(log.db, work, write=True)
    return Response(bundle.content, media_type="application/zip",
                    headers={"Content-Disposition": f'attachment; filename="{bundle.filename}"'})
