"""The research recipient's flat record layout: one record per entity, no nested objects.

A nested canonical list (a signal's violence forms, a safety plan's agreements) becomes child records that
point at their parent's `nr`; the parent says how many it had (`aantal_<child>`), and the delivery header
counts every top-level list (`aantallen`), so an empty list and an absent one stay distinguishable and
the recipient can check that a delivery is complete.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from adapters.mapping import SEX_MVO, Custom, Json, Record, UnmappedFieldError, leaf


def _put_address(address: Mapping[str, Any], row: Json) -> None:
    row.update(ADRES.encode(address))
    row["met_adres"] = True  # a flat row cannot otherwise tell an empty address from none


def _take_address(row: Mapping[str, Any]) -> Json | None:
    return ADRES.decode(row) if row.get("met_adres") else None


ADRES = Record(leaf("kind", "adres_soort"), leaf("postcode", "postcodegebied"), leaf("municipality", "gemeente"),
               leaf("secret", "geheim_adres"))
PERSOON = Record(
    leaf("ref", "sleutel"), leaf("role", "rol"), leaf("bsn", "pseudoniem"), leaf("birth_date", "geboorte"),
    leaf("sex", "geslacht", SEX_MVO), leaf("nationality", "nationaliteit"),
    leaf("expected_birth_date", "verwachte_geboorte"), leaf("language", "taal"), leaf("interpreter_needed", "tolk"),
    leaf("school", "school"), leaf("education_level", "onderwijsniveau"), leaf("reporter_role", "melder_rol"),
    leaf("organisation", "melder_organisatie"), leaf("anonymous_towards_family", "anoniem_naar_gezin"),
)
PERSOONSGEBONDEN = Record(leaf("person_ref", "persoon"), leaf("kind", "soort"), leaf("description", "omschrijving"))


@dataclass(frozen=True)
class Child:
    key: str  # canonical key of the nested list
    type: str  # record type of its items
    record: Record


@dataclass(frozen=True)
class Section:
    key: str  # canonical top-level key
    type: str  # record type
    record: Record
    singleton: bool = False
    child: Child | None = None

    def flatten(self, item: Mapping[str, Any], nr: int) -> list[Json]:
        own = {k: v for k, v in item.items() if self.child is None or k != self.child.key}
        row: Json = {"type": self.type, "nr": nr, **self.record.encode(own)}
        rows = [row]
        children = item.get(self.child.key) if self.child else None
        if self.child is not None and children is not None:
            row[f"aantal_{self.child.type}"] = len(children)
            rows += [{"type": self.child.type, f"{self.type}_nr": nr, **self.child.record.encode(c)}
                     for c in children]
        return rows

    def unflatten(self, row: Mapping[str, Any], by_type: Mapping[str, list[Json]]) -> Json:
        item = self.record.decode(row)
        if self.child is not None and f"aantal_{self.child.type}" in row:
            item[self.child.key] = [self.child.record.decode(c) for c in by_type.get(self.child.type, [])
                                    if c.get(f"{self.type}_nr") == row.get("nr")]
        return item


SECTIONS = (
    Section("case_numbers", "zaaknummer", Record(leaf("organisation", "organisatie"), leaf("number", "nummer"))),
    Section("household", "huishouden", Record(
        leaf("composition", "samenstelling"), Custom("address", _put_address, _take_address),
        leaf("member_refs", "leden")), singleton=True),
    Section("persons", "persoon", PERSOON),
    Section("gezag", "gezag", Record(
        leaf("child_ref", "kind"), leaf("type", "vorm"), leaf("holder_refs", "gezagdragers"),
        leaf("under_investigation", "in_onderzoek"))),
    Section("signals", "signaal", Record(
        leaf("kind", "soort"), leaf("date", "datum"), leaf("relation", "relatie"), leaf("situation", "situatieschets"),
        leaf("existing_help", "bestaande_hulp"), leaf("restraining_order", "huisverbod")),
        child=Child("violence_forms", "geweldsvorm", Record(
            leaf("category", "vorm"), leaf("victim_ref", "slachtoffer"), leaf("perpetrator_ref", "pleger")))),
    Section("observations", "observatie", Record(
        leaf("text", "tekst"), leaf("nature", "aard"), leaf("source", "bron"), leaf("approved", "geaccordeerd"))),
    Section("safety_assessments", "taxatie", Record(
        leaf("triage", "triage"), leaf("date", "datum"), leaf("instrument", "instrument"),
        leaf("outcome", "uitkomst"), leaf("score", "score"))),
    Section("safety_plan", "veiligheidsplan", Record(
        leaf("dangers", "gevaren"), leaf("goals", "doelen"), leaf("scale", "schaal"), leaf("contacts", "netwerk")),
        singleton=True, child=Child("agreements", "afspraak", Record(
            leaf("who_ref", "wie"), leaf("what", "wat"), leaf("when", "wanneer")))),
    Section("involvements", "hulp", Record(
        leaf("organisation", "organisatie"), leaf("kind", "soort"), leaf("start", "start"), leaf("end", "einde"),
        leaf("mental_health", "ggz"))),
    Section("health", "gezondheid", PERSOONSGEBONDEN),
    Section("justice", "justitie", PERSOONSGEBONDEN),
    Section("finances", "financien", Record(leaf("debts", "schulden"), leaf("description", "toelichting")),
            singleton=True),
    Section("measures", "maatregel", Record(
        leaf("kind", "soort"), leaf("child_ref", "kind"), leaf("court", "rechtbank"),
        leaf("ruling_date", "uitspraakdatum"), leaf("case_number", "zaaknummer"), leaf("start", "start"),
        leaf("end", "einde"), leaf("executing_gi", "uitvoerder"))),
    Section("plan", "plan", Record(leaf("type", "soort"), leaf("goals", "doelen"),
                                   leaf("case_director", "regisseur")), singleton=True),
)
_BY_KEY = {section.key: section for section in SECTIONS}


def flatten(dossier: Mapping[str, Any]) -> tuple[list[Json], dict[str, int]]:
    """The records of a dossier, and the count of each top-level list."""
    rows: list[Json] = []
    counts: dict[str, int] = {}
    for key, value in dossier.items():
        section = _BY_KEY.get(key)
        if section is None:
            raise UnmappedFieldError(key)
        if value is None:
            continue
        items = [value] if section.singleton else value
        if not section.singleton:
            counts[section.type] = len(items)
        for nr, item in enumerate(items):
            rows += section.flatten(item, nr)
    return rows, counts


def unflatten(rows: list[Mapping[str, Any]], counts: Mapping[str, int] | None) -> Json:
    by_type: dict[str, list[Json]] = {}
    for row in rows:
        by_type.setdefault(str(row.get("type")), []).append(dict(row))
    dossier: Json = {}
    for section in SECTIONS:
        found = by_type.get(section.type, [])
        if section.singleton:
            if found:
                dossier[section.key] = section.unflatten(found[0], by_type)
        elif found or (counts is not None and section.type in counts):
            dossier[section.key] = [section.unflatten(row, by_type) for row in found]
    return dossier
