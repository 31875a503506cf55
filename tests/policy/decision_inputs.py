"""Policy inputs for the decision-path tests: real dossiers (the examples, the test melding with several children)
and a synthetic one with every field of the dossier model several times, decided in every flow under contexts
that allow, deny, escalate and break glass."""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
from typing import Any

from gateway.core.settings import REPO_ROOT
from gateway.core.types import OrganisationType
from gateway.dossier.fields import field_catalogue, flatten
from gateway.dossier.model import Gezinsdossier
from gateway.exchange.records import policy_input
from gateway.exchange.schemas import ExchangeContext
from gateway.registry.organisations import Organisation
from tests.support import MELDING_CONTEXT, MELDING_DOSSIER

TODAY = dt.date(2026, 11, 22)
GLASS = {"justification": "Acuut gevaar: het kind is vannacht mishandeld en is nu niet veilig thuis."}
MEASURE = {"kind": "ots", "reference": "C/16/1", "start": "2026-01-01", "end": "2027-01-01"}

# (sender, recipient, purpose, pattern, context) per flow: one that should allow, and ones that should not.
CASES: list[tuple[str, str, str, str, dict[str, Any]]] = [
    ("wijkteam", "veilig_thuis", "adviesvraag", "push", {}),
    ("wijkteam", "veilig_thuis", "melding", "push", MELDING_CONTEXT),
    ("wijkteam", "veilig_thuis", "melding", "push", {}),
    ("wijkteam", "veilig_thuis", "melding", "push", {"break_glass": GLASS}),
    ("wijkteam", "veilig_thuis", "melding", "push", {**MELDING_CONTEXT, "break_glass": GLASS}),
    ("wijkteam", "veilig_thuis", "melding", "push", {**MELDING_CONTEXT, "conflict_van_plichten": True}),
    ("wijkteam", "veilig_thuis", "melding", "push",
     {"afwegingskader_documented": True, "parents_informed": False, "parents_not_informed_reason": "anders"}),
    ("wijkteam", "veilig_thuis", "informatie_vt_onderzoek", "pull", {"question": "Hoe gaat het met het kind?"}),
    ("veilig_thuis", "rvdk", "verzoek_tot_onderzoek", "push",
     {"voluntary_help_insufficient": True, "parents_informed": True}),
    ("wijkteam", "rvdk", "informatie_raadsonderzoek", "push", {"documented_weighing": True}),
    ("rvdk", "gi", "uitvoering_ots", "push", {"measure": MEASURE}),
    ("wijkteam", "gi", "informatie_ots", "push", {"measure": MEASURE}),
    ("wijkteam", "gi", "informatie_ots", "push", {"break_glass": GLASS}),
    ("gi", "wijkteam", "hulp_tijdens_ots", "push", {"measure": MEASURE}),
    ("gi", "wijkteam", "overdracht_vrijwillig_kader", "push",
     {"consent_reference": "T-1", "handover_to_voluntary": True, "explicit_consent_health": True}),
    ("veilig_thuis", "wijkteam", "toeleiding_hulp", "push", {"kader": "vrijwillig"}),
    ("veilig_thuis", "wijkteam", "monitoring", "push", {"conflict_van_plichten": True, "break_glass": GLASS}),
    ("wijkteam", "research", "onderzoek_en_sturing", "push", {"kader": "vrijwillig"}),
    ("veilig_thuis", "research", "onderzoek_en_sturing", "push", {"break_glass": GLASS}),
    ("research", "wijkteam", "melding", "push", {}),
    ("wijkteam", "veilig_thuis", "onbekend_doel", "push", {}),
]


def _org(kind: str) -> Organisation:
    return Organisation(id=f"{kind.replace('_', '-')}-test", type=OrganisationType(kind), name=kind, oin="0" * 20)


def build(fields: list[dict[str, Any]], case: tuple[str, str, str, str, dict[str, Any]], *,
          subjects: int = 3) -> dict[str, Any]:
    sender, recipient, purpose, pattern, context = case
    pin = policy_input(pattern=pattern, sender=_org(sender), recipient=_org(recipient), purpose=purpose,
                       professional_role="professional", context=ExchangeContext.model_validate(context),
                       subject_roles=(["kind", "ouder", "melder"] * subjects)[:subjects],
                       requested_categories=[f["category"] for f in fields], fields=[], today=TODAY)
    pin["fields"] = copy.deepcopy(fields)
    return pin


def dossier_fields(dossier: dict[str, Any]) -> list[dict[str, Any]]:
    dumped = Gezinsdossier.model_validate(dossier).model_dump(mode="json", exclude_none=True)
    return [f.as_policy_input() for f in flatten(dumped)]


def melding_with_children(children: int) -> dict[str, Any]:
    """The test melding with `children` children (the first is the original), each with a signal and gezag."""
    dossier = copy.deepcopy(MELDING_DOSSIER)
    kind = dossier["persons"][0]
    for n in range(2, children + 1):
        dossier["persons"].insert(n - 1, {**kind, "ref": f"k{n}", "given_names": f"Kind{n}",
                                          "bsn": None, "birth_date": f"201{n}-01-0{n}"})
        dossier["gezag"].append({"child_ref": f"k{n}", "type": "eenhoofdig_ouderlijk", "holder_refs": ["o1"]})
        dossier["signals"][0]["violence_forms"].append({"category": "verwaarlozing", "victim_ref": f"k{n}"})
    for person in dossier["persons"]:
        if person.get("bsn") is None:
            person.pop("bsn", None)
    return dossier


def example_fields(name: str) -> list[dict[str, Any]]:
    return dossier_fields(json.loads((REPO_ROOT / "examples" / name).read_text(encoding="utf-8"))["dossier"])


def every_field() -> list[dict[str, Any]]:
    """Every field of the model, lists twice over, persons five times (three children, a parent, a reporter),
    an involvement with and one without mental health: the input flatten would give for such a dossier."""
    roles = ["kind", "kind", "kind", "ouder", "melder"]
    out: list[dict[str, Any]] = []
    for schema_path, label in field_catalogue().items():
        count = len(roles) if schema_path.startswith("persons[]") else (2 if "[]" in schema_path else 1)
        for i in range(count):
            path = re.sub(r"\[\]", f"[{i}]", schema_path)
            category, role = label.category, None
            if schema_path.startswith("persons[]."):
                role = roles[i]
                if role == "melder" and category != "structure":
                    category = "reporter"
            if schema_path.startswith("involvements[].") and i == 1:
                category = "health"
            entry: dict[str, Any] = {"path": path, "field": schema_path, "category": category,
                                     "identifier": label.identifier}
            if role:
                entry["subject_role"] = role
            out.append(entry)
    return out


def field_sets() -> dict[str, list[dict[str, Any]]]:
    return {
        "example F2": example_fields("melding-f2.json"),
        "example R1": example_fields("research-extract-r1.json"),
        "melding, 1 child": dossier_fields(MELDING_DOSSIER),
        "melding, 3 children": dossier_fields(melding_with_children(3)),
        "every field": every_field(),
        "no fields": [],
    }


def all_inputs() -> list[tuple[str, dict[str, Any]]]:
    out = [(f"{name} / {case[2]} {case[0]}→{case[1]} #{i}", build(fields, case))
           for name, fields in field_sets().items() for i, case in enumerate(CASES)]
    bulk = ("wijkteam", "veilig_thuis", "informatie_vt_onderzoek", "pull", {"question": "Welke hulp loopt er?"})
    out.append(("bulk pull", build(every_field(), bulk, subjects=12)))
    return out
