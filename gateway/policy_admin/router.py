"""The pages for privacy officers (and, read-only, DPOs) under /ui/policy/.

Reading (GET, both roles): the active flows table, a flow's detail, version history, a version with its
check/test results, diff and what-if. Changing (POST with CSRF, privacy officers): new draft, save, submit,
approve (with password), reject, rollback. The pages call the same service as `gateway policy …`.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from gateway.core.database import run_db
from gateway.core.errors import NotFound, ValidationFailed
from gateway.policy.bundle import PolicyBundle, bundle_from_files
from gateway.policy_admin import preview, service
from gateway.policy_admin.errors import PolicyVersionInvalid, PolicyVersionTampered
from gateway.policy_admin.models import ACTIVE, DRAFT, SUBMITTED, SUPERSEDED, PolicyVersion
from gateway.web.deps import WebPrincipal, client_address, reauthenticate, require_role, require_role_csrf
from gateway.web.templating import add_template_dir, render

router = APIRouter(prefix="/ui/policy", include_in_schema=False)
add_template_dir(Path(__file__).parent / "templates")

READERS = ("privacy_officer", "dpo")
OFFICER = "privacy_officer"
STATES_NL = {DRAFT: "concept", SUBMITTED: "ter goedkeuring", ACTIVE: "actief", SUPERSEDED: "vervangen",
             "rejected": "afgewezen"}
Reader = Annotated[WebPrincipal, Depends(require_role(*READERS))]
Officer = Annotated[WebPrincipal, Depends(require_role_csrf(OFFICER))]
# Version numbers are stored in an INTEGER column (32-bit on PostgreSQL, 64-bit on SQLite): a query with a larger
# one failed with a 500 (DataError, OverflowError). They are refused as invalid (422) instead.
MAX_NUMBER = 2**31 - 1
Number = Annotated[int, PathParam(ge=1, le=MAX_NUMBER)]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _who(request: Request, principal: WebPrincipal) -> service.Who:
    return service.Who(principal.username, client_address(request))


async def _read(request: Request, work: Any) -> Any:
    return await run_db(request.app.state.db, work)


async def _write(request: Request, work: Any) -> Any:
    return await run_db(request.app.state.db, work, write=True)


def _bundle(version: PolicyVersion) -> PolicyBundle:
    return bundle_from_files(service.files_of(version))


def _active_or_404(session: Session) -> PolicyVersion:
    version = service.active(session)
    if version is None:
        raise NotFound(detail="Er is geen actieve beleidsversie.")
    return version


@router.get("/", response_class=HTMLResponse)
async def flows_table(request: Request, principal: Reader) -> Response:
    def work(session: Session) -> tuple[PolicyVersion, list[PolicyVersion]]:
        versions = service.versions(session)
        return _active_or_404(session), [v for v in versions if v.state in (DRAFT, SUBMITTED)]

    active, open_versions = await _read(request, work)
    return render(request, "policy/index.html", {
        "active": active, "tables": preview.tables_of(_bundle(active)), "open_versions": open_versions,
        "states": STATES_NL, "runtime_version": request.app.state.policy_runtime.version})


@router.get("/flows/{flow_id}", response_class=HTMLResponse)
async def flow_detail(request: Request, principal: Reader, flow_id: str,
                      version: Annotated[int | None, Query(ge=1, le=MAX_NUMBER)] = None) -> Response:
    row = await _read(request, lambda s: service.get(s, version) if version else _active_or_404(s))
    tables = preview.tables_of(_bundle(row))
    if tables is None or flow_id not in tables.flows:
        raise NotFound(detail="Deze gegevensstroom bestaat niet in deze versie.")
    flow = tables.flows[flow_id]
    return render(request, "policy/flow.html", {
        "version": row, "flow_id": flow_id, "flow": flow, "tables": tables,
        "basis": tables.legal_bases.get(flow.legal_basis)})


@router.get("/versions", response_class=HTMLResponse)
async def history(request: Request, principal: Reader) -> Response:
    rows = await _read(request, service.versions)
    return render(request, "policy/versions.html", {"versions": rows, "states": STATES_NL})


async def _version_page(request: Request, number: int, *, status_code: int = 200,
                        **extra: Any) -> HTMLResponse:
    def work(session: Session) -> tuple[PolicyVersion, PolicyVersion | None]:
        return service.get(session, number), service.active(session)

    version, active = await _read(request, work)
    files = service.files_of(version)
    principal: WebPrincipal = request.state.web_principal
    officer = OFFICER in principal.roles
    tables = {path: text for path, text in files.items() if path.startswith("data/")}
    verified: bool | None = None
    if version.signature:
        try:
            service.verified_bundle(version, request.app.state.policy_signer.public_key)
            verified = True
        except PolicyVersionTampered:
            verified = False
    context = {
        "version": version, "active": active, "states": STATES_NL, "tables": extra.pop("tables", None) or tables,
        "can_edit": officer and version.state == DRAFT and version.author == principal.username,
        "can_decide": officer and version.state == SUBMITTED and version.author != principal.username,
        "is_author_waiting": version.state == SUBMITTED and version.author == principal.username,
        "can_rollback": officer and version.state == SUPERSEDED, "verified": verified, "officer": officer,
        "today": _now().date().isoformat(), **extra}
    return render(request, "policy/version.html", context, status_code=status_code)


@router.get("/versions/{number}", response_class=HTMLResponse)
async def version_page(request: Request, principal: Reader, number: Number) -> Response:
    return await _version_page(request, number)


@router.get("/versions/{number}/check", response_class=HTMLResponse)
async def version_check(request: Request, principal: Reader, number: Number) -> Response:
    version = await _read(request, lambda s: service.get(s, number))
    return await _version_page(request, number, check=preview.check_and_test(_bundle(version)))


@router.get("/versions/{number}/diff", response_class=HTMLResponse)
async def version_diff(request: Request, principal: Reader, number: Number) -> Response:
    def work(session: Session) -> tuple[PolicyVersion, PolicyVersion]:
        return service.get(session, number), _active_or_404(session)

    version, active = await _read(request, work)
    return await _version_page(request, number, diff=preview.diff(_bundle(active), _bundle(version)))


@router.get("/versions/{number}/whatif", response_class=HTMLResponse)
async def version_whatif(request: Request, principal: Reader, number: Number,
                         since: Annotated[str, Query(max_length=10)] = "",
                         until: Annotated[str, Query(max_length=10)] = "") -> Response:
    first, last = _date(since), _date(until)  # an empty date field means: no bound

    def work(session: Session) -> Any:
        return preview.whatif(session, _bundle(service.get(session, number)), since=first, until=last)

    report = await _read(request, work)
    return await _version_page(request, number, whatif=report, since=first, until=last)


def _date(value: str) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise ValidationFailed(detail="Vul een datum in als jjjj-mm-dd.") from exc


@router.post("/drafts")
async def new_draft(request: Request, principal: Officer,
                    base: Annotated[int | None, Form(ge=1, le=MAX_NUMBER)] = None) -> Response:
    version = await _write(request, lambda s: service.draft_from(s, number=base, who=_who(request, principal),
                                                                 now=_now()))
    return RedirectResponse(f"/ui/policy/versions/{version.number}", status_code=303)


@router.post("/versions/{number}/save", response_class=HTMLResponse)
async def save(request: Request, principal: Officer, number: Number) -> Response:
    form = await request.form()
    tables = {key.removeprefix("table:"): str(value) for key, value in form.items()
              if key.startswith("table:") and isinstance(value, str)}
    note = form.get("note")
    try:
        await _write(request, lambda s: service.save_draft(s, number=number, who=_who(request, principal),
                                                           tables=tables, note=note if isinstance(note, str) else None,
                                                           now=_now()))
    except PolicyVersionInvalid as exc:
        # Show the text as typed, with what is wrong in it; nothing was stored.
        current = await _read(request, lambda s: service.files_of(service.get(s, number)))
        shown = {path: tables.get(path, text) for path, text in current.items() if path.startswith("data/")}
        return await _version_page(request, number, status_code=422, tables=shown, save_error=exc)
    return RedirectResponse(f"/ui/policy/versions/{number}?saved=1", status_code=303)


@router.post("/versions/{number}/submit", response_class=HTMLResponse)
async def submit(request: Request, principal: Officer, number: Number,
                 note: Annotated[str, Form(max_length=1000)] = "") -> Response:
    try:
        checked = await _read(request, lambda s: service.check_version(s, number=number))
        await _write(request, lambda s: service.submit(s, number=number, who=_who(request, principal),
                                                       now=_now(), note=note or None, checked_hash=checked))
    except PolicyVersionInvalid as exc:
        return await _version_page(request, number, status_code=422, submit_error=exc)
    return RedirectResponse(f"/ui/policy/versions/{number}?submitted=1", status_code=303)


@router.post("/versions/{number}/approve")
async def approve(request: Request, principal: Officer, number: Number,
                  password: Annotated[str, Form(max_length=1000)] = "") -> Response:
    await reauthenticate(request, principal, password, action="policy_approve")
    signer = request.app.state.policy_signer
    checked = await _read(request, lambda s: service.check_version(s, number=number))
    await _write(request, lambda s: service.approve(s, number=number, who=_who(request, principal), signer=signer,
                                                    now=_now(), checked_hash=checked))
    await request.app.state.policy_runtime.sync()  # this replica at once; the others within their poll interval
    return RedirectResponse(f"/ui/policy/versions/{number}?activated=1", status_code=303)


@router.post("/versions/{number}/reject")
async def reject(request: Request, principal: Officer, number: Number,
                 reason: Annotated[str, Form(min_length=3, max_length=1000)]) -> Response:
    await _write(request, lambda s: service.reject(s, number=number, who=_who(request, principal), reason=reason,
                                                   now=_now()))
    return RedirectResponse(f"/ui/policy/versions/{number}?rejected=1", status_code=303)


@router.post("/versions/{number}/rollback")
async def rollback(request: Request, principal: Officer, number: Number) -> Response:
    version = await _write(request, lambda s: service.rollback(s, number=number, who=_who(request, principal),
                                                               now=_now()))
    return RedirectResponse(f"/ui/policy/versions/{version.number}", status_code=303)
