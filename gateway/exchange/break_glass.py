"""Break-glass bookkeeping around an exchange's log record: flags, the DPO review item, and metrics.

The policy decides whether break-glass applies (`decision.break_glass`); this module records every request for
it — applied or not — in the same transaction as the log record: the record gets the flags and a hash of the
justification, and the DPO's review queue gets the justification sealed, with a deadline.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from sqlmodel import Session

from gateway.core.metrics import Metrics
from gateway.policy.models import Decision
from gateway.pseudonymise.sealing import Sealer
from gateway.review import service as review_service


def flags(decision: Decision, earlier_uses: int) -> list[str]:
    glass = decision.break_glass
    out = []
    if glass.unnecessary:
        out.append("unnecessary")  # the normal policy would have allowed: break-glass was not needed
    if not glass.applied and not glass.unnecessary:
        out.append("not_applied")  # asked for where it cannot open anything (flow, research, bulk, …)
    if earlier_uses >= review_service.REPEAT_THRESHOLD:
        out.append("repeated")
    return out


def before_append(*, decision: Decision, justification: str, record: dict[str, Any], exchange_id: str,
                  organisation_id: str, professional_pseudonym: str, sealer: Sealer,
                  now: dt.datetime) -> Callable[[Session], None]:
    """A hook for the log write's transaction: fills record['break_glass'] and queues the review item."""

    def hook(session: Session) -> None:
        earlier = review_service.earlier_break_glass(
            session, organisation_id=organisation_id, professional_pseudonym=professional_pseudonym, now=now)
        found = flags(decision, earlier)
        item = review_service.queue_break_glass(
            session, exchange_id=exchange_id, organisation_id=organisation_id,
            professional_pseudonym=professional_pseudonym, justification=justification, flags=found,
            sealer=sealer, now=now)
        record["break_glass"] = {**decision.break_glass.model_dump(), "flags": found,
                                 "justification_hash": review_service.justification_hash(justification),
                                 "review_item": item.id, "review_due": item.due_at.isoformat()}

    return hook


def count(metrics: Metrics, decision: Decision) -> None:
    glass = decision.break_glass
    metrics.break_glass.labels(decision.flow or "none", str(glass.applied).lower(),
                               str(glass.unnecessary).lower()).inc()
