"""Re-identification: the sender gets back values the gateway encrypted for it (and nobody else does)."""

from __future__ import annotations

from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from gateway.auth.tokens import Principal
from gateway.core.database import run_db
from gateway.core.errors import LogUnavailable
from gateway.exchange.deps import ExchangeDeps, now
from gateway.exchange.schemas import ReidentifyRequest, ReidentifyResult
from gateway.exchange_log import service as log_service
from gateway.pseudonymise.pseudonyms import PseudonymError, organisation_domain


async def reidentify(deps: ExchangeDeps, *, principal: Principal, body: ReidentifyRequest,
                     trace_id: str) -> ReidentifyResult:
    """Reverse values encrypted for the caller's own domain. Values of another domain stay unreadable (AES-SIV's
    associated data binds each value to the organisation it was encrypted for). Logged before answering."""
    domain = organisation_domain(principal.organisation.id)
    plain: list[str | None] = []
    for value in body.values:
        try:
            plain.append(deps.pseudonymiser.decrypt(value, domain))
        except PseudonymError:
            plain.append(None)
    record = {"trace_id": trace_id, "caller": principal.organisation.id,
              "sender": {"id": principal.organisation.id}, "purpose": body.purpose,
              "requested": len(body.values), "reidentified": sum(v is not None for v in plain),
              "outcome": "allow"}

    def write(session: Session) -> int:
        return log_service.append(session, kind="reidentification", record=record, now=now()).position

    try:
        position = await run_db(deps.db, write, write=True)
    except (SQLAlchemyError, OSError) as exc:
        raise LogUnavailable(detail="The re-identification could not be logged; nothing was revealed.") from exc
    return ReidentifyResult(values=plain, log_position=position)
