"""The inzage report (AVG art. 15): which exchanges concerned one person, told in words a family can read.

The DPO types the person's BSN; it is turned into the person's log-domain pseudonyms (under every key of the
ring, so a key rotation hides nothing) and then forgotten: it is never stored, logged or put in the report. The
report lists, per exchange, the date, the purpose (the policy tables' Dutch label), the sending organisation (the
source) and the receiving organisation (by name), the data categories that went, the legal basis with its citation
and what happened (shared, refused, held for review; delivered or not).

It withholds what the family may not see (UAVG art. 41): the reporter's (melder's) and informants' identity and
the category that describes them, and every individual professional — no pseudonyms, no names, no roles. Records
whose content was purged under the retention periods are no longer known, and say so.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlmodel import Session, col, select

from gateway.exchange_log.models import LogEntry
from gateway.pseudonymise.pseudonyms import Pseudonymiser
from gateway.registry.organisations import OrganisationRegistry
from gateway.review import search

LOCAL_TIME = zoneinfo.ZoneInfo("Europe/Amsterdam")
# Whose identity the family does not get to see, and the category that would describe them (UAVG art. 41).
PROTECTED_ROLES = frozenset({"melder", "informant"})
PROTECTED_CATEGORIES = frozenset({"reporter"})
SHARED_TREATMENTS = frozenset({"pass", "pseudonymise", "encrypt", "generalise"})
ROLE_LABELS = {"kind": "kind (jeugdige)", "ouder": "ouder", "huisgenoot": "huisgenoot", "melder": "melder",
               "verzorger": "verzorger", "pleegouder": "pleegouder", "netwerk": "iemand uit het netwerk",
               "informant": "informant"}
OUTCOME_LABELS = {
    "allow": "Toegestaan: de gegevens zijn verstrekt.",
    "deny": "Geweigerd: er zijn geen gegevens verstrekt.",
    "escalate": "Voorgelegd aan een beoordelaar: de gegevens zijn (nog) niet verstrekt.",
}
DELIVERY_LABELS = {"delivered": "afgeleverd", "failed": "aflevering mislukt", "rejected": "door de ontvanger geweigerd"}


class InvalidBsnInput(ValueError):
    """The typed value is not a valid BSN (the value itself is never part of the message)."""


def person_pseudonyms(pseudonymiser: Pseudonymiser, bsn: str) -> frozenset[str]:
    """The person's log-domain pseudonyms under every key in the ring (as the log records them)."""
    try:
        return search.person_pseudonyms(pseudonymiser, None, bsn)
    except search.InvalidBsn as exc:
        raise InvalidBsnInput("not a valid BSN") from exc


@dataclass(frozen=True)
class ReportItem:
    position: int
    date: str
    time: str
    purpose: str
    purpose_description: str
    pattern: str
    sender: str
    recipient: str
    roles: tuple[str, ...]
    categories: tuple[str, ...]
    special: tuple[str, ...]
    legal_basis: str
    legal_articles: str
    legal_citation: str
    legal_link: str
    outcome: str
    delivery: str | None


@dataclass(frozen=True)
class InzageReport:
    created_at: dt.datetime
    items: tuple[ReportItem, ...]
    organisations: tuple[str, ...] = field(default=())

    @property
    def created(self) -> str:
        return self.created_at.astimezone(LOCAL_TIME).strftime("%d-%m-%Y %H:%M")


@dataclass(frozen=True)
class Labels:
    """The Dutch words from the policy tables and the organisation registry."""

    purposes: Mapping[str, Mapping[str, Any]]
    categories: Mapping[str, Mapping[str, Any]]
    organisations: Mapping[str, str]

    @classmethod
    def from_tables(cls, tables: Mapping[str, Any], registry: OrganisationRegistry) -> Labels:
        return cls(purposes=tables.get("purposes") or {}, categories=tables.get("categories") or {},
                   organisations={org.id: org.name for org in registry.all()})

    def purpose(self, code: str | None) -> tuple[str, str]:
        row = self.purposes.get(code or "") or {}
        return str(row.get("label") or code or "onbekend doel"), str(row.get("description") or "")

    def category(self, code: str) -> str:
        row = self.categories.get(code) or {}
        return str(row.get("label") or code)

    def organisation(self, organisation_id: str | None) -> str:
        if not organisation_id:
            return "onbekende organisatie"
        return self.organisations.get(organisation_id, organisation_id)


def _matches(session: Session, pseudonyms: frozenset[str]) -> list[tuple[LogEntry, dict[str, Any], list[str]]]:
    """The person's exchange records, with their roles in each: the review index finds every match (never a page),
    the record's own subjects decide. A purged record names nobody any more and drops out here."""
    if not pseudonyms:
        return []
    found = []
    for row in search.matching_entries(session, search.ReviewFilter(person_pseudonyms=pseudonyms, kind="exchange")):
        body = orjson.loads(row.entry)
        roles = [str(s.get("role")) for s in body.get("subjects") or [] if s.get("pseudonym") in pseudonyms]
        if roles:
            found.append((row, body, roles))
    return found


def _deliveries(session: Session, exchange_ids: Sequence[str]) -> dict[str, str]:
    if not exchange_ids:
        return {}
    statement = (select(LogEntry).where(col(LogEntry.kind) == "delivery", col(LogEntry.exchange_id).in_(exchange_ids))
                 .order_by(col(LogEntry.position)))
    return {str(row.exchange_id): str(row.outcome) for row in session.exec(statement)}


def _item(row: LogEntry, body: dict[str, Any], roles: list[str], labels: Labels,
          delivery: str | None) -> ReportItem:
    protected_self = any(r in PROTECTED_ROLES for r in roles)
    shared = sorted({f.get("category") for f in body.get("fields") or []
                     if f.get("treatment") in SHARED_TREATMENTS and f.get("category") not in (None, "structure")})
    if not protected_self:  # the family never learns what was said about the reporter or an informant
        shared = [c for c in shared if c not in PROTECTED_CATEGORIES]
    basis = body.get("legal_basis") or {}
    outcome = str((body.get("decision") or {}).get("outcome") or "")
    purpose, description = labels.purpose(body.get("purpose"))
    when = row.recorded_at if row.recorded_at.tzinfo else row.recorded_at.replace(tzinfo=dt.UTC)
    local = when.astimezone(LOCAL_TIME)
    articles = "; ".join(str(a) for a in (basis.get("avg_article"), basis.get("avg_special")) if a)
    return ReportItem(
        position=row.position, date=local.strftime("%d-%m-%Y"), time=local.strftime("%H:%M"),
        purpose=purpose, purpose_description=description, pattern=str(body.get("pattern") or "push"),
        sender=labels.organisation((body.get("sender") or {}).get("id")),
        recipient=labels.organisation((body.get("recipient") or {}).get("id")),
        roles=tuple(sorted({ROLE_LABELS.get(r, r) for r in roles})),
        categories=tuple(labels.category(c) for c in shared) if outcome == "allow" else (),
        special=tuple(str(s) for s in body.get("special_categories") or []) if outcome == "allow" else (),
        legal_basis=str(basis.get("national_article") or "geen grondslag vastgelegd"),
        legal_articles=articles, legal_citation=str(basis.get("citation") or ""),
        legal_link=str(basis.get("link") or ""),
        outcome=OUTCOME_LABELS.get(outcome, outcome),
        delivery=DELIVERY_LABELS.get(delivery, delivery) if delivery else None)


def build_report(session: Session, *, pseudonyms: frozenset[str], labels: Labels, now: dt.datetime) -> InzageReport:
    """Everything the report says about the person with these pseudonyms (and nothing about anyone else)."""
    matches = _matches(session, pseudonyms)
    deliveries = _deliveries(session, [str(row.exchange_id) for row, _, _ in matches if row.exchange_id])
    items = tuple(_item(row, body, roles, labels, deliveries.get(str(row.exchange_id)))
                  for row, body, roles in matches)
    organisations = tuple(sorted({i.sender for i in items} | {i.recipient for i in items}))
    return InzageReport(created_at=now, items=items, organisations=organisations)
