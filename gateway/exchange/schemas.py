"""Request and response bodies of the exchange API."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from gateway.dossier.model import Bsn, DataCategory, Gezinsdossier, MeasureKind, SubjectRole
from gateway.policy.models import LegalBasis

CODE = r"^[a-z][a-z0-9_]{1,59}$"
ORG_ID = r"^[a-z0-9][a-z0-9-]{2,99}$"


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Professional(_Body):
    """The professional on whose behalf the system acts. The id is pseudonymised before it is logged."""

    id: str = Field(min_length=1, max_length=100, description="The professional's id in the sender's system.")
    role: str = Field(pattern=CODE, description="Function code, e.g. wijkteammedewerker, jeugdbeschermer.")


class Kader(StrEnum):
    VRIJWILLIG = "vrijwillig"
    DRANG = "drang"
    GEDWONGEN_CIVIEL = "gedwongen_civiel"
    STRAFRECHTELIJK = "strafrechtelijk"


class NotInformedReason(StrEnum):
    VEILIGHEID_KIND = "veiligheid_kind"
    VEILIGHEID_MELDER = "veiligheid_melder"
    VEILIGHEID_PROFESSIONAL = "veiligheid_professional"
    ANDERS = "anders"


class Urgency(StrEnum):
    NORMAAL = "normaal"
    SPOED = "spoed"
    ACUUT = "acuut"


class MeasureReference(_Body):
    kind: MeasureKind
    reference: str = Field(min_length=1, max_length=60, description="Court or GI case number of the measure.")
    start: dt.date
    end: dt.date | None = None


class BreakGlassRequest(_Body):
    """Acute danger to a child: open what a failed condition or an escalation would hold back, within what the
    flow allows. Every use is logged, queued for the DPO with a deadline, and flagged when unnecessary or repeated."""

    justification: str = Field(min_length=30, max_length=2_000,
                               description="Why this cannot wait (stored sealed for the DPO; the log keeps a hash).")


class ExchangeContext(_Body):
    """What the legal frames need to know about this exchange (no personal data)."""

    kader: Kader | None = None
    measure: MeasureReference | None = None
    afwegingskader_documented: bool = False
    parents_informed: bool | None = None
    parents_not_informed_reason: NotInformedReason | None = None
    consent_reference: str | None = Field(default=None, max_length=100)
    explicit_consent_health: bool = False
    urgency: Urgency = Urgency.NORMAAL
    question: str | None = Field(default=None, max_length=2_000,
                                 description="The question an information request must state (F3).")
    voluntary_help_insufficient: bool = False
    reporter_strictly_needed: bool = False
    documented_weighing: bool = False
    conflict_van_plichten: bool = False
    handover_to_voluntary: bool = False
    sender_case_reference: str | None = Field(default=None, max_length=60)
    break_glass: BreakGlassRequest | None = None


class PushRequest(_Body):
    """Verstrekken: send dossier data about one household to a recipient organisation."""

    recipient: str = Field(pattern=ORG_ID)
    sender: str | None = Field(default=None, pattern=ORG_ID,
                               description="Optional; when given it must be the caller's own organisation.")
    purpose: str = Field(pattern=CODE)
    professional: Professional
    context: ExchangeContext = Field(default_factory=ExchangeContext)
    dossier: Gezinsdossier


class PullSubject(_Body):
    ref: str = Field(pattern=r"^[A-Za-z0-9_-]{1,32}$")
    role: SubjectRole
    bsn: Bsn | None = None


class PullRequest(_Body):
    """Bevragen: ask a holder organisation for data categories about a household."""

    holder: str = Field(pattern=ORG_ID)
    requester: str | None = Field(default=None, pattern=ORG_ID,
                                  description="Optional; when given it must be the caller's own organisation.")
    purpose: str = Field(pattern=CODE)
    professional: Professional
    context: ExchangeContext = Field(default_factory=ExchangeContext)
    subjects: list[PullSubject] = Field(min_length=1, max_length=20)
    categories: list[DataCategory] = Field(min_length=1)


class FieldOutcome(BaseModel):
    path: str
    field: str
    category: str
    treatment: str
    method: str | None = None


class LogReference(BaseModel):
    position: int
    record_id: str
    leaf_hash: str


class DeliveryOutcome(BaseModel):
    status: str = Field(description="pending | queued | delivered | fetched | failed | not_relayed")
    partner_reference: str | None = None
    log_position: int | None = None
    reason: str | None = None
    attempts: int | None = None
    next_attempt_at: str | None = None


class ExchangeResult(BaseModel):
    exchange_id: str
    pattern: str
    status: str = Field(description="delivering | queued | delivered | fetched | refused | pending_review | failed")
    outcome: str
    flow: str | None
    purpose: str
    sender: str
    recipient: str
    reasons: list[str]
    obligations: list[str]
    legal_basis: LegalBasis | None
    decision_id: str
    policy_bundle: str
    fields: list[FieldOutcome]
    log: LogReference
    delivery: DeliveryOutcome
    trace_id: str
    created_at: str
    break_glass: dict[str, Any] | None = Field(default=None, description="requested, applied, flags, review due")
    data: dict[str, Any] | None = Field(default=None, description="Pull only: the minimised dossier.")


class ReidentifyRequest(_Body):
    """Encrypted values (`ENC1.…`) that the gateway made for the caller's own organisation."""

    values: list[str] = Field(min_length=1, max_length=100)
    purpose: str = Field(pattern=CODE, description="Why the values are needed back, e.g. koppelen_advies.")


class ReidentifyResult(BaseModel):
    values: list[str | None] = Field(description="Plaintext per value in order; null where it is not yours.")
    log_position: int
