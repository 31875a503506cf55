"""The DPO's inzage pages: a form that takes a BSN by POST (never in a URL) and answers with the report.

The report is made on request and not kept; the admin audit trail records that it was made and how many
exchanges it listed, never the BSN.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session

from gateway.core.database import run_db
from gateway.inzage.document import TEMPLATES, labels_of, normalise_bsn, render_document
from gateway.inzage.report import InvalidBsnInput, InzageReport, build_report, person_pseudonyms
from gateway.web import audit
from gateway.web.deps import WebPrincipal, client_address, require_role, require_role_csrf
from gateway.web.templating import add_template_dir, render

router = APIRouter(prefix="/ui/inzage", include_in_schema=False)
add_template_dir(TEMPLATES)


@router.get("/", response_class=HTMLResponse)
async def inzage_form(request: Request, principal: Annotated[WebPrincipal, Depends(require_role("dpo"))]) -> Response:
    del principal
    return render(request, "inzage/form.html")


@router.post("/rapport", response_class=HTMLResponse)
async def inzage_report(request: Request, principal: Annotated[WebPrincipal, Depends(require_role_csrf("dpo"))],
                        bsn: Annotated[str, Form(max_length=20)] = "",
                        format: Annotated[str, Form(max_length=10)] = "page") -> Response:  # noqa: A002
    try:
        pseudonyms = person_pseudonyms(request.app.state.exchange.pseudonymiser, normalise_bsn(bsn))
    except InvalidBsnInput:
        return render(request, "inzage/form.html", {"error": "Dit is geen geldig BSN (de elfproef klopt niet)."},
                      status_code=422)
    del bsn  # from here on only the pseudonyms exist
    labels = labels_of(request.app.state)
    now = dt.datetime.now(dt.UTC)
    client = client_address(request)

    def work(session: Session) -> InzageReport:
        report = build_report(session, pseudonyms=pseudonyms, labels=labels, now=now)
        audit.record(session, actor=principal.username, action="inzage_report", client=client, now=now,
                     detail={"exchanges": len(report.items), "pseudonyms": len(pseudonyms), "format": format
                             if format in ("page", "download") else "page"})
        return report

    report = await run_db(request.app.state.db, work, write=True)
    if format == "download":
        name = f"inzagerapport-{now.strftime('%Y%m%d-%H%M%S')}.html"
        return HTMLResponse(render_document(report), headers={"Content-Disposition": f'attachment; filename="{name}"'})
    return render(request, "inzage/report_page.html", {"report": report})
