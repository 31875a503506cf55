"""Zaken the simulated wijkteam system already holds: each a document in the wijkteam's own JSON terms (see
`mapping.yaml`), filed under a zaak whose rollen name the family's BSNs. Every name and BSN is fictional
(the BSNs pass the 11-proef).
"""

from __future__ import annotations

from typing import Any

import orjson

from adapters.zgw.simulator import SeedZaak


def _rol(ref: str, roltype: str, identificatie: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"rolIdentificatie": ref, "roltype": roltype, "betrokkeneType": "natuurlijk_persoon",
            "betrokkeneIdentificatie": identificatie, **extra}


VOORBEELD: dict[str, Any] = {
    "kenmerken": [{"bron": "wijkteam-utrecht-west", "kenmerk": "ZAAK-2024-0000042"}],
    "rollen": [
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
    ],
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
}

BEDACHT: dict[str, Any] = {
    "kenmerken": [{"bron": "wijkteam-utrecht-west", "kenmerk": "ZAAK-2025-0000007"}],
    "rollen": [
        _rol("r1", "jeugdige", {"inpBsn": "999920005", "voornamen": "Mees", "geslachtsnaam": "Bedacht",
                                "geboortedatum": "2011-06-21", "geslachtsaanduiding": "m"}),
        _rol("r2", "ouder", {"inpBsn": "999920017", "voornamen": "Roos", "geslachtsnaam": "Bedacht",
                             "geboortedatum": "1984-03-08", "geslachtsaanduiding": "v"},
             aanvullend={"taal": "Pools", "tolkNodig": True}),
    ],
    "huishouden": {"soortHuishouden": "eenoudergezin", "leden": ["r1", "r2"]},
    "gezagsrelaties": [{"jeugdige": "r1", "soortGezag": "een_ouder", "gezaghouders": ["r2"]}],
    "gezondheid": [{"rol": "r1", "soort": "ontwikkeling", "omschrijving": "Vermoeden van een taalachterstand."}],
    "plan": {"soortPlan": "ondersteuningsplan", "doelen": ["Mees gaat weer naar school"]},
}

FIXTURES = [VOORBEELD, BEDACHT]


def seed(content: dict[str, Any]) -> SeedZaak:
    bsns = frozenset(rol["betrokkeneIdentificatie"]["inpBsn"] for rol in content["rollen"])
    return SeedZaak(identificatie=content["kenmerken"][0]["kenmerk"], bsns=bsns, content=orjson.dumps(content))


SEEDS = [seed(VOORBEELD), seed(BEDACHT)]
