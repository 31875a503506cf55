"""Wijkteam: the canonical dossier as a ZGW-shaped *zaak* with rollen and one informatieobject.

Native shape (loosely the Common Ground ZGW APIs): `{"zaak": {"identificatie", "zaaktype",
"vertrouwelijkheidaanduiding", "kenmerken": [...]}, "rollen": [{"roltype", "betrokkeneIdentificatie":
{"inpBsn", "geslachtsaanduiding": "m" | "v" | "o" | "x", ...}}], "informatieobject": {"formaat":
"application/json", "inhoud": <base64 of the JSON content>}}`. Case numbers become zaak kenmerken, persons
become rollen, and everything else is the content of the informatieobject, in Gemeentelijk Gegevensmodel
terms (BAG-style address fields, "regisseur" for the MDA++ case director). See docs/adapters.md.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any

import orjson

from adapters.common import RestAdapter
from adapters.mapping import Custom, Json, Record, code_list, leaf, nested
from gateway.relay.port import Delivery, FetchRequest

RECEIVE_PATH = "/zaken/api/v1/zaken"
QUERY_PATH = "/zaken/api/v1/zaken/_zoek"
BSN_FILTER = "rol__betrokkeneIdentificatie__natuurlijkPersoon__inpBsn__in"

ROLTYPE = code_list({
    "kind": "jeugdige", "ouder": "ouder", "huisgenoot": "huisgenoot", "melder": "melder",
    "verzorger": "verzorger", "pleegouder": "pleegouder", "netwerk": "netwerklid", "informant": "informant"})
GESLACHT = code_list({"man": "m", "vrouw": "v", "onbekend": "o", "anders": "x"})
MELDER_ROL = code_list({
    "niet_professional": "burger", "gezondheidszorg": "zorgverlener", "ggz": "ggz", "kinderopvang": "kinderopvang",
    "onderwijs": "onderwijs", "leerplicht": "leerplicht", "jeugdzorg": "jeugdhulp",
    "justitie_veiligheid": "politie_justitie", "andere_vt_regio": "veilig_thuis", "overig": "overig"})
SIGNAALSOORT = code_list({"adviesvraag": "advies", "melding": "melding", "verzoek_tot_onderzoek": "vto",
                          "zorgsignaal": "zorgsignaal"})
RELATIE = code_list({"nieuw": "eerste", "herhaald": "herhaling", "vervolg": "vervolg"})
GEWELD = code_list({
    "lichamelijke_mishandeling": "lichamelijk", "verwaarlozing": "verwaarlozing",
    "psychische_mishandeling": "psychisch", "psychische_verwaarlozing": "emotionele_verwaarlozing",
    "seksueel_misbruik": "seksueel", "getuige_huiselijk_geweld": "getuige", "pediatric_condition_falsification": "pcf",
    "oudermishandeling": "oudermishandeling", "partnergeweld": "ex_partnergeweld",
    "ouderenmishandeling": "ouderenmishandeling", "overig": "overig"})
SOORT_GEZAG = code_list({
    "gezamenlijk_ouderlijk": "ouders_samen", "eenhoofdig_ouderlijk": "een_ouder", "gezamenlijk_ouder_derde":
    "ouder_met_derde", "voogdij": "voogd", "tijdelijk_geen": "geen", "niet_te_bepalen": "onbepaald"})
TRIAGE = code_list({"acuut": "acute_onveiligheid", "structureel": "structurele_onveiligheid",
                    "multiprobleem": "multiprobleem"})
AARD = code_list({"feit": "feit", "mening": "mening", "conclusie": "conclusie"})
MAATREGEL = code_list({
    "voorlopige_ots": "vots", "ots": "ots", "voorlopige_voogdij": "voorlopige_voogdij", "voogdij": "voogdij",
    "tijdelijke_voogdij": "tijdelijke_voogdij", "machtiging_uithuisplaatsing": "machtiging_uhp",
    "gezagsbeeindiging": "gezagsbeeindiging", "jeugdreclassering": "jeugdreclassering"})
ADRESSOORT = code_list({"brp": "woonadres", "verblijf": "verblijfadres", "correspondentie": "correspondentieadres",
                        "tijdelijk": "tijdelijk_adres"})
VERTROUWELIJKHEID = ("openbaar", "beperkt_openbaar", "intern", "zaakvertrouwelijk", "vertrouwelijk",
                     "confidentieel", "geheim", "zeer_geheim")

ROL = Record(
    leaf("ref", "rolIdentificatie"),
    leaf("role", "roltype", ROLTYPE),
    leaf("bsn", "betrokkeneIdentificatie.inpBsn"),
    leaf("given_names", "betrokkeneIdentificatie.voornamen"),
    leaf("surname_prefix", "betrokkeneIdentificatie.voorvoegselGeslachtsnaam"),
    leaf("surname", "betrokkeneIdentificatie.geslachtsnaam"),
    leaf("birth_date", "betrokkeneIdentificatie.geboortedatum"),
    leaf("sex", "betrokkeneIdentificatie.geslachtsaanduiding", GESLACHT),
    leaf("nationality", "aanvullend.nationaliteit"),
    leaf("expected_birth_date", "aanvullend.verwachteGeboortedatum"),
    leaf("phone", "contactpersoonRol.telefoonnummer"),
    leaf("email", "contactpersoonRol.emailadres"),
    leaf("language", "aanvullend.taal"),
    leaf("interpreter_needed", "aanvullend.tolkNodig"),
    leaf("school", "aanvullend.school"),
    leaf("education_level", "aanvullend.onderwijsniveau"),
    leaf("reporter_role", "aanvullend.melderRol", MELDER_ROL),
    leaf("organisation", "aanvullend.organisatie"),
    leaf("anonymous_towards_family", "aanvullend.anoniemNaarGezin"),
)


def _put_rollen(persons: list[Mapping[str, Any]], doc: Json) -> None:
    rollen = []
    for person in persons:
        rol = ROL.encode(person)
        rol["betrokkeneType"] = "natuurlijk_persoon"
        # ZGW's generic role: the reporter started the case, everyone else has a stake in it.
        rol["omschrijvingGeneriek"] = "initiator" if person.get("role") == "melder" else "belanghebbende"
        rollen.append(rol)
    doc["rollen"] = rollen


def _take_rollen(doc: Mapping[str, Any]) -> list[Json] | None:
    rollen = doc.get("rollen")
    return None if rollen is None else [ROL.decode(rol) for rol in rollen]


PERSOONSGEBONDEN = Record(leaf("person_ref", "rol"), leaf("kind", "soort"),
    leaf("description", "omschrijving"))

# Working layout: "zaak" and "rollen" are native as they are; "inhoud" becomes the informatieobject.
DOSSIER = Record(
    nested("case_numbers", "zaak.kenmerken", Record(leaf("organisation", "bron"), leaf("number", "kenmerk"))),
    Custom("persons", _put_rollen, _take_rollen),
    nested("household", "inhoud.huishouden", Record(
        leaf("composition", "soortHuishouden"),
        nested("address", "adres", Record(
            leaf("kind", "adresSoort", ADRESSOORT), leaf("street", "gorOpenbareRuimteNaam"),
            leaf("house_number", "aoaHuisnummer"), leaf("postcode", "aoaPostcode"),
            leaf("municipality", "wplWoonplaatsNaam"), leaf("secret", "geheimAdres"))),
        leaf("member_refs", "leden"))),
    nested("gezag", "inhoud.gezagsrelaties", Record(
        leaf("child_ref", "jeugdige"), leaf("type", "soortGezag", SOORT_GEZAG),
        leaf("holder_refs", "gezaghouders"),
        leaf("under_investigation", "inOnderzoek"))),
    nested("signals", "inhoud.signalen", Record(
        leaf("kind", "signaalsoort", SIGNAALSOORT), leaf("date", "datum"),
        leaf("relation", "relatie", RELATIE),
        leaf("situation", "situatie"),
        nested("violence_forms", "geweld", Record(
            leaf("category", "vorm", GEWELD), leaf("victim_ref", "slachtoffer"),
            leaf("perpetrator_ref", "pleger"))),
        leaf("existing_help", "lopendeHulp"), leaf("restraining_order", "huisverbod"))),
    nested("observations", "inhoud.observaties", Record(
        leaf("text", "tekst"), leaf("nature", "aard", AARD), leaf("source", "bron"),
        leaf("approved", "geaccordeerd"))),
    nested("safety_assessments", "inhoud.veiligheidstaxaties", Record(
        leaf("triage", "triage", TRIAGE), leaf("date", "datum"), leaf("instrument", "instrument"),
        leaf("outcome", "uitkomst"), leaf("score", "score"))),
    nested("safety_plan", "inhoud.veiligheidsplan", Record(
        leaf("dangers", "zorgen"), leaf("goals", "doelen"),
        nested("agreements", "afspraken", Record(leaf("who_ref", "wie"), leaf("what", "wat"),
            leaf("when", "wanneer"))),
        leaf("scale", "schaalscore"), leaf("contacts", "netwerk"))),
    nested("involvements", "inhoud.hulpverlening", Record(
        leaf("organisation", "aanbieder"), leaf("kind", "productcategorie"), leaf("start", "begindatum"),
        leaf("end", "einddatum"), leaf("mental_health", "ggz"))),
    nested("health", "inhoud.gezondheid", PERSOONSGEBONDEN),
    nested("justice", "inhoud.justitie", PERSOONSGEBONDEN),
    nested("finances", "inhoud.financien", Record(leaf("debts", "schulden"),
        leaf("description", "toelichting"))),
    nested("measures", "inhoud.beschikkingen", Record(
        leaf("kind", "maatregel", MAATREGEL), leaf("child_ref", "jeugdige"), leaf("court", "rechtbank"),
        leaf("ruling_date", "uitspraakdatum"), leaf("case_number", "zaaknummer"),
        leaf("start", "ingangsdatum"),
        leaf("end", "einddatum"), leaf("executing_gi", "uitvoerder"))),
    nested("plan", "inhoud.plan", Record(
        leaf("type", "soortPlan"), leaf("goals", "doelen"), leaf("case_director", "regisseur"))),
)


def encode_inhoud(content: Mapping[str, Any]) -> str:
    return base64.b64encode(orjson.dumps(content)).decode("ascii")


def decode_inhoud(inhoud: str) -> Json:
    try:
        content = orjson.loads(base64.b64decode(inhoud, validate=True))
    except (binascii.Error, orjson.JSONDecodeError):
        raise ValueError("informatieobject content is not base64 JSON") from None
    if not isinstance(content, dict):
        raise TypeError("informatieobject content is not an object")
    return content


def _informatieobject(content: Mapping[str, Any], confidentiality: str) -> Json:
    return {"titel": "Gezinsdossier", "bestandsnaam": "gezinsdossier.json", "formaat": "application/json",
            "taal": "nld", "vertrouwelijkheidaanduiding": confidentiality, "inhoud": encode_inhoud(content)}


def dossier_to_native(dossier: Mapping[str, Any], confidentiality: str = "vertrouwelijk") -> Json:
    """The zaak kenmerken, rollen and informatieobject for a dossier (no envelope)."""
    work = DOSSIER.encode(dossier)
    native: Json = {"zaak": work.get("zaak", {})}
    if "rollen" in work:
        native["rollen"] = work["rollen"]
    native["informatieobject"] = _informatieobject(work.get("inhoud", {}), confidentiality)
    return native


def native_to_dossier(native: Mapping[str, Any]) -> Json:
    work: Json = {key: native[key] for key in ("zaak", "rollen") if key in native}
    document = native.get("informatieobject")
    if document is not None:
        work["inhoud"] = decode_inhoud(document["inhoud"])
    return DOSSIER.decode(work)


def confidentiality_of(delivery: Delivery) -> str:
    """ZGW's label: what the gateway states in the context, else "geheim" for special-category content."""
    stated = delivery.context.get("confidentiality")
    if stated in VERTROUWELIJKHEID:
        return str(stated)
    dossier = delivery.dossier
    special = bool(dossier.get("health") or dossier.get("justice")) or any(
        isinstance(item, Mapping) and item.get("mental_health") is True for item in dossier.get("involvements") or [])
    return "geheim" if special else "vertrouwelijk"


def encode_message(delivery: Delivery) -> Json:
    confidentiality = confidentiality_of(delivery)
    native = dossier_to_native(delivery.dossier, confidentiality)
    native["zaak"] = {
        "identificatie": delivery.exchange_id,
        "bronorganisatie": delivery.sender_id,
        "verantwoordelijkeOrganisatie": delivery.recipient_id,
        "zaaktype": f"urn:kgb:zaaktype:{delivery.flow}",
        "omschrijving": delivery.purpose,
        "toelichting": f"Ontvangen van {delivery.sender_name}",
        "vertrouwelijkheidaanduiding": confidentiality,
        "eigenschappen": {"grondslag": delivery.legal_basis, "logpositie": delivery.log_position,
                          "context": delivery.context},
        **native["zaak"],
    }
    return native


def decode_message(message: Json) -> Json:
    if "results" in message:  # a _zoek answer: ZGW's paginated list; the holder answers one zaak
        results = message["results"]
        if not isinstance(results, list) or len(results) != 1:
            raise ValueError("expected exactly one zaak")
        message = results[0]
    if not isinstance(message.get("zaak"), Mapping):
        raise TypeError("no zaak in the answer")
    return native_to_dossier(message)


def build_query(request: FetchRequest, bsns: list[str]) -> Json:
    return {BSN_FILTER: bsns, "aanvrager": request.requester_id, "doel": request.purpose,
            "gevraagdeCategorieen": request.categories, "berichtId": request.exchange_id}


def receipt_reference(receipt: Json) -> object:
    return receipt.get("identificatie")


ADAPTER = RestAdapter(
    name="wijkteam", deliver_path=RECEIVE_PATH, query_path=QUERY_PATH, encode=encode_message,
    decode=decode_message, build_query=build_query, receipt_reference=receipt_reference,
)
