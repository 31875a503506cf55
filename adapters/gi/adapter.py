"""Gecertificeerde Instelling: the canonical dossier as a *jeugdbeschermingszaak* around its maatregelen.

Native shape (PascalCase keys as the GI's .NET case system writes them, dates yyyymmdd, booleans "J"/"N"):
`{"Opdracht": {...}, "Jeugdbeschermingszaak": {"Clienten": [...], "Maatregelen": [...],
"Veiligheidsplan": {...}, "PlanVanAanpak": {"Jeugdbeschermer": ...}, ...}}`. Gezag uses the BRP
"indicatie gezag minderjarige" style codes ("12" both parents, "1D" parent and third party, "D" third
parties). A generalised date such as "2016" or "0-4" passes through as it is. See docs/adapters.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from adapters.common import RestAdapter
from adapters.mapping import DATE_COMPACT, SEX_MVO, YES_NO, Json, Record, code_list, leaf, nested
from gateway.relay.port import Delivery, FetchRequest

RECEIVE_PATH = "/gi/api/v2/jeugdbeschermingszaken"
QUERY_PATH = "/gi/api/v2/jeugdbeschermingszaken/zoeken"

RELATIE = code_list({
    "kind": "JEUGDIGE", "ouder": "OUDER", "huisgenoot": "HUISGENOOT", "melder": "MELDER",
    "verzorger": "OPVOEDER", "pleegouder": "PLEEGOUDER", "netwerk": "NETWERK", "informant": "INFORMANT"})
MELDER_ROL = code_list({
    "niet_professional": "NP", "gezondheidszorg": "GZ", "ggz": "GGZ", "kinderopvang": "KO", "onderwijs": "OW",
    "leerplicht": "LP", "jeugdzorg": "JZ", "justitie_veiligheid": "JV", "andere_vt_regio": "VT",
    "overig": "OV"})
SIGNAAL = code_list({"adviesvraag": "ADVIES", "melding": "MELDING", "verzoek_tot_onderzoek": "VTO",
                     "zorgsignaal": "SIGNAAL"})
RELATIE_SIGNAAL = code_list({"nieuw": "N", "herhaald": "H", "vervolg": "V"})
GEWELD = code_list({
    "lichamelijke_mishandeling": "LM", "verwaarlozing": "LV", "psychische_mishandeling": "PM",
    "psychische_verwaarlozing": "PV", "seksueel_misbruik": "SM", "getuige_huiselijk_geweld": "GHG",
    "pediatric_condition_falsification": "PCF", "oudermishandeling": "OM", "partnergeweld": "PG",
    "ouderenmishandeling": "OEM", "overig": "OV"})
GEZAG = code_list({
    "gezamenlijk_ouderlijk": "12", "eenhoofdig_ouderlijk": "1", "gezamenlijk_ouder_derde": "1D",
    "voogdij": "D", "tijdelijk_geen": "G", "niet_te_bepalen": "N"})
TRIAGE = code_list({"acuut": "A", "structureel": "S", "multiprobleem": "M"})
AARD = code_list({"feit": "F", "mening": "M", "conclusie": "C"})
MAATREGEL = code_list({
    "voorlopige_ots": "VOTS", "ots": "OTS", "voorlopige_voogdij": "VV", "voogdij": "VG",
    "tijdelijke_voogdij": "TV", "machtiging_uithuisplaatsing": "MUHP", "gezagsbeeindiging": "GBM",
    "jeugdreclassering": "JR"})
ADRESSOORT = code_list({"brp": "W", "verblijf": "V", "correspondentie": "P", "tijdelijk": "T"})

CLIENT = Record(
    leaf("ref", "ClientId"),
    leaf("role", "Relatie", RELATIE),
    leaf("bsn", "Bsn"),
    leaf("given_names", "Voornamen"),
    leaf("surname_prefix", "Tussenvoegsels"),
    leaf("surname", "Achternaam"),
    leaf("birth_date", "Geboortedatum", DATE_COMPACT),
    leaf("sex", "Geslacht", SEX_MVO),
    leaf("nationality", "Nationaliteit"),
    leaf("expected_birth_date", "VerwachteGeboortedatum", DATE_COMPACT),
    leaf("phone", "Telefoon"),
    leaf("email", "Email"),
    leaf("language", "Taal"),
    leaf("interpreter_needed", "Tolk", YES_NO),
    leaf("school", "School"),
    leaf("education_level", "Schoolniveau"),
    leaf("reporter_role", "Melder.Rol", MELDER_ROL),
    leaf("organisation", "Melder.Organisatie"),
    leaf("anonymous_towards_family", "Melder.AnoniemVoorGezin", YES_NO),
)
SIGNAAL_RECORD = Record(
    leaf("kind", "Soort", SIGNAAL),
    leaf("date", "Datum", DATE_COMPACT),
    leaf("relation", "Relatie", RELATIE_SIGNAAL),
    leaf("situation", "Situatie"),
    nested("violence_forms", "Geweldsvormen", Record(
        leaf("category", "Vorm", GEWELD), leaf("victim_ref", "SlachtofferId"),
        leaf("perpetrator_ref", "PlegerId"))),
    leaf("existing_help", "HulpAanwezig", YES_NO),
    leaf("restraining_order", "Huisverbod", YES_NO),
)
CLIENTGEBONDEN = Record(leaf("person_ref", "ClientId"), leaf("kind", "Soort"),
                        leaf("description", "Toelichting"))

ZAAK = Record(
    nested("case_numbers", "Zaakreferenties", Record(
        leaf("organisation", "Bron"), leaf("number", "Kenmerk"))),
    nested("household", "Gezinssysteem", Record(
        leaf("composition", "Gezinsvorm"),
        nested("address", "Woonadres", Record(
            leaf("kind", "Soort", ADRESSOORT), leaf("street", "Straat"), leaf("house_number", "Huisnummer"),
            leaf("postcode", "Postcode"), leaf("municipality", "Woonplaats"),
            leaf("secret", "Geheim", YES_NO))),
        leaf("member_refs", "Gezinsleden"))),
    nested("persons", "Clienten", CLIENT),
    nested("gezag", "Gezag", Record(
        leaf("child_ref", "JeugdigeId"), leaf("type", "Indicatie", GEZAG),
        leaf("holder_refs", "Gezagdragers"), leaf("under_investigation", "InOnderzoek", YES_NO))),
    nested("signals", "Signalen", SIGNAAL_RECORD),
    nested("observations", "Bevindingen", Record(
        leaf("text", "Tekst"), leaf("nature", "Aard", AARD), leaf("source", "Bron"),
        leaf("approved", "Akkoord", YES_NO))),
    nested("safety_assessments", "Taxaties", Record(
        leaf("triage", "Triage", TRIAGE), leaf("date", "Datum", DATE_COMPACT),
        leaf("instrument", "Instrument"), leaf("outcome", "Uitkomst"), leaf("score", "Score"))),
    nested("safety_plan", "Veiligheidsplan", Record(
        leaf("dangers", "Gevaren"), leaf("goals", "Veiligheidsdoelen"),
        nested("agreements", "Afspraken", Record(
            leaf("who_ref", "Wie"), leaf("what", "Wat"), leaf("when", "Wanneer"))),
        leaf("scale", "Schaalvraag"), leaf("contacts", "Netwerk"))),
    nested("involvements", "Hulpverlening", Record(
        leaf("organisation", "Aanbieder"), leaf("kind", "Vorm"), leaf("start", "Start", DATE_COMPACT),
        leaf("end", "Eind", DATE_COMPACT), leaf("mental_health", "Ggz", YES_NO))),
    nested("health", "Medisch", CLIENTGEBONDEN),
    nested("justice", "Justitieel", CLIENTGEBONDEN),
    nested("finances", "Financieel", Record(
        leaf("debts", "Schulden", YES_NO), leaf("description", "Toelichting"))),
    nested("measures", "Maatregelen", Record(
        leaf("kind", "Maatregel", MAATREGEL), leaf("child_ref", "JeugdigeId"), leaf("court", "Rechtbank"),
        leaf("ruling_date", "Beschikkingsdatum", DATE_COMPACT), leaf("case_number", "Rekestnummer"),
        leaf("start", "Ingangsdatum", DATE_COMPACT), leaf("end", "Einddatum", DATE_COMPACT),
        leaf("executing_gi", "UitvoerendeGI"))),
    nested("plan", "PlanVanAanpak", Record(
        leaf("type", "Soort"), leaf("goals", "Doelen"), leaf("case_director", "Jeugdbeschermer"))),
)


def dossier_to_native(dossier: Mapping[str, Any]) -> Json:
    return ZAAK.encode(dossier)


def native_to_dossier(zaak: Mapping[str, Any]) -> Json:
    return ZAAK.decode(zaak)


def encode_message(delivery: Delivery) -> Json:
    return {
        "Opdracht": {
            "OpdrachtId": delivery.exchange_id,
            "Opdrachtgever": {"OrganisatieId": delivery.sender_id, "Naam": delivery.sender_name},
            "Opdrachtnemer": delivery.recipient_id,
            "Doel": delivery.purpose,
            "Stroom": delivery.flow,
            "Grondslag": delivery.legal_basis,
            "Logpositie": delivery.log_position,
            "Toelichting": delivery.context,
        },
        "Jeugdbeschermingszaak": dossier_to_native(delivery.dossier),
    }


def decode_message(message: Json) -> Json:
    zaak = message.get("Jeugdbeschermingszaak")
    if not isinstance(zaak, Mapping):
        raise TypeError("no Jeugdbeschermingszaak in the answer")
    return native_to_dossier(zaak)


def build_query(request: FetchRequest, bsns: list[str]) -> Json:
    return {
        "Zoekvraag": {"Bsn": bsns},
        "Aanvrager": {"OrganisatieId": request.requester_id, "Naam": request.requester_name},
        "Doel": request.purpose,
        "Onderdelen": request.categories,
        "BerichtId": request.exchange_id,
    }


def receipt_reference(receipt: Json) -> object:
    return receipt.get("OpdrachtNummer")


ADAPTER = RestAdapter(
    name="gi", deliver_path=RECEIVE_PATH, query_path=QUERY_PATH, encode=encode_message,
    decode=decode_message, build_query=build_query, receipt_reference=receipt_reference,
)
