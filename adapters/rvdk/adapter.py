"""Raad voor de Kinderbescherming: the canonical dossier as a *kindzaak* with zaakkenmerken.

Native shape (snake_case): `{"bericht": {...}, "kindzaak": {"personen": [...], "zaakkenmerken": {...},
"raadsonderzoek": {...}}}`. What led to the case (aanleidingen, e.g. a verzoek tot onderzoek), gezag,
taxaties, help history and measures are zaakkenmerken; findings, safety plan, health, justice, finances
and the advised plan belong to the raadsonderzoek. Birth dates follow the BRP "onvolledige datum" shape
(`{"type": "Datum" | "JaarDatum" | "JaarMaandDatum" | "Gegeneraliseerd", ...}`), which is how the RvdK
also receives a generalised birth date. See docs/adapters.md for the full table.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from adapters.common import RestAdapter
from adapters.mapping import SEX_MVO, Codec, Json, Record, code_list, iso_if_date, leaf, nested
from gateway.relay.port import Delivery, FetchRequest

RECEIVE_PATH = "/rvdk/api/v1/kindzaken"
QUERY_PATH = "/rvdk/api/v1/kindzaken/zoeken"

HOEDANIGHEID = code_list({
    "kind": "MINDERJARIGE", "ouder": "OUDER", "huisgenoot": "HUISGENOOT", "melder": "MELDER",
    "verzorger": "VERZORGER", "pleegouder": "PLEEGOUDER", "netwerk": "NETWERK", "informant": "INFORMANT"})
FUNCTIE_MELDER = code_list({
    "niet_professional": "PARTICULIER", "gezondheidszorg": "ZORG", "ggz": "GGZ",
    "kinderopvang": "KINDEROPVANG", "onderwijs": "ONDERWIJS", "leerplicht": "LEERPLICHT",
    "jeugdzorg": "JEUGDZORG",
    "justitie_veiligheid": "JUSTITIE", "andere_vt_regio": "VEILIG_THUIS", "overig": "OVERIG"})
AANLEIDING = code_list({"adviesvraag": "CONSULTATIE", "melding": "MELDING",
                        "verzoek_tot_onderzoek": "VERZOEK_TOT_ONDERZOEK", "zorgsignaal": "ZORGMELDING"})
RELATIE = code_list({"nieuw": "EERSTE", "herhaald": "HERHAALD", "vervolg": "VERVOLG"})
VORM = code_list({
    "lichamelijke_mishandeling": "LICHAMELIJK_GEWELD", "verwaarlozing": "LICHAMELIJKE_VERWAARLOZING",
    "psychische_mishandeling": "PSYCHISCH_GEWELD", "psychische_verwaarlozing": "PSYCHISCHE_VERWAARLOZING",
    "seksueel_misbruik": "SEKSUEEL_GEWELD", "getuige_huiselijk_geweld": "GETUIGE_HUISELIJK_GEWELD",
    "pediatric_condition_falsification": "PCF", "oudermishandeling": "OUDERMISHANDELING",
    "partnergeweld": "PARTNERGEWELD", "ouderenmishandeling": "OUDERENMISHANDELING", "overig": "OVERIG"})
# The type names of the BRP gezag API.
GEZAGSRELATIE = code_list({
    "gezamenlijk_ouderlijk": "GezamenlijkOuderlijkGezag", "eenhoofdig_ouderlijk": "EenhoofdigOuderlijkGezag",
    "gezamenlijk_ouder_derde": "GezamenlijkGezag", "voogdij": "Voogdij",
    "tijdelijk_geen": "TijdelijkGeenGezag", "niet_te_bepalen": "GezagNietTeBepalen"})
TRIAGE = code_list({"acuut": "ACUUT", "structureel": "STRUCTUREEL", "multiprobleem": "MULTIPROBLEEM"})
FEIT_OF_MENING = code_list({"feit": "FEIT", "mening": "MENING", "conclusie": "CONCLUSIE"})
REKEST = code_list({
    "voorlopige_ots": "VOORLOPIGE_ONDERTOEZICHTSTELLING", "ots": "ONDERTOEZICHTSTELLING",
    "voorlopige_voogdij": "VOORLOPIGE_VOOGDIJ", "voogdij": "VOOGDIJ",
    "tijdelijke_voogdij": "TIJDELIJKE_VOOGDIJ",
    "machtiging_uithuisplaatsing": "MACHTIGING_UITHUISPLAATSING",
    "gezagsbeeindiging": "GEZAGSBEEINDIGENDE_MAATREGEL", "jeugdreclassering": "JEUGDRECLASSERING"})
ADRES_TYPE = code_list({"brp": "WOONADRES", "verblijf": "VERBLIJFADRES", "correspondentie": "POSTADRES",
                        "tijdelijk": "TIJDELIJK_ADRES"})

_YEAR = re.compile(r"\d{4}")
_YEAR_MONTH = re.compile(r"(\d{4})-(\d{2})")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _to_incomplete_date(value: Any) -> Any:
    value = iso_if_date(value)
    if not isinstance(value, str):
        return value
    if _DATE.fullmatch(value):
        return {"type": "Datum", "datum": value}
    if _YEAR.fullmatch(value):
        return {"type": "JaarDatum", "jaar": int(value)}
    if match := _YEAR_MONTH.fullmatch(value):
        return {"type": "JaarMaandDatum", "jaar": int(match.group(1)), "maand": int(match.group(2))}
    return {"type": "Gegeneraliseerd", "waarde": value}  # an age band such as "0-4"


def _from_incomplete_date(value: Any) -> Any:
    if not isinstance(value, Mapping):
        return value
    kind = value.get("type")
    if kind == "JaarDatum":
        return f"{value['jaar']:04d}"
    if kind == "JaarMaandDatum":
        return f"{value['jaar']:04d}-{value['maand']:02d}"
    return value.get("datum") if kind == "Datum" else value.get("waarde")


ONVOLLEDIGE_DATUM = Codec(_to_incomplete_date, _from_incomplete_date)

PERSOON = Record(
    leaf("ref", "persoon_ref"),
    leaf("role", "hoedanigheid", HOEDANIGHEID),
    leaf("bsn", "burgerservicenummer"),
    leaf("given_names", "naam.voornamen"),
    leaf("surname_prefix", "naam.voorvoegsel"),
    leaf("surname", "naam.geslachtsnaam"),
    leaf("birth_date", "geboorte.datum", ONVOLLEDIGE_DATUM),
    leaf("sex", "geslacht.code", SEX_MVO),
    leaf("nationality", "nationaliteit"),
    leaf("expected_birth_date", "verwachte_geboorte.datum", ONVOLLEDIGE_DATUM),
    leaf("phone", "contact.telefoonnummer"),
    leaf("email", "contact.emailadres"),
    leaf("language", "contact.taal"),
    leaf("interpreter_needed", "contact.tolk_gewenst"),
    leaf("school", "onderwijs.school"),
    leaf("education_level", "onderwijs.niveau"),
    leaf("reporter_role", "melder.functie", FUNCTIE_MELDER),
    leaf("organisation", "melder.organisatie"),
    leaf("anonymous_towards_family", "melder.anoniem_tegenover_gezin"),
)
AANLEIDING_RECORD = Record(
    leaf("kind", "soort_aanleiding", AANLEIDING),
    leaf("date", "datum_ontvangst"),
    leaf("relation", "relatie_eerdere_meldingen", RELATIE),
    leaf("situation", "situatieschets"),
    nested("violence_forms", "kindermishandeling", Record(
        leaf("category", "vorm", VORM), leaf("victim_ref", "slachtoffer_ref"),
        leaf("perpetrator_ref", "pleger_ref"))),
    leaf("existing_help", "hulpverlening_aanwezig"),
    leaf("restraining_order", "tijdelijk_huisverbod"),
)
PERSOONSGEBONDEN = Record(leaf("person_ref", "persoon_ref"), leaf("kind", "soort"),
                          leaf("description", "omschrijving"))

KINDZAAK = Record(
    nested("case_numbers", "zaaknummers", Record(
        leaf("organisation", "instantie"), leaf("number", "zaaknummer"))),
    nested("household", "huishouden", Record(
        leaf("composition", "samenstelling"),
        nested("address", "adres", Record(
            leaf("kind", "adres_type", ADRES_TYPE), leaf("street", "straatnaam"),
            leaf("house_number", "huisnummer"), leaf("postcode", "postcode"),
            leaf("municipality", "gemeente"), leaf("secret", "geheim"))),
        leaf("member_refs", "leden"))),
    nested("persons", "personen", PERSOON),
    nested("gezag", "zaakkenmerken.gezag", Record(
        leaf("child_ref", "minderjarige_ref"), leaf("type", "gezagsrelatie.type", GEZAGSRELATIE),
        leaf("holder_refs", "gezaghebbenden"), leaf("under_investigation", "in_onderzoek"))),
    nested("signals", "zaakkenmerken.aanleidingen", AANLEIDING_RECORD),
    nested("safety_assessments", "zaakkenmerken.veiligheidstaxaties", Record(
        leaf("triage", "urgentie", TRIAGE), leaf("date", "datum"), leaf("instrument", "instrument"),
        leaf("outcome", "conclusie"), leaf("score", "score"))),
    nested("involvements", "zaakkenmerken.hulpverleningshistorie", Record(
        leaf("organisation", "instelling"), leaf("kind", "hulpvorm"), leaf("start", "begindatum"),
        leaf("end", "einddatum"), leaf("mental_health", "ggz"))),
    nested("measures", "zaakkenmerken.maatregelen", Record(
        leaf("kind", "soort", REKEST), leaf("child_ref", "minderjarige_ref"), leaf("court", "rechtbank"),
        leaf("ruling_date", "datum_beschikking"), leaf("case_number", "zaaknummer_rechtbank"),
        leaf("start", "ingangsdatum"), leaf("end", "einddatum"), leaf("executing_gi", "uitvoerende_gi"))),
    nested("observations", "raadsonderzoek.bevindingen", Record(
        leaf("text", "tekst"), leaf("nature", "feit_of_mening", FEIT_OF_MENING), leaf("source", "bron"),
        leaf("approved", "akkoord_informant"))),
    nested("safety_plan", "raadsonderzoek.veiligheidsplan", Record(
        leaf("dangers", "gevaren"), leaf("goals", "doelen"),
        nested("agreements", "afspraken", Record(
            leaf("who_ref", "persoon_ref"), leaf("what", "afspraak"), leaf("when", "termijn"))),
        leaf("scale", "schaalvraag"), leaf("contacts", "netwerk"))),
    nested("health", "raadsonderzoek.gezondheid", PERSOONSGEBONDEN),
    nested("justice", "raadsonderzoek.justitiele_documentatie", PERSOONSGEBONDEN),
    nested("finances", "raadsonderzoek.financiele_situatie", Record(
        leaf("debts", "schulden"), leaf("description", "toelichting"))),
    nested("plan", "raadsonderzoek.advies", Record(
        leaf("type", "soort_plan"), leaf("goals", "doelen"), leaf("case_director", "regievoerder"))),
)


def dossier_to_native(dossier: Mapping[str, Any]) -> Json:
    return KINDZAAK.encode(dossier)


def native_to_dossier(kindzaak: Mapping[str, Any]) -> Json:
    return KINDZAAK.decode(kindzaak)


def encode_message(delivery: Delivery) -> Json:
    return {
        "bericht": {
            "bericht_id": delivery.exchange_id,
            "verzender": {"organisatie_id": delivery.sender_id, "naam": delivery.sender_name},
            "ontvanger": delivery.recipient_id,
            "doelbinding": delivery.purpose,
            "stroom": delivery.flow,
            "wettelijke_grondslag": delivery.legal_basis,
            "logboek_positie": delivery.log_position,
            "toelichting": delivery.context,
        },
        "kindzaak": dossier_to_native(delivery.dossier),
    }


def decode_message(message: Json) -> Json:
    kindzaak = message.get("kindzaak")
    if not isinstance(kindzaak, Mapping):
        raise TypeError("no kindzaak in the answer")
    return native_to_dossier(kindzaak)


def build_query(request: FetchRequest, bsns: list[str]) -> Json:
    return {
        "zoekcriteria": {"burgerservicenummers": bsns},
        "verzoeker": {"organisatie_id": request.requester_id, "naam": request.requester_name},
        "doelbinding": request.purpose,
        "gevraagde_gegevens": request.categories,
        "bericht_id": request.exchange_id,
    }


def receipt_reference(receipt: Json) -> object:
    confirmation = receipt.get("ontvangstbevestiging")
    return confirmation.get("kindzaaknummer") if isinstance(confirmation, Mapping) else None


ADAPTER = RestAdapter(
    name="rvdk", deliver_path=RECEIVE_PATH, query_path=QUERY_PATH, encode=encode_message,
    decode=decode_message, build_query=build_query, receipt_reference=receipt_reference,
)
