"""Turn log entries and the review desk's own rows into the answers of the API and the pages (read only)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson
from sqlmodel import Session, col, select

from gateway.exchange_log.models import LogEntry
from gateway.pseudonymise.sealing import Sealer
from gateway.relay.models import DeliveryJob
from gateway.review import desk
from gateway.review.index import QUEUE_TERMS
from gateway.review.models import ReviewIndex, ReviewObligation
from gateway.review.schemas import (
    AnnotationOut,
    BreakGlassOut,
    DeliveryOut,
    EntryDetail,
    EntrySummary,
    FieldTreatment,
    ObligationOut,
)

_QUEUE_OF_TERM = {term: queue for queue, term in QUEUE_TERMS.items()}


def _utc(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def summaries(session: Session, entries: list[LogEntry], tables: dict[str, Any]) -> list[EntrySummary]:
    positions = [e.position for e in entries]
    index = {r.position: r for r in session.exec(select(ReviewIndex).where(col(ReviewIndex.position).in_(positions)))}
    marks = desk.marks(session, positions)
    counts = desk.annotation_counts(session, positions)
    flows = tables.get("flows") or {}
    out = []
    for entry in entries:
        record = desk.record_of(entry) or {}
        row = index.get(entry.position)
        mark = marks.get(entry.position)
        flow = row.flow if row else entry.flow
        out.append(EntrySummary(
            position=entry.position, record_id=entry.record_id, kind=entry.kind,
            recorded_at=_utc(entry.recorded_at), exchange_id=entry.exchange_id,
            organisation_id=row.organisation_id if row else entry.sender_id, sender_id=entry.sender_id,
            recipient_id=entry.recipient_id, flow=flow, flow_title=(flows.get(flow) or {}).get("title") if flow
            else None, purpose=entry.purpose, outcome=entry.outcome, legal_basis=row.legal_basis if row else None,
            professional=row.professional if row else None, categories=list(record.get("categories") or []),
            purged=not record, reviewed_by=mark.reviewed_by if mark else None,
            reviewed_at=_utc(mark.reviewed_at) if mark else None, annotations=counts.get(entry.position, 0)))
    return out


def _fields(record: dict[str, Any], flow: dict[str, Any]) -> list[FieldTreatment]:
    rules = flow.get("categories") or {}
    exceptions = flow.get("fields") or {}
    out = []
    for f in record.get("fields") or []:
        rule = exceptions.get(f.get("field")) or rules.get(f.get("category")) or {}
        out.append(FieldTreatment(path=str(f.get("path")), field=f.get("field"), category=f.get("category"),
                                  treatment=f.get("treatment"), method=f.get("method"), reason=rule.get("reason")))
    return out


def _break_glass(session: Session, record: dict[str, Any], exchange_id: str | None,
                 sealer: Sealer | None) -> BreakGlassOut | None:
    item = desk.break_glass_item(session, exchange_id)
    if not record.get("break_glass") and item is None:
        return None
    flags: list[str] = orjson.loads(item.flags) if item is not None else []
    return BreakGlassOut(record=record.get("break_glass") or {}, flags=flags,
                         justification=desk.justification(item, sealer) if item is not None and sealer else None,
                         due_at=_utc(item.due_at) if item is not None else None)


def detail(session: Session, entry: LogEntry, tables: dict[str, Any], sealer: Sealer | None) -> EntryDetail:
    summary = summaries(session, [entry], tables)[0]
    record = desk.record_of(entry) or {}
    decision = record.get("decision") or {}
    logged = record.get("legal_basis")
    basis_id = summary.legal_basis or (logged or {}).get("id")
    current = (tables.get("legal_bases") or {}).get(basis_id) if basis_id else None
    flow = (tables.get("flows") or {}).get(summary.flow or "") or {}
    related: list[EntrySummary] = []
    if entry.exchange_id:
        others = [e for e in session.exec(select(LogEntry).where(col(LogEntry.exchange_id) == entry.exchange_id)
                                          .order_by(col(LogEntry.position))) if e.position != entry.position]
        related = summaries(session, others, tables)
    queues = sorted(_QUEUE_OF_TERM[t] for t in desk.terms_of(session, entry.position) if t in _QUEUE_OF_TERM)
    if summary.outcome in ("deny", "rejected"):
        queues.insert(0, "refused")
    elif summary.outcome == "escalate":
        queues.insert(0, "escalated")
    return EntryDetail(
        **summary.model_dump(), reasons=list(decision.get("reasons") or []), decision_id=decision.get("decision_id"),
        bundle_hash=decision.get("bundle_hash"), engine=decision.get("engine"), legal_basis_logged=logged,
        legal_basis_current={"id": basis_id, **current} if isinstance(current, dict) else None,
        processing_activity=record.get("processing_activity"),
        professional_role=(record.get("professional") or {}).get("role"),
        special_categories=list(record.get("special_categories") or []), fields=_fields(record, flow),
        subjects=[{"role": str(s.get("role")), "pseudonym": str(s.get("pseudonym") or ""), "by": str(s.get("by"))}
                  for s in record.get("subjects") or []],
        obligations=list(record.get("obligations") or []), confidentiality=record.get("confidentiality"),
        retention=record.get("retention"), status=record.get("status"), reason=record.get("reason"),
        payload_hash=record.get("payload_hash"), relayed_payload_hash=record.get("relayed_payload_hash"),
        trace_id=entry.trace_id, leaf_hash=entry.leaf_hash, queues=queues, related=related,
        break_glass=_break_glass(session, record, entry.exchange_id, sealer),
        annotation_list=[AnnotationOut(id=a.id, author=a.author, created_at=a.created_at, text=a.text)
                         for a in desk.list_annotations(session, entry.position, sealer)] if sealer else [])


def obligation_out(row: ReviewObligation, now: dt.datetime) -> ObligationOut:
    return ObligationOut(position=row.position, number=row.number, recipient_id=row.recipient_id, flow=row.flow,
                         text=row.text, due_at=_utc(row.due_at), overdue=row.fulfilled_at is None and
                         _utc(row.due_at) < now, fulfilled_at=_utc(row.fulfilled_at) if row.fulfilled_at else None,
                         fulfilled_by=row.fulfilled_by)


DELIVERY_STATES = ("dead", "pending", "in_flight", "inbox")


def deliveries(session: Session, *, status: str | None = None, limit: int = 200) -> list[DeliveryOut]:
    """Dead letters first, then jobs still under way; delivered jobs are not listed."""
    wanted = (status,) if status in DELIVERY_STATES else DELIVERY_STATES
    jobs = list(session.exec(select(DeliveryJob).where(col(DeliveryJob.status).in_(wanted))
                             .order_by(col(DeliveryJob.updated_at).desc()).limit(limit)))
    order = {s: i for i, s in enumerate(DELIVERY_STATES)}
    jobs.sort(key=lambda j: order.get(j.status, 9))
    positions = {r.exchange_id: r.position for r in session.exec(select(ReviewIndex).where(
        col(ReviewIndex.exchange_id).in_([j.exchange_id for j in jobs]), col(ReviewIndex.kind) == "exchange"))}
    return [DeliveryOut(exchange_id=j.exchange_id, recipient_id=j.recipient_id, status=j.status, attempts=j.attempts,
                        last_error=j.last_error, next_attempt_at=_utc(j.next_attempt_at),
                        created_at=_utc(j.created_at), updated_at=_utc(j.updated_at),
                        log_position=positions.get(j.exchange_id),
                        retryable=j.status == "dead" and j.sealed_delivery is not None) for j in jobs]
