"""The canonical gezinsdossier model: the one shape every exchange uses between partners.

Every leaf field declares its data category (`x-category`) and whether it is a direct identifier
(`x-identifier`). The policy decides per field from these labels; `gateway.dossier.fields` flattens a
dossier into labelled field paths. Partners' own formats are mapped onto this model in `adapters/`.
See docs/dossier-model.md for the category list and the sources each part is drawn from.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError

from gateway.dossier.bsn import is_valid_bsn


def _check_bsn(value: str) -> str:
    if not is_valid_bsn(value):
        # No input echo: the message is fixed text.
        raise PydanticCustomError("invalid_bsn", "BSN is not valid (it must be 9 digits and pass the 11-check)")
    return value


Bsn = Annotated[str, AfterValidator(_check_bsn)]


def cat(category: str, *, identifier: bool = False, **kwargs: Any) -> Any:
    """A field with its data category label (and direct-identifier flag) in the JSON schema."""
    extra: dict[str, Any] = {"x-category": category}
    if identifier:
        extra["x-identifier"] = True
    return Field(default=None, json_schema_extra=extra, **kwargs)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class SubjectRole(StrEnum):
    KIND = "kind"
    OUDER = "ouder"
    HUISGENOOT = "huisgenoot"
    MELDER = "melder"
    VERZORGER = "verzorger"
    PLEEGOUDER = "pleegouder"
    NETWERK = "netwerk"
    INFORMANT = "informant"


class Sex(StrEnum):
    MAN = "man"
    VROUW = "vrouw"
    ONBEKEND = "onbekend"
    ANDERS = "anders"


class ReporterRole(StrEnum):
    """Reporter role (CBS Veilig Thuis statistics)."""

    NIET_PROFESSIONAL = "niet_professional"
    GEZONDHEIDSZORG = "gezondheidszorg"
    GGZ = "ggz"
    KINDEROPVANG = "kinderopvang"
    ONDERWIJS = "onderwijs"
    LEERPLICHT = "leerplicht"
    JEUGDZORG = "jeugdzorg"
    JUSTITIE_VEILIGHEID = "justitie_veiligheid"
    ANDERE_VT_REGIO = "andere_vt_regio"
    OVERIG = "overig"


class Person(_Model):
    ref: str = Field(pattern=r"^[A-Za-z0-9_-]{1,32}$", description="Reference within this dossier, e.g. 'p1'.",
                     json_schema_extra={"x-category": "structure"})
    role: SubjectRole = Field(json_schema_extra={"x-category": "structure"})
    bsn: Bsn | None = cat("identification", identifier=True)
    given_names: str | None = cat("identification", identifier=True, max_length=200)
    surname_prefix: str | None = cat("identification", identifier=True, max_length=20)
    surname: str | None = cat("identification", identifier=True, max_length=200)
    birth_date: dt.date | None = cat("identification")
    sex: Sex | None = cat("identification")
    nationality: str | None = cat("identification", max_length=60)
    expected_birth_date: dt.date | None = cat("identification", description="Unborn child: expected date.")
    phone: str | None = cat("contact", identifier=True, max_length=40)
    email: str | None = cat("contact", identifier=True, max_length=200)
    language: str | None = cat("contact", max_length=60)
    interpreter_needed: bool | None = cat("contact")
    school: str | None = cat("education", max_length=200)
    education_level: str | None = cat("education", max_length=60)
    # Only for role 'melder': every field of a reporter is labelled 'reporter' by the flattener.
    reporter_role: ReporterRole | None = cat("reporter")
    organisation: str | None = cat("reporter", max_length=200)
    anonymous_towards_family: bool | None = cat("reporter")


class AddressKind(StrEnum):
    BRP = "brp"
    VERBLIJF = "verblijf"
    CORRESPONDENTIE = "correspondentie"
    TIJDELIJK = "tijdelijk"


class Address(_Model):
    kind: AddressKind | None = cat("contact")
    street: str | None = cat("contact", identifier=True, max_length=200)
    house_number: str | None = cat("contact", identifier=True, max_length=20)
    postcode: str | None = cat("contact", identifier=True, pattern=r"^[1-9][0-9]{3} ?[A-Z]{2}$")
    municipality: str | None = cat("contact", max_length=100)
    secret: bool | None = cat("contact", description="Geheim adres: the address must not reach the family.")


class Household(_Model):
    composition: str | None = cat("household", max_length=60, description="e.g. eenoudergezin, tweeoudergezin")
    address: Address | None = None
    member_refs: list[str] | None = cat("structure")


class GezagType(StrEnum):
    """Gezag code list (the BRP gezag API)."""

    GEZAMENLIJK_OUDERLIJK = "gezamenlijk_ouderlijk"
    EENHOOFDIG_OUDERLIJK = "eenhoofdig_ouderlijk"
    GEZAMENLIJK_OUDER_DERDE = "gezamenlijk_ouder_derde"
    VOOGDIJ = "voogdij"
    TIJDELIJK_GEEN = "tijdelijk_geen"
    NIET_TE_BEPALEN = "niet_te_bepalen"


class Gezag(_Model):
    child_ref: str | None = cat("structure")
    type: GezagType | None = cat("household")
    holder_refs: list[str] | None = cat("structure")
    under_investigation: bool | None = cat("household")


class ViolenceCategory(StrEnum):
    """Violence forms (CBS Veilig Thuis statistics)."""

    LICHAMELIJKE_MISHANDELING = "lichamelijke_mishandeling"
    VERWAARLOZING = "verwaarlozing"
    PSYCHISCHE_MISHANDELING = "psychische_mishandeling"
    PSYCHISCHE_VERWAARLOZING = "psychische_verwaarlozing"
    SEKSUEEL_MISBRUIK = "seksueel_misbruik"
    GETUIGE_HUISELIJK_GEWELD = "getuige_huiselijk_geweld"
    PCF = "pediatric_condition_falsification"
    OUDERMISHANDELING = "oudermishandeling"
    PARTNERGEWELD = "partnergeweld"
    OUDERENMISHANDELING = "ouderenmishandeling"
    OVERIG = "overig"


class ViolenceForm(_Model):
    category: ViolenceCategory = Field(json_schema_extra={"x-category": "signals"})
    victim_ref: str | None = cat("structure")
    perpetrator_ref: str | None = cat("structure")


class SignalKind(StrEnum):
    ADVIESVRAAG = "adviesvraag"
    MELDING = "melding"
    VERZOEK_TOT_ONDERZOEK = "verzoek_tot_onderzoek"
    ZORGSIGNAAL = "zorgsignaal"


class Relation(StrEnum):
    NIEUW = "nieuw"
    HERHAALD = "herhaald"
    VERVOLG = "vervolg"


class Signal(_Model):
    kind: SignalKind | None = cat("signals")
    date: dt.date | None = cat("signals")
    relation: Relation | None = cat("signals")
    situation: str | None = cat("signals", max_length=10_000, description="Situation sketch (free text).")
    violence_forms: list[ViolenceForm] | None = None
    existing_help: bool | None = cat("signals")
    restraining_order: bool | None = cat("justice", description="Tijdelijk huisverbod (criminal-law data).")


class Nature(StrEnum):
    FEIT = "feit"
    MENING = "mening"
    CONCLUSIE = "conclusie"


class Observation(_Model):
    text: str | None = cat("signals", max_length=10_000)
    nature: Nature | None = cat("signals")
    source: str | None = cat("signals", max_length=200)
    approved: bool | None = cat("signals")


class Triage(StrEnum):
    ACUUT = "acuut"
    STRUCTUREEL = "structureel"
    MULTIPROBLEEM = "multiprobleem"


class SafetyAssessment(_Model):
    triage: Triage | None = cat("safety")
    date: dt.date | None = cat("safety")
    instrument: str | None = cat("safety", max_length=60, description="LIRIK, ARIJ, Signs of Safety…")
    outcome: str | None = cat("safety", max_length=2_000)
    score: int | None = cat("safety", ge=0, le=100)


class Agreement(_Model):
    who_ref: str | None = cat("structure")
    what: str | None = cat("safety", max_length=2_000)
    when: str | None = cat("safety", max_length=100)


class SafetyPlan(_Model):
    dangers: list[str] | None = cat("safety")
    goals: list[str] | None = cat("safety")
    agreements: list[Agreement] | None = None
    scale: int | None = cat("safety", ge=0, le=10)
    contacts: list[str] | None = cat("safety", description="Network contacts for the plan (no personal ids).")


class Involvement(_Model):
    organisation: str | None = cat("help", max_length=200)
    kind: str | None = cat("help", max_length=100)
    start: dt.date | None = cat("help")
    end: dt.date | None = cat("help")
    mental_health: bool | None = cat("help", description="True makes this involvement health data (AVG 9).")


class HealthItem(_Model):
    person_ref: str | None = cat("structure")
    kind: str | None = cat("health", max_length=100)
    description: str | None = cat("health", max_length=5_000)


class JusticeItem(_Model):
    person_ref: str | None = cat("structure")
    kind: str | None = cat("justice", max_length=100)
    description: str | None = cat("justice", max_length=5_000)


class Finances(_Model):
    debts: bool | None = cat("income")
    description: str | None = cat("income", max_length=2_000)


class MeasureKind(StrEnum):
    VOORLOPIGE_OTS = "voorlopige_ots"
    OTS = "ots"
    VOORLOPIGE_VOOGDIJ = "voorlopige_voogdij"
    VOOGDIJ = "voogdij"
    TIJDELIJKE_VOOGDIJ = "tijdelijke_voogdij"
    MACHTIGING_UITHUISPLAATSING = "machtiging_uithuisplaatsing"
    GEZAGSBEEINDIGING = "gezagsbeeindiging"
    JEUGDRECLASSERING = "jeugdreclassering"


class Measure(_Model):
    kind: MeasureKind | None = cat("measures")
    child_ref: str | None = cat("structure")
    court: str | None = cat("measures", max_length=100)
    ruling_date: dt.date | None = cat("measures")
    case_number: str | None = cat("measures", max_length=60)
    start: dt.date | None = cat("measures")
    end: dt.date | None = cat("measures")
    executing_gi: str | None = cat("measures", max_length=200)


class Plan(_Model):
    type: str | None = cat("plan", max_length=60)
    goals: list[str] | None = cat("plan")
    case_director: str | None = cat("plan", max_length=200)


class CaseNumber(_Model):
    organisation: str = Field(json_schema_extra={"x-category": "structure"})
    number: str = Field(max_length=60, json_schema_extra={"x-category": "case_reference"})


class Gezinsdossier(_Model):
    """One household's dossier data in the canonical shape. Every part is optional."""

    case_numbers: list[CaseNumber] | None = None
    household: Household | None = None
    persons: list[Person] | None = Field(default=None, max_length=50)
    gezag: list[Gezag] | None = None
    signals: list[Signal] | None = None
    observations: list[Observation] | None = None
    safety_assessments: list[SafetyAssessment] | None = None
    safety_plan: SafetyPlan | None = None
    involvements: list[Involvement] | None = None
    health: list[HealthItem] | None = None
    justice: list[JusticeItem] | None = None
    finances: Finances | None = None
    measures: list[Measure] | None = None
    plan: Plan | None = None


class DataCategory(StrEnum):
    """The data categories a pull may ask for (labels of the model's fields; AVG 9/10 marked)."""

    IDENTIFICATION = "identification"
    CONTACT = "contact"
    HOUSEHOLD = "household"
    SIGNALS = "signals"
    SAFETY = "safety"
    HELP = "help"
    HEALTH = "health"  # AVG art. 9
    JUSTICE = "justice"  # AVG art. 10
    INCOME = "income"
    EDUCATION = "education"
    MEASURES = "measures"
    PLAN = "plan"
    REPORTER = "reporter"
    CASE_REFERENCE = "case_reference"
