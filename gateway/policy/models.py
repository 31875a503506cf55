"""The decision model: what a policy answers about one exchange."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from gateway.core.types import Outcome, Treatment

# The nested parts of a decision are frozen: a cached decision's parts are shared by every decision issued from
# it (gateway/policy/decisions.py), so a change through one would change the others — say, a drop into a pass.


class LegalBasis(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    id: str
    avg_article: str
    avg_special: str | None = None
    national_article: str | None = None
    citation: str | None = None
    link: str | None = None


class ProcessingActivity(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    version: str


class FieldDecision(BaseModel):
    model_config = ConfigDict(frozen=True)

    treatment: Treatment
    method: str | None = None
    reason: str | None = None


class BreakGlassOutcome(BaseModel):
    model_config = ConfigDict(frozen=True)

    requested: bool = False
    applied: bool = False
    unnecessary: bool = False


class Decision(BaseModel):
    """The policy's answer, plus the identity of the policy that gave it."""

    model_config = ConfigDict(extra="ignore")

    outcome: Outcome
    flow: str | None = None
    reasons: list[str] = Field(default_factory=list)
    legal_basis: LegalBasis | None = None
    processing_activity: ProcessingActivity | None = None
    retention: str | None = None
    confidentiality: str | None = None
    obligations: list[str] = Field(default_factory=list)
    fields: dict[str, FieldDecision] = Field(default_factory=dict)
    break_glass: BreakGlassOutcome = Field(default_factory=BreakGlassOutcome)
    decision_id: str = ""
    bundle_hash: str = ""
    engine: str = ""
