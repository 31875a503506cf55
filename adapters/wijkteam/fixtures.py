"""Seeded wijkteam zaken in the native (ZGW-shaped) format. Every name and BSN is fictional (11-proef valid).

The informatieobject content is written here as a dict and base64-encoded as the system stores it.
"""

from __future__ import annotations

from typing import Any

from adapters.wijkteam.adapter import encode_inhoud


def _zaak(identificatie: str, rollen: list[dict[str, Any]], inhoud: dict[str, Any]) -> dict[str, Any]:
    return {
        "zaak": {"identificatie": identificatie, "bronorganisatie": "wijkteam-utrecht-west",
                 "zaaktype": "urn:kgb:zaaktype:gezinsbegeleiding", "vertrouwelijkheidaanduiding": "vertrouwelijk",
                 "kenmerken": [{"bron": "wijkteam-utrecht-west", "kenmerk": identificatie}]},
        "rollen": rollen,
        "informatieobject": {"titel": "Gezinsdossier", "formaat": "application/json", "taal": "nld",
                             "vertrouwelijkheidaanduiding": "vertrouwelijk", "inhoud": encode_inhoud(inhoud)},
    }


def _rol(ref: str, roltype: str, identificatie: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"rolIdentificatie": ref, "roltype": roltype, "betrokkeneType": "natuurlijk_persoon",
            "omschrijvingGeneriek": "belanghebbende", "betrokkeneIdentificatie": identificatie, **extra}


VOORBEELD = _zaak("ZAAK-2024-0000042", [
    _rol("r1", "jeugdige", {"inpBsn": "111222333", "voornamen": "Noor", "geslachtsnaam": "Voorbeeld",
                            "geboortedatum": "2016-04-12", "geslachtsaanduiding": "v"},
         aanvullend={"school": "Basisschool De Proeftuin"}),
    _rol("r2", "jeugdige", {"inpBsn": "999990007", "voornamen": "Sem", "geslachtsnaam": "Voorbeeld",
                            "geboortedatum": "2019-09-03", "geslachtsaanduiding": "m"}),
    _rol("r3", "ouder", {"inpBsn": "123456782", "voornamen": "Eva", "geslachtsnaam": "Voorbeeld",
                         "geboortedatum": "1988-01-25", "geslachtsaanduiding": "v"},
         contactpersoonRol={"telefoonnummer": "0600000001"}),
    _rol("r4", "ouder", {"inpBsn": "999990020", "voornamen": "Daan", "voorvoegselGeslachtsnaam": "de",
                         "geslachtsnaam": "Proef", "geboortedatum": "1986-11-30", "geslachtsaanduiding": "m"}),
], {
    "huishouden": {"soortHuishouden": "tweeoudergezin", "leden": ["r1", "r2", "r3", "r4"],
                   "adres": {"adresSoort": "woonadres", "gorOpenbareRuimteNaam": "Proefstraat", "aoaHuisnummer": "12",
                             "aoaPostcode": "1234 AB", "wplWoonplaatsNaam": "Voorbeeldstad"}},
    "signalen": [{"signaalsoort": "zorgsignaal", "datum": "2024-02-20", "relatie": "eerste",
                  "situatie": "Moeder vraagt hulp bij de opvoeding; spanningen tussen de ouders.",
                  "lopendeHulp": False}],
    "hulpverlening": [{"aanbieder": "Buurtteam Utrecht West", "productcategorie": "opvoedondersteuning",
                       "begindatum": "2024-03-01", "ggz": False}],
    "financien": {"schulden": True, "toelichting": "Huurachterstand; aangemeld bij schuldhulpverlening."},
    "plan": {"soortPlan": "gezinsplan", "doelen": ["rust in huis", "financien op orde"],
             "regisseur": "buurtteammedewerker"},
})

BEDACHT = _zaak("ZAAK-2025-0000007", [
    _rol("r1", "jeugdige", {"inpBsn": "999920005", "voornamen": "Mees", "geslachtsnaam": "Bedacht",
                            "geboortedatum": "2011-06-21", "geslachtsaanduiding": "m"}),
    _rol("r2", "ouder", {"inpBsn": "999920017", "voornamen": "Roos", "geslachtsnaam": "Bedacht",
                         "geboortedatum": "1984-03-08", "geslachtsaanduiding": "v"},
         aanvullend={"taal": "Pools", "tolkNodig": True}),
], {
    "huishouden": {"soortHuishouden": "eenoudergezin", "leden": ["r1", "r2"]},
    "gezagsrelaties": [{"jeugdige": "r1", "soortGezag": "een_ouder", "gezaghouders": ["r2"]}],
    "gezondheid": [{"rol": "r1", "soort": "ontwikkeling", "omschrijving": "Vermoeden van een taalachterstand."}],
    "plan": {"soortPlan": "ondersteuningsplan", "doelen": ["Mees gaat weer naar school"]},
})

FIXTURES = [VOORBEELD, BEDACHT]
