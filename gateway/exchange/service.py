"""The exchange path: decide → minimise → log (durably) → relay.

Fail closed at every step: no decision, no durable log record, or an unknown party means nothing is relayed.
Push (verstrekken) relays the minimised dossier to the recipient; pull (bevragen) fetches from the holder,
minimises, logs, and only then returns the data to the caller.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlmodel import Session

from gateway.auth.tokens import Principal
from gateway.core import telemetry
from gateway.core.database import run_db
from gateway.core.errors import (
    ActingForAnother,
    IdempotencyConflict,
    IdempotencyInFlight,
    LogUnavailable,
    NotFound,
    PolicyUnavailable,
    UnknownOrganisation,
)
from gateway.core.types import Outcome, Treatment
from gateway.dossier.fields import DossierField, flatten
from gateway.dossier.model import Gezinsdossier
from gateway.exchange import break_glass, delivery, records
from gateway.exchange.deps import FIND_IDEMPOTENT, INSERT_EXCHANGE, ExchangeDeps, now
from gateway.exchange.models import ExchangeRow
from gateway.exchange.schemas import (
    BreakGlassRequest,
    ExchangeResult,
    PullRequest,
    PushRequest,
)
from gateway.exchange_log import service as log_service
from gateway.policy.models import Decision
from gateway.pseudonymise.minimise import Applied, FieldRule, minimise
from gateway.pseudonymise.pseudonyms import LOG_DOMAIN, organisation_domain
from gateway.registry.organisations import Organisation, OrganisationRegistry
from gateway.relay import outbox
from gateway.relay.port import AdapterError, Delivery, FetchRequest, FetchSubject

POLICY_FAILED_REASON = "Er kon geen beleidsbeslissing worden verkregen; er is niets verstrekt (fail closed)."


@dataclass
class _Parties:
    caller: Organisation
    sender: Organisation
    recipient: Organisation


def _resolve(registry: OrganisationRegistry, organisation_id: str, name: str) -> Organisation:
    organisation = registry.get(organisation_id)
    if organisation is None:
        raise UnknownOrganisation(detail=f"The {name} organisation is not registered at this gateway.")
    return organisation


def _acting_for_self(principal: Principal, claimed: str | None) -> None:
    if claimed is not None and claimed != principal.organisation.id:
        raise ActingForAnother(detail="The token belongs to another organisation than the one named in the request.")


@contextlib.asynccontextmanager
async def _rejections_logged(deps: ExchangeDeps, principal: Principal, pattern: str,
                             trace_id: str) -> AsyncIterator[None]:
    """An authenticated request refused before any decision still leaves a trace for the DPO."""
    try:
        yield
    except (ActingForAnother, UnknownOrganisation) as exc:
        record = {"trace_id": trace_id, "pattern": pattern, "caller": principal.organisation.id,
                  "sender": {"id": principal.organisation.id}, "client_id": principal.client_id,
                  "outcome": "rejected", "reason": exc.code}

        def write(session: Session) -> None:
            log_service.append(session, kind="rejected_request", record=record, now=now())

        with contextlib.suppress(SQLAlchemyError, OSError):
            await run_db(deps.db, write, write=True, group=True)
        raise


def request_hash(pattern: str, body: PushRequest | PullRequest) -> str:
    return "sha256:" + hashlib.sha256(pattern.encode() + log_service.canonical_json(
        body.model_dump(mode="json"))).hexdigest()


async def _idempotent_replay(deps: ExchangeDeps, caller: str, key: str | None,
                             digest: str) -> ExchangeResult | None:
    if key is None:
        return None

    def find(session: Session) -> tuple[str, str] | None:
        found = session.execute(FIND_IDEMPOTENT, {"caller_id": caller, "idempotency_key": key}).first()
        return None if found is None else (str(found[0]), str(found[1]))

    try:
        row = await run_db(deps.db, find)
    except (SQLAlchemyError, OSError) as exc:
        raise LogUnavailable(detail="The exchange store cannot be read; nothing was relayed.") from exc
    if row is None:
        return None
    stored_hash, summary = row
    if stored_hash != digest:
        raise IdempotencyConflict(detail="This Idempotency-Key was used before with a different request body.")
    return ExchangeResult.model_validate_json(summary)


async def _decide(deps: ExchangeDeps, policy_input: dict[str, Any]) -> Decision:
    started = time.perf_counter()
    try:
        with telemetry.span("gateway.policy.decide", {"gateway.policy.engine": deps.policy.name,
                                                      "gateway.policy.bundle": deps.policy.bundle_hash}) as span:
            decision = await deps.policy.decide(policy_input)
            telemetry.annotate({"gateway.decision.outcome": decision.outcome.value, "gateway.flow": decision.flow,
                                "gateway.decision.id": decision.decision_id}, span)
            return decision
    except PolicyUnavailable:
        deps.metrics.policy_errors.labels(deps.policy.name).inc()
        raise
    finally:
        deps.metrics.policy_seconds.labels(deps.policy.name).observe(time.perf_counter() - started)


def _failed_closed_decision(deps: ExchangeDeps) -> Decision:
    return Decision(outcome=Outcome.DENY, reasons=[POLICY_FAILED_REASON], decision_id=str(uuid.uuid4()),
                    bundle_hash=deps.policy.bundle_hash, engine=deps.policy.name)


def _rules(decision: Decision) -> dict[str, FieldRule]:
    if decision.outcome is not Outcome.ALLOW:
        return {}
    return {path: FieldRule(fd.treatment, fd.method) for path, fd in decision.fields.items()}


def _all_dropped(fields: list[DossierField]) -> list[Applied]:
    return [Applied(f.path, f.schema_path, f.category, Treatment.DROP, None) for f in fields]


def _status_for(decision: Decision) -> str:
    return {"allow": "delivering", "deny": "refused", "escalate": "pending_review"}[decision.outcome.value]


@dataclass
class _Written:
    log: log_service.Appended
    result: ExchangeResult
    delivery: Delivery | None = None


async def _write(deps: ExchangeDeps, *, record: dict[str, Any], row: dict[str, Any],
                 result_for: Callable[[log_service.Appended], ExchangeResult],
                 delivery_for: Callable[[log_service.Appended], Delivery] | None = None,
                 before_append: Callable[[Session], None] | None = None) -> _Written:
    """Log record, exchange row and its summary in one transaction: durable before anything leaves."""
    started = time.perf_counter()

    def write(session: Session) -> _Written:
        if before_append is not None:
            before_append(session)
        entry = log_service.append(session, kind="exchange", record=record, now=row["created_at"])
        result = result_for(entry)
        session.execute(INSERT_EXCHANGE, [{**row, "log_position": entry.position,
                                           "summary": result.model_dump_json(exclude={"data"})}])
        delivery = delivery_for(entry) if delivery_for else None
        if delivery is not None:  # the transactional outbox: accepted ⇒ a job exists, whatever happens next
            outbox.enqueue(session, delivery=delivery, sealer=deps.sealer, now=row["created_at"],
                           lease_seconds=deps.retry_policy.lease_seconds)
        return _Written(entry, result, delivery)

    try:
        with telemetry.span("gateway.log.append", {"gateway.log.kind": "exchange", "gateway.exchange.id": row["id"],
                                                   "gateway.exchange.status": row["status"]}) as span:
            written = await run_db(deps.db, write, write=True, group=True)
            telemetry.annotate({"gateway.log.position": written.log.position}, span)
            return written
    except IntegrityError as exc:
        if row["idempotency_key"] is not None:
            raise IdempotencyInFlight(detail="A request with this Idempotency-Key is being processed.") from exc
        raise LogUnavailable(detail="The exchange could not be logged; nothing was relayed.") from exc
    except (SQLAlchemyError, OSError) as exc:
        raise LogUnavailable(detail="The exchange could not be logged; nothing was relayed.") from exc
    finally:
        deps.metrics.log_write_seconds.observe(time.perf_counter() - started)


@dataclass
class _Prepared:
    exchange_id: str
    pattern: str
    parties: _Parties
    purpose: str
    professional_role: str
    professional_pseudonym: str
    idempotency_key: str | None
    digest: str
    trace_id: str
    created: dt.datetime


def _prepare(deps: ExchangeDeps, *, pattern: str, principal: Principal, parties: _Parties, body: PushRequest |
             PullRequest, idempotency_key: str | None, trace_id: str) -> _Prepared:
    return _Prepared(
        exchange_id=str(uuid.uuid4()), pattern=pattern, parties=parties, purpose=body.purpose,
        professional_role=body.professional.role,
        professional_pseudonym=deps.pseudonymiser.pseudonym(
            f"professional:{principal.organisation.id}:{body.professional.id}", LOG_DOMAIN),
        idempotency_key=idempotency_key, digest=request_hash(pattern, body), trace_id=trace_id, created=now())


def _result(p: _Prepared, *, status: str, decision: Decision, applied: list[Applied], log: log_service.Appended | None,
            delivery: dict[str, Any], glass: dict[str, Any] | None = None) -> ExchangeResult:
    return ExchangeResult.model_validate({
        "exchange_id": p.exchange_id, "pattern": p.pattern, "status": status, "outcome": decision.outcome.value,
        "flow": decision.flow, "purpose": p.purpose, "sender": p.parties.sender.id,
        "recipient": p.parties.recipient.id, "reasons": decision.reasons, "obligations": decision.obligations,
        "legal_basis": decision.legal_basis.model_dump() if decision.legal_basis else None,
        "decision_id": decision.decision_id, "policy_bundle": decision.bundle_hash,
        "fields": [{"path": a.path, "field": a.field, "category": a.category, "treatment": a.treatment.value,
                    "method": a.method} for a in applied],
        "log": {"position": log.position if log else -1, "record_id": log.record_id if log else "",
                "leaf_hash": log.leaf_hash if log else ""},
        "delivery": delivery, "trace_id": p.trace_id, "created_at": p.created.isoformat(), "break_glass": glass,
    })


async def _log_exchange(deps: ExchangeDeps, p: _Prepared, *, decision: Decision, policy_input: dict[str, Any],
                        applied: list[Applied], subjects: list[dict[str, str]], status: str,
                        payload_hash: str | None, relayed_hash: str | None,
                        delivery: dict[str, Any], keep_key: bool = True,
                        delivery_for: Callable[[log_service.Appended], Delivery] | None = None,
                        glass: BreakGlassRequest | None = None) -> tuple[ExchangeResult, _Written]:
    record = records.exchange_record(
        exchange_id=p.exchange_id, trace_id=p.trace_id, pattern=p.pattern, caller=p.parties.caller,
        sender=p.parties.sender, recipient=p.parties.recipient, professional_pseudonym=p.professional_pseudonym,
        professional_role=p.professional_role, purpose=p.purpose, decision=decision, policy_input=policy_input,
        applied=applied, subjects=subjects, payload_hash=payload_hash, relayed_payload_hash=relayed_hash,
        status=status)
    row: dict[str, Any] = {  # the exchange table's row as plain values (a Core insert, see _write)
        "id": p.exchange_id, "caller_id": p.parties.caller.id,
        "idempotency_key": p.idempotency_key if keep_key else None, "request_hash": p.digest, "pattern": p.pattern,
        "sender_id": p.parties.sender.id, "recipient_id": p.parties.recipient.id, "purpose": p.purpose,
        "flow": decision.flow, "outcome": decision.outcome.value, "status": status, "log_position": -1,
        "delivery_log_position": None, "created_at": p.created, "updated_at": p.created, "summary": "{}"}
    hook = None
    if glass is not None and decision.break_glass.requested and deps.review_sealer is not None:
        hook = break_glass.before_append(
            decision=decision, justification=glass.justification, record=record, exchange_id=p.exchange_id,
            organisation_id=p.parties.caller.id, professional_pseudonym=p.professional_pseudonym,
            sealer=deps.review_sealer, now=p.created)
    written = await _write(deps, record=record, row=row, result_for=lambda entry: _result(
        p, status=status, decision=decision, applied=applied, log=entry, delivery=delivery,
        glass=record.get("break_glass")), delivery_for=delivery_for, before_append=hook)
    if hook is not None:
        break_glass.count(deps.metrics, decision)
    result = written.result
    purpose = p.purpose if p.purpose in deps.known_purposes else "other"
    flow = decision.flow if decision.flow in deps.known_flows else "none"
    telemetry.annotate({"gateway.exchange.id": p.exchange_id, "gateway.exchange.pattern": p.pattern,
                        "gateway.caller": p.parties.caller.id, "gateway.sender": p.parties.sender.id,
                        "gateway.recipient": p.parties.recipient.id, "gateway.purpose": purpose, "gateway.flow": flow,
                        "gateway.decision.outcome": decision.outcome.value, "gateway.exchange.status": status})
    deps.metrics.exchanges.labels(p.pattern, decision.outcome.value, purpose, flow).inc()
    return result, written


async def _decide_or_log_refusal(deps: ExchangeDeps, p: _Prepared, *, policy_input: dict[str, Any],
                                 subjects: list[dict[str, str]], fields: list[DossierField],
                                 payload_hash: str | None) -> Decision:
    try:
        return await _decide(deps, policy_input)
    except PolicyUnavailable:
        # Still leave a trace of the attempt; without an idempotency key so a retry can go through.
        with contextlib.suppress(LogUnavailable):
            await _log_exchange(deps, p, decision=_failed_closed_decision(deps), policy_input=policy_input,
                                applied=_all_dropped(fields), subjects=subjects, status="refused",
                                payload_hash=payload_hash, relayed_hash=None,
                                delivery={"status": "not_relayed", "reason": "policy_unavailable"},
                                keep_key=False)
        raise


async def push(deps: ExchangeDeps, *, principal: Principal, body: PushRequest, idempotency_key: str | None,
               trace_id: str) -> tuple[ExchangeResult, bool]:
    """Returns the result and whether it is an idempotent replay of an earlier request."""
    async with _rejections_logged(deps, principal, "push", trace_id):
        _acting_for_self(principal, body.sender)
        parties = _Parties(principal.organisation, principal.organisation,
                           _resolve(deps.registry, body.recipient, "recipient"))
    p = _prepare(deps, pattern="push", principal=principal, parties=parties, body=body,
                 idempotency_key=idempotency_key, trace_id=trace_id)
    if deps.quotas is not None:
        deps.quotas.check(organisation_id=principal.organisation.id, professional_pseudonym=p.professional_pseudonym)
    replay = await _idempotent_replay(deps, parties.caller.id, idempotency_key, p.digest)
    if replay is not None:
        if replay.status == "delivering":
            raise IdempotencyInFlight(detail="A request with this Idempotency-Key is being processed.")
        return replay, True
    dossier = body.dossier.model_dump(mode="json", exclude_none=True)
    fields = flatten(dossier)
    with telemetry.span("gateway.pseudonymise.subjects"):
        subjects = records.subject_pseudonyms(dossier.get("persons", []), deps.pseudonymiser)
    policy_input = records.policy_input(
        pattern="push", sender=parties.sender, recipient=parties.recipient, purpose=body.purpose,
        professional_role=body.professional.role, context=body.context, subject_roles=[s["role"] for s in subjects],
        requested_categories=[f.category for f in fields if f.category != "structure"], fields=fields,
        today=p.created.date())
    payload_hash = log_service.payload_hash(dossier)
    decision = await _decide_or_log_refusal(deps, p, policy_input=policy_input, subjects=subjects, fields=fields,
                                            payload_hash=payload_hash)
    minimised: dict[str, Any] = {}
    applied = _all_dropped(fields)
    if decision.outcome is Outcome.ALLOW:
        with telemetry.span("gateway.minimise", {"gateway.fields.count": len(fields)}):
            minimised, applied = minimise(
                dossier, fields, _rules(decision), pseudonymiser=deps.pseudonymiser,
                recipient_domain=organisation_domain(parties.recipient.id),
                sender_domain=organisation_domain(parties.sender.id), today=p.created.date())
    status = _status_for(decision)
    allowed = decision.outcome is Outcome.ALLOW
    result, written = await _log_exchange(
        deps, p, decision=decision, policy_input=policy_input, applied=applied, subjects=subjects, status=status,
        payload_hash=payload_hash, relayed_hash=log_service.payload_hash(minimised) if allowed else None,
        delivery={"status": "pending" if allowed else "not_relayed"},
        delivery_for=(lambda entry: _delivery(p, body, decision, minimised, entry)) if allowed else None,
        glass=body.context.break_glass)
    if written.delivery is None:
        return result, False
    return await delivery.first_attempt(deps, recipient=p.parties.recipient, delivery=written.delivery,
                                        result=result), False


def _delivery(p: _Prepared, body: PushRequest, decision: Decision, minimised: dict[str, Any],
              entry: log_service.Appended) -> Delivery:
    return Delivery(
        exchange_id=p.exchange_id, delivery_key=f"{p.exchange_id}:{p.parties.recipient.id}",
        sender_id=p.parties.sender.id, sender_name=p.parties.sender.name, recipient_id=p.parties.recipient.id,
        purpose=p.purpose, flow=decision.flow or "",
        legal_basis=decision.legal_basis.model_dump() if decision.legal_basis else {},
        log_position=entry.position, trace_id=p.trace_id, dossier=minimised,
        context={"kader": body.context.kader.value if body.context.kader else None,
                 "urgency": body.context.urgency.value, "confidentiality": decision.confidentiality})


def _validated_fetch(raw: dict[str, Any]) -> dict[str, Any]:
    try:
        return Gezinsdossier.model_validate(raw).model_dump(mode="json", exclude_none=True)
    except ValidationError as exc:
        raise AdapterError("bad_response") from exc


async def pull(deps: ExchangeDeps, *, principal: Principal, body: PullRequest, idempotency_key: str | None,
               trace_id: str) -> tuple[ExchangeResult, bool]:
    """Returns the result and whether it is an idempotent replay of an earlier request."""
    async with _rejections_logged(deps, principal, "pull", trace_id):
        _acting_for_self(principal, body.requester)
        parties = _Parties(principal.organisation, _resolve(deps.registry, body.holder, "holder"),
                           principal.organisation)
    p = _prepare(deps, pattern="pull", principal=principal, parties=parties, body=body,
                 idempotency_key=idempotency_key, trace_id=trace_id)
    if deps.quotas is not None:
        deps.quotas.check(organisation_id=principal.organisation.id, professional_pseudonym=p.professional_pseudonym)
    replay = await _idempotent_replay(deps, parties.caller.id, idempotency_key, p.digest)
    if replay is not None:
        # The data of a pull is never stored; a replay reports the recorded outcome without it.
        return replay, True
    with telemetry.span("gateway.pseudonymise.subjects"):
        subjects = records.subject_pseudonyms([s.model_dump(mode="json") for s in body.subjects],
                                              deps.pseudonymiser)
    requested = [c.value for c in body.categories]

    def make_input(fields: list[DossierField]) -> dict[str, Any]:
        return records.policy_input(
            pattern="pull", sender=parties.sender, recipient=parties.recipient, purpose=body.purpose,
            professional_role=body.professional.role, context=body.context,
            subject_roles=[s["role"] for s in subjects], requested_categories=requested, fields=fields,
            today=p.created.date())

    pre_input = make_input([])
    pre = await _decide_or_log_refusal(deps, p, policy_input=pre_input, subjects=subjects, fields=[],
                                       payload_hash=None)
    if pre.outcome is not Outcome.ALLOW:
        result, _ = await _log_exchange(deps, p, decision=pre, policy_input=pre_input, applied=[],
                                        subjects=subjects, status=_status_for(pre), payload_hash=None,
                                        relayed_hash=None, delivery={"status": "not_relayed"},
                                        glass=body.context.break_glass)
        return result, False
    return await _fetch_and_answer(deps, p, body=body, subjects=subjects, requested=requested,
                                   make_input=make_input, pre=pre, pre_input=pre_input), False


async def _fetch_and_answer(deps: ExchangeDeps, p: _Prepared, *, body: PullRequest, subjects: list[dict[str, str]],
                            requested: list[str], make_input: Any, pre: Decision,
                            pre_input: dict[str, Any]) -> ExchangeResult:
    fetch = FetchRequest(
        exchange_id=p.exchange_id, requester_id=p.parties.recipient.id, requester_name=p.parties.recipient.name,
        holder_id=p.parties.sender.id, purpose=p.purpose, trace_id=p.trace_id,
        subjects=[FetchSubject(s.ref, s.role.value, s.bsn) for s in body.subjects], categories=requested)
    try:
        dossier = _validated_fetch(await deps.relay.fetch(p.parties.sender, fetch))
    except AdapterError as exc:
        result, _ = await _log_exchange(deps, p, decision=pre, policy_input=pre_input, applied=[],
                                        subjects=subjects, status="failed", payload_hash=None, relayed_hash=None,
                                        delivery={"status": "failed", "reason": exc.reason})
        return result
    fields = flatten(dossier)
    policy_input = make_input(fields)
    decision = await _decide_or_log_refusal(deps, p, policy_input=policy_input, subjects=subjects, fields=fields,
                                            payload_hash=None)
    applied = _all_dropped(fields)
    minimised: dict[str, Any] = {}
    if decision.outcome is Outcome.ALLOW:
        rules = _rules(decision)
        for f in fields:  # only what was asked for, whatever the holder sent
            if f.category not in requested and f.category != "structure":
                rules[f.path] = FieldRule(Treatment.DROP)
        with telemetry.span("gateway.minimise", {"gateway.fields.count": len(fields)}):
            minimised, applied = minimise(
                dossier, fields, rules, pseudonymiser=deps.pseudonymiser,
                recipient_domain=organisation_domain(p.parties.recipient.id),
                sender_domain=organisation_domain(p.parties.sender.id), today=p.created.date())
    allowed = decision.outcome is Outcome.ALLOW
    result, _ = await _log_exchange(
        deps, p, decision=decision, policy_input=policy_input, applied=applied, subjects=subjects,
        status="fetched" if allowed else _status_for(decision), payload_hash=log_service.payload_hash(dossier),
        relayed_hash=log_service.payload_hash(minimised) if allowed else None,
        delivery={"status": "fetched" if allowed else "not_relayed"}, glass=body.context.break_glass)
    return result.model_copy(update={"data": minimised}) if allowed else result


async def get_exchange(deps: ExchangeDeps, *, principal: Principal, exchange_id: str) -> ExchangeResult:
    row = await run_db(deps.db, lambda session: session.get(ExchangeRow, exchange_id))
    involved = row is not None and principal.organisation.id in (row.sender_id, row.recipient_id)
    if row is None or not involved:
        # Same answer for 'absent' and 'not yours': existence is not disclosed to third parties.
        raise NotFound(detail="No exchange with this id involves your organisation.")
    return ExchangeResult.model_validate_json(row.summary)
