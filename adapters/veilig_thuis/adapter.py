"""Veilig Thuis: the canonical dossier as a VT *casus* with meldingen, betrokkenen and a separate melder.

Native shape (camelCase, dates dd-mm-yyyy, upper-case codes):
`{"berichtkop": {...}, "casus": {"betrokkenen": [...], "melders": [...], "informanten": [...],
"meldingen": [{"geweldsvormen": [{"vorm", "directbetrokkenen": [{"betrokkeneId", "rol"}]}]}], ...}}`.
VT keeps the reporter (melder) and other informants apart from the household's betrokkenen because the
melder may be promised anonymity towards the family; persons therefore come back in the order
betrokkenen, melders, informanten. See docs/adapters.md for the full table.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from adapters.common import RestAdapter
from adapters.mapping import (
    DATE_DMY,
    SEX_MVO,
    Codec,
    Custom,
    Json,
    Record,
    code_list,
    leaf,
    nested,
)
from gateway.relay.port import Delivery, FetchRequest

RECEIVE_PATH = "/api/v1/meldingen"
QUERY_PATH = "/api/v1/casussen/zoeken"

GEZINSROL = code_list({"kind": "JEUGDIGE", "ouder": "OUDER", "huisgenoot": "HUISGENOOT",
                       "verzorger": "VERZORGER", "pleegouder": "PLEEGOUDER", "netwerk": "NETWERK"})
BEROEPSGROEP = code_list({
    "niet_professional": "NIET_PROFESSIONEEL", "gezondheidszorg": "GEZONDHEIDSZORG", "ggz": "GGZ",
    "kinderopvang": "KINDEROPVANG", "onderwijs": "ONDERWIJS", "leerplicht": "LEERPLICHT",
    "jeugdzorg": "JEUGDZORG", "justitie_veiligheid": "POLITIE_JUSTITIE", "andere_vt_regio": "ANDERE_VT",
    "overig": "OVERIGE_ORGANISATIE"})
SOORT_MELDING = code_list({"adviesvraag": "ADVIES", "melding": "MELDING",
                           "verzoek_tot_onderzoek": "VTO", "zorgsignaal": "ZORGSIGNAAL"})
RELATIE = code_list({"nieuw": "NIEUWE_MELDING", "herhaald": "HERHAALDE_MELDING", "vervolg": "VERVOLGMELDING"})
GEWELDSVORM = code_list({
    "lichamelijke_mishandeling": "KM_LICHAMELIJK", "verwaarlozing": "KM_VERWAARLOZING",
    "psychische_mishandeling": "KM_PSYCHISCH", "psychische_verwaarlozing": "KM_PSYCHISCHE_VERWAARLOZING",
    "seksueel_misbruik": "KM_SEKSUEEL", "getuige_huiselijk_geweld": "KM_GETUIGE_HG",
    "pediatric_condition_falsification": "KM_PCF", "oudermishandeling": "OUDERMISHANDELING",
    "partnergeweld": "PARTNERGEWELD", "ouderenmishandeling": "OUDERENMISHANDELING", "overig": "OVERIG"})
AARD = code_list({"feit": "FEIT", "mening": "MENING", "conclusie": "CONCLUSIE"})
TRIAGE = code_list({"acuut": "ACUTE_ONVEILIGHEID", "structureel": "STRUCTURELE_ONVEILIGHEID",
                    "multiprobleem": "SCHADELIJKE_MULTIPROBLEEMSITUATIE"})
GEZAGSVORM = code_list({
    "gezamenlijk_ouderlijk": "GEZAMENLIJK_OUDERLIJK", "eenhoofdig_ouderlijk": "EENHOOFDIG_OUDERLIJK",
    "gezamenlijk_ouder_derde": "OUDER_EN_DERDE", "voogdij": "VOOGDIJ", "tijdelijk_geen": "TIJDELIJK_GEEN",
    "niet_te_bepalen": "ONBEKEND"})
MAATREGEL = code_list({
    "voorlopige_ots": "VOORLOPIGE_OTS", "ots": "OTS", "voorlopige_voogdij": "VOORLOPIGE_VOOGDIJ",
    "voogdij": "VOOGDIJ", "tijdelijke_voogdij": "TIJDELIJKE_VOOGDIJ",
    "machtiging_uithuisplaatsing": "MACHTIGING_UHP", "gezagsbeeindiging": "GEZAGSBEEINDIGING",
    "jeugdreclassering": "JEUGDRECLASSERING"})
ADRESSOORT = code_list({"brp": "BRP", "verblijf": "VERBLIJF", "correspondentie": "CORRESPONDENTIE",
                        "tijdelijk": "TIJDELIJK"})

# One person record for betrokkenen, melders and informanten: which list says the role.
PERSOON = Record(
    leaf("ref", "betrokkeneId"),
    leaf("role", "gezinsrol", GEZINSROL),
    leaf("bsn", "persoonsgegevens.bsn"),
    leaf("given_names", "persoonsgegevens.voornamen"),
    leaf("surname_prefix", "persoonsgegevens.tussenvoegsel"),
    leaf("surname", "persoonsgegevens.achternaam"),
    leaf("birth_date", "persoonsgegevens.geboortedatum", DATE_DMY),
    leaf("sex", "persoonsgegevens.geslacht", SEX_MVO),
    leaf("nationality", "persoonsgegevens.nationaliteit"),
    leaf("expected_birth_date", "persoonsgegevens.verwachteGeboortedatum", DATE_DMY),
    leaf("phone", "bereikbaarheid.telefoon"),
    leaf("email", "bereikbaarheid.email"),
    leaf("language", "bereikbaarheid.taal"),
    leaf("interpreter_needed", "bereikbaarheid.tolkNodig"),
    leaf("school", "onderwijs.school"),
    leaf("education_level", "onderwijs.niveau"),
    leaf("reporter_role", "melderkenmerken.beroepsgroep", BEROEPSGROEP),
    leaf("organisation", "melderkenmerken.organisatie"),
    leaf("anonymous_towards_family", "melderkenmerken.anoniemNaarGezin"),
)
_LIST_OF_ROLE = {"melder": "melders", "informant": "informanten"}


def _put_persons(persons: list[Mapping[str, Any]], casus: Json) -> None:
    casus["betrokkenen"] = []  # present even when empty, so an empty person list survives the round trip
    for person in persons:
        role = person.get("role")
        target = _LIST_OF_ROLE.get(role, "betrokkenen") if isinstance(role, str) else "betrokkenen"
        # In `melders`/`informanten` the list itself is the role; a gezinsrol would be wrong there.
        native = PERSOON.encode({k: v for k, v in person.items()
                                 if not (k == "role" and role in _LIST_OF_ROLE)})
        casus.setdefault(target, []).append(native)


def _take_persons(casus: Mapping[str, Any]) -> list[Json] | None:
    if not any(key in casus for key in ("betrokkenen", "melders", "informanten")):
        return None
    persons = [PERSOON.decode(p) for p in casus.get("betrokkenen") or []]
    for role, key in _LIST_OF_ROLE.items():
        persons.extend({**PERSOON.decode(p), "role": role} for p in casus.get(key) or [])
    return persons


def _encode_forms(forms: list[Mapping[str, Any]]) -> list[Json]:
    """VT links a violence form to its directbetrokkenen by role, not by two reference fields."""
    out = []
    for form in forms:
        native: Json = {}
        if form.get("category") is not None:
            native["vorm"] = GEWELDSVORM.encode(form["category"])
        direct = [{"betrokkeneId": form[key], "rol": rol}
                  for key, rol in (("victim_ref", "slachtoffer"), ("perpetrator_ref", "pleger"))
                  if form.get(key) is not None]
        if direct:
            native["directbetrokkenen"] = direct
        out.append(native)
    return out


def _decode_forms(forms: list[Mapping[str, Any]] | None) -> list[Json] | None:
    if forms is None:
        return None
    out = []
    for form in forms:
        canonical: Json = {}
        if form.get("vorm") is not None:
            canonical["category"] = GEWELDSVORM.decode(form["vorm"])
        for direct in form.get("directbetrokkenen") or []:
            key = {"slachtoffer": "victim_ref", "pleger": "perpetrator_ref"}.get(direct.get("rol"))
            if key is not None:
                canonical[key] = direct.get("betrokkeneId")
        out.append(canonical)
    return out


MELDING = Record(
    leaf("kind", "soort", SOORT_MELDING),
    leaf("date", "datumMelding", DATE_DMY),
    leaf("relation", "relatieEerdereMeldingen", RELATIE),
    leaf("situation", "situatieschets"),
    leaf("violence_forms", "geweldsvormen", Codec(_encode_forms, _decode_forms)),
    leaf("existing_help", "bestaandeHulp"),
    leaf("restraining_order", "tijdelijkHuisverbod"),
)
ADRES = Record(
    leaf("kind", "soort", ADRESSOORT), leaf("street", "straat"), leaf("house_number", "huisnummer"),
    leaf("postcode", "postcode"), leaf("municipality", "gemeente"), leaf("secret", "geheimAdres"),
)
PERSOON_FEIT = Record(leaf("person_ref", "betrokkeneId"), leaf("kind", "soort"),
                      leaf("description", "toelichting"))

CASUS = Record(
    nested("case_numbers", "dossiernummers", Record(
        leaf("organisation", "organisatie"), leaf("number", "nummer"))),
    nested("household", "gezin", Record(
        leaf("composition", "samenstelling"), nested("address", "adres", ADRES),
        leaf("member_refs", "gezinsleden"))),
    Custom("persons", _put_persons, _take_persons),
    nested("gezag", "gezagsverhoudingen", Record(
        leaf("child_ref", "jeugdigeId"), leaf("type", "gezagsvorm", GEZAGSVORM),
        leaf("holder_refs", "gezagdragers"), leaf("under_investigation", "inOnderzoek"))),
    nested("signals", "meldingen", MELDING),
    nested("observations", "bevindingen", Record(
        leaf("text", "tekst"), leaf("nature", "aard", AARD), leaf("source", "bron"),
        leaf("approved", "geverifieerd"))),
    nested("safety_assessments", "veiligheidsbeoordelingen", Record(
        leaf("triage", "triage", TRIAGE), leaf("date", "datum", DATE_DMY), leaf("instrument", "instrument"),
        leaf("outcome", "uitkomst"), leaf("score", "score"))),
    nested("safety_plan", "veiligheidsplan", Record(
        leaf("dangers", "zorgen"), leaf("goals", "veiligheidsdoelen"),
        nested("agreements", "afspraken", Record(
            leaf("who_ref", "betrokkeneId"), leaf("what", "afspraak"), leaf("when", "termijn"))),
        leaf("scale", "schaalscore"), leaf("contacts", "netwerk"))),
    nested("involvements", "hulpverlening", Record(
        leaf("organisation", "organisatie"), leaf("kind", "soortHulp"), leaf("start", "vanaf", DATE_DMY),
        leaf("end", "tot", DATE_DMY), leaf("mental_health", "ggz"))),
    nested("health", "gezondheid", PERSOON_FEIT),
    nested("justice", "justitie", PERSOON_FEIT),
    nested("finances", "financien", Record(leaf("debts", "schulden"), leaf("description", "toelichting"))),
    nested("measures", "maatregelen", Record(
        leaf("kind", "soort", MAATREGEL), leaf("child_ref", "jeugdigeId"), leaf("court", "rechtbank"),
        leaf("ruling_date", "uitspraakdatum", DATE_DMY), leaf("case_number", "zaaknummer"),
        leaf("start", "ingang", DATE_DMY), leaf("end", "einde", DATE_DMY),
        leaf("executing_gi", "uitvoerendeGI"))),
    nested("plan", "plan", Record(leaf("type", "soort"), leaf("goals", "doelen"),
                                  leaf("case_director", "regisseur"))),
)


def dossier_to_native(dossier: Mapping[str, Any]) -> Json:
    return CASUS.encode(dossier)


def native_to_dossier(casus: Mapping[str, Any]) -> Json:
    return CASUS.decode(casus)


def encode_message(delivery: Delivery) -> Json:
    return {
        "berichtkop": {
            "berichtId": delivery.exchange_id,
            "afzender": {"organisatieId": delivery.sender_id, "naam": delivery.sender_name},
            "ontvanger": delivery.recipient_id,
            "doel": delivery.purpose,
            "stroom": delivery.flow,
            "grondslag": delivery.legal_basis,
            "logpositie": delivery.log_position,
            "aanvullend": delivery.context,
        },
        "casus": dossier_to_native(delivery.dossier),
    }


def decode_message(message: Json) -> Json:
    casus = message.get("casus")
    if not isinstance(casus, Mapping):
        raise TypeError("no casus in the answer")
    return native_to_dossier(casus)


def build_query(request: FetchRequest, bsns: list[str]) -> Json:
    return {
        "zoekvraag": {"bsn": bsns},
        "verzoeker": {"organisatieId": request.requester_id, "naam": request.requester_name},
        "doel": request.purpose,
        "gevraagdeOnderdelen": request.categories,
        "berichtId": request.exchange_id,
    }


def receipt_reference(receipt: Json) -> object:
    return receipt.get("registratienummer")


ADAPTER = RestAdapter(
    name="veilig_thuis", deliver_path=RECEIVE_PATH, query_path=QUERY_PATH, encode=encode_message,
    decode=decode_message, build_query=build_query, receipt_reference=receipt_reference,
)

