"""Build the policy input and the log record of an exchange. Neither ever holds a plaintext identifier."""

from __future__ import annotations

import datetime as dt
from typing import Any

from gateway.dossier.fields import DossierField
from gateway.exchange.schemas import ExchangeContext
from gateway.policy.models import Decision
from gateway.pseudonymise.minimise import Applied
from gateway.pseudonymise.pseudonyms import LOG_DOMAIN, Pseudonymiser
from gateway.registry.organisations import Organisation

POLICY_INPUT_VERSION = 1
SPECIAL_CATEGORIES = {"health": "AVG art. 9", "justice": "AVG art. 10"}


def context_for_policy(context: ExchangeContext) -> dict[str, Any]:
    """Booleans and codes only: references and free text become 'present' flags."""
    measure = None
    if context.measure is not None:
        measure = {"kind": context.measure.kind.value, "start": context.measure.start.isoformat(),
                   "end": context.measure.end.isoformat() if context.measure.end else None,
                   "reference_present": True}
    return {
        "kader": context.kader.value if context.kader else None,
        "measure": measure,
        "afwegingskader_documented": context.afwegingskader_documented,
        "parents_informed": context.parents_informed,
        "parents_not_informed_reason": (context.parents_not_informed_reason.value
                                        if context.parents_not_informed_reason else None),
        "consent_present": bool(context.consent_reference),
        "explicit_consent_health": context.explicit_consent_health,
        "urgency": context.urgency.value,
        "question_present": bool(context.question and context.question.strip()),
        "voluntary_help_insufficient": context.voluntary_help_insufficient,
        "reporter_strictly_needed": context.reporter_strictly_needed,
        "documented_weighing": context.documented_weighing,
        "conflict_van_plichten": context.conflict_van_plichten,
        "handover_to_voluntary": context.handover_to_voluntary,
        "break_glass": context.break_glass is not None,
    }


def policy_input(*, pattern: str, sender: Organisation, recipient: Organisation, purpose: str,
                 professional_role: str, context: ExchangeContext, subject_roles: list[str],
                 requested_categories: list[str], fields: list[DossierField], today: dt.date) -> dict[str, Any]:
    return {
        "version": POLICY_INPUT_VERSION,
        "today": today.isoformat(),
        "pattern": pattern,
        "sender": {"id": sender.id, "type": sender.type.value},
        "recipient": {"id": recipient.id, "type": recipient.type.value},
        "purpose": purpose,
        "professional_role": professional_role,
        "context": context_for_policy(context),
        "subjects": [{"role": role} for role in subject_roles],
        "requested_categories": sorted(set(requested_categories)),
        "fields": [f.as_policy_input() for f in fields],
    }


def subject_pseudonyms(persons: list[dict[str, Any]], pseudonymiser: Pseudonymiser) -> list[dict[str, str]]:
    """Log-domain pseudonyms of the people concerned, so a DPO can find a person's exchanges by BSN."""
    out: list[dict[str, str]] = []
    for person in persons:
        role = str(person.get("role"))
        if person.get("bsn"):
            out.append({"pseudonym": pseudonymiser.pseudonym(f"bsn:{person['bsn']}", LOG_DOMAIN), "role": role,
                        "by": "bsn"})
        elif person.get("surname") and person.get("birth_date"):
            key = f"personalia:{str(person['surname']).strip().lower()}:{person['birth_date']}"
            out.append({"pseudonym": pseudonymiser.pseudonym(key, LOG_DOMAIN), "role": role, "by": "personalia"})
        else:
            out.append({"pseudonym": "", "role": role, "by": "none"})
    return out


def _org(org: Organisation) -> dict[str, str]:
    return {"id": org.id, "type": org.type.value, "oin": org.oin}


def exchange_record(*, exchange_id: str, trace_id: str, pattern: str, caller: Organisation, sender: Organisation,
                    recipient: Organisation, professional_pseudonym: str, professional_role: str, purpose: str,
                    decision: Decision, policy_input: dict[str, Any], applied: list[Applied],
                    subjects: list[dict[str, str]], payload_hash: str | None,
                    relayed_payload_hash: str | None, status: str) -> dict[str, Any]:
    categories = sorted({a.category for a in applied if a.category != "structure"}
                        | set(policy_input.get("requested_categories", [])))
    return {
        "exchange_id": exchange_id,
        "trace_id": trace_id,
        "pattern": pattern,
        "caller": caller.id,
        "sender": _org(sender),
        "recipient": _org(recipient),
        "professional": {"pseudonym": professional_pseudonym, "role": professional_role},
        "purpose": purpose,
        "flow": decision.flow,
        "legal_basis": decision.legal_basis.model_dump() if decision.legal_basis else None,
        "processing_activity": (decision.processing_activity.model_dump()
                                if decision.processing_activity else None),
        "decision": {"outcome": decision.outcome.value, "reasons": decision.reasons,
                     "decision_id": decision.decision_id, "bundle_hash": decision.bundle_hash,
                     "engine": decision.engine},
        "obligations": decision.obligations,
        "categories": categories,
        "special_categories": [SPECIAL_CATEGORIES[c] for c in categories if c in SPECIAL_CATEGORIES],
        "fields": [{"path": a.path, "field": a.field, "category": a.category, "treatment": a.treatment.value,
                    **({"method": a.method} if a.method else {})} for a in applied],
        "subjects": subjects,
        "confidentiality": decision.confidentiality,
        "retention": decision.retention,
        "payload_hash": payload_hash,
        "relayed_payload_hash": relayed_payload_hash,
        "policy_input": policy_input,
        "status": status,
    }
