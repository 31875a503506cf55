"""The review API's answers (the pages render the same objects)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, Field

from gateway.review.search import bounded


class EntrySummary(BaseModel):
    position: int
    record_id: str
    kind: str
    recorded_at: dt.datetime
    exchange_id: str | None = None
    organisation_id: str | None = Field(default=None, description="The acting organisation (the caller)")
    sender_id: str | None = None
    recipient_id: str | None = None
    flow: str | None = None
    flow_title: str | None = None
    purpose: str | None = None
    outcome: str | None = None
    legal_basis: str | None = None
    professional: str | None = Field(default=None, description="The professional's pseudonym")
    categories: list[str] = Field(default_factory=list)
    purged: bool = Field(default=False, description="The content was removed at the end of its retention period")
    reviewed_by: str | None = None
    reviewed_at: dt.datetime | None = None
    annotations: int = 0


class SearchResult(BaseModel):
    total: int
    offset: int
    limit: int
    entries: list[EntrySummary]


class FieldTreatment(BaseModel):
    path: str
    field: str | None = None
    category: str | None = None
    treatment: str | None = None
    method: str | None = None
    reason: str | None = Field(default=None, description="Why, from the active flows table (the category's rule)")


class AnnotationOut(BaseModel):
    id: str
    author: str
    created_at: dt.datetime
    text: str


class BreakGlassOut(BaseModel):
    record: dict[str, Any]
    flags: list[str] = Field(default_factory=list)
    justification: str | None = None
    due_at: dt.datetime | None = None


class EntryDetail(EntrySummary):
    reasons: list[str] = Field(default_factory=list)
    decision_id: str | None = None
    bundle_hash: str | None = None
    engine: str | None = None
    legal_basis_logged: dict[str, Any] | None = Field(default=None, description="The legal basis as logged")
    legal_basis_current: dict[str, Any] | None = Field(
        default=None, description="The legal basis's text in the active policy tables")
    processing_activity: dict[str, Any] | None = None
    professional_role: str | None = None
    special_categories: list[str] = Field(default_factory=list)
    fields: list[FieldTreatment] = Field(default_factory=list)
    subjects: list[dict[str, str]] = Field(default_factory=list)
    obligations: list[str] = Field(default_factory=list)
    confidentiality: str | None = None
    retention: str | None = None
    status: str | None = None
    reason: str | None = Field(default=None, description="Reason code of a rejection or a delivery outcome")
    payload_hash: str | None = None
    relayed_payload_hash: str | None = None
    trace_id: str | None = None
    leaf_hash: str
    queues: list[str] = Field(default_factory=list)
    related: list[EntrySummary] = Field(default_factory=list, description="Other entries of the same exchange")
    break_glass: BreakGlassOut | None = None
    annotation_list: list[AnnotationOut] = Field(default_factory=list)


# A filter's moment: in UTC, between 1900 and 9000 (outside it date arithmetic overflows: 422, not a 500).
Moment = Annotated[dt.datetime, AfterValidator(bounded)]


class PersonSearch(BaseModel):
    bsn: str = Field(min_length=9, max_length=11, description="The person's BSN; used to compute pseudonyms only, "
                     "never stored or logged")
    since: Moment | None = None
    until: Moment | None = None
    limit: int = Field(default=50, ge=1, le=500)
    offset: int = Field(default=0, ge=0, le=10_000_000)


class AnnotationIn(BaseModel):
    text: str = Field(min_length=1, max_length=2000)


class MarkOut(BaseModel):
    position: int
    reviewed_by: str
    reviewed_at: dt.datetime


class QueueCounts(BaseModel):
    open: dict[str, int]


class BucketOut(BaseModel):
    start: dt.date
    exchanges: int
    allowed: int
    refused: int
    escalated: int
    by_organisation: dict[str, int]
    by_flow: dict[str, int]


class FlagOut(BaseModel):
    code: str
    day: dt.date
    subject: str
    organisation_id: str | None = None
    count: int
    threshold: float
    baseline: float | None = None


class ObligationOut(BaseModel):
    position: int
    number: int
    recipient_id: str | None = None
    flow: str | None = None
    text: str
    due_at: dt.datetime
    overdue: bool
    fulfilled_at: dt.datetime | None = None
    fulfilled_by: str | None = None


class DeliveryOut(BaseModel):
    exchange_id: str
    recipient_id: str
    status: str
    attempts: int
    last_error: str | None = None
    next_attempt_at: dt.datetime
    created_at: dt.datetime
    updated_at: dt.datetime
    log_position: int | None = None
    retryable: bool
