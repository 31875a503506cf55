"""Seeded RvdK kindzaken in the native format. Every name and BSN is fictional (the BSNs pass the 11-proef).

The RvdK system holds more than the canonical model (the raadsonderzoeker, the beschermingstafel); the
adapter leaves such native-only data behind when it maps an answer.
"""

from __future__ import annotations

from typing import Any

VOORBEELD: dict[str, Any] = {
    "bericht": {"bron": "RvdK Midden-Nederland", "kindzaaknummer": "KZ-2024-31337"},
    "kindzaak": {
        "zaaknummers": [{"instantie": "rvdk-midden-nederland", "zaaknummer": "KZ-2024-31337"},
                        {"instantie": "vt-utrecht", "zaaknummer": "VT-2024-004711"}],
        "behandeling": {"raadsonderzoeker": "R. Onderzoeker", "beschermingstafel": "2025-01-14"},
        "huishouden": {"samenstelling": "tweeoudergezin", "leden": ["k1", "k2", "o1", "o2"],
                       "adres": {"adres_type": "WOONADRES", "straatnaam": "Proefstraat", "huisnummer": "12",
                                 "postcode": "1234 AB", "gemeente": "Voorbeeldstad"}},
        "personen": [
            {"persoon_ref": "k1", "hoedanigheid": "MINDERJARIGE", "burgerservicenummer": "111222333",
             "naam": {"voornamen": "Noor", "geslachtsnaam": "Voorbeeld"},
             "geboorte": {"datum": {"type": "Datum", "datum": "2016-04-12"}}, "geslacht": {"code": "V"}},
            {"persoon_ref": "k2", "hoedanigheid": "MINDERJARIGE", "burgerservicenummer": "999990007",
             "naam": {"voornamen": "Sem", "geslachtsnaam": "Voorbeeld"},
             "geboorte": {"datum": {"type": "Datum", "datum": "2019-09-03"}}, "geslacht": {"code": "M"}},
            {"persoon_ref": "o1", "hoedanigheid": "OUDER", "burgerservicenummer": "123456782",
             "naam": {"voornamen": "Eva", "geslachtsnaam": "Voorbeeld"},
             "geboorte": {"datum": {"type": "Datum", "datum": "1988-01-25"}}, "geslacht": {"code": "V"}},
            {"persoon_ref": "o2", "hoedanigheid": "OUDER", "burgerservicenummer": "999990020",
             "naam": {"voornamen": "Daan", "voorvoegsel": "de", "geslachtsnaam": "Proef"},
             "geboorte": {"datum": {"type": "Datum", "datum": "1986-11-30"}}, "geslacht": {"code": "M"}},
        ],
        "zaakkenmerken": {
            "aanleidingen": [
                {"soort_aanleiding": "VERZOEK_TOT_ONDERZOEK", "datum_ontvangst": "2024-11-18",
                 "relatie_eerdere_meldingen": "VERVOLG",
                 "situatieschets": "Veilig Thuis verzoekt een beschermingsonderzoek: de veiligheidsafspraken "
                                   "worden niet nagekomen en vrijwillige hulp komt niet van de grond.",
                 "kindermishandeling": [
                     {"vorm": "GETUIGE_HUISELIJK_GEWELD", "slachtoffer_ref": "k1", "pleger_ref": "o2"},
                     {"vorm": "GETUIGE_HUISELIJK_GEWELD", "slachtoffer_ref": "k2", "pleger_ref": "o2"}],
                 "hulpverlening_aanwezig": True, "tijdelijk_huisverbod": False},
            ],
            "gezag": [
                {"minderjarige_ref": "k1", "gezagsrelatie": {"type": "GezamenlijkOuderlijkGezag"},
                 "gezaghebbenden": ["o1", "o2"], "in_onderzoek": False},
                {"minderjarige_ref": "k2", "gezagsrelatie": {"type": "GezamenlijkOuderlijkGezag"},
                 "gezaghebbenden": ["o1", "o2"]},
            ],
            "veiligheidstaxaties": [{"urgentie": "STRUCTUREEL", "datum": "2024-11-25", "instrument": "LIRIK",
                                     "conclusie": "Ontwikkelingsbedreiging blijft bestaan.", "score": 71}],
            "hulpverleningshistorie": [
                {"instelling": "Wijkteam Voorbeeldstad", "hulpvorm": "opvoedondersteuning",
                 "begindatum": "2024-03-01", "einddatum": "2024-11-01", "ggz": False}],
        },
        "raadsonderzoek": {
            "bevindingen": [
                {"tekst": "Beide ouders erkennen de ruzies; vader wil niet meewerken aan hulp.",
                 "feit_of_mening": "FEIT", "bron": "gesprekken met ouders", "akkoord_informant": True},
                {"tekst": "Een ondertoezichtstelling is nodig om hulp af te dwingen.",
                 "feit_of_mening": "CONCLUSIE", "bron": "raadsonderzoeker"},
            ],
            "advies": {"soort_plan": "verzoek voorlopige OTS",
                       "doelen": ["veiligheid van de kinderen borgen"]},
        },
    },
}

FICTIEF: dict[str, Any] = {
    "bericht": {"bron": "RvdK Midden-Nederland", "kindzaaknummer": "KZ-2025-00077"},
    "kindzaak": {
        "zaaknummers": [{"instantie": "rvdk-midden-nederland", "zaaknummer": "KZ-2025-00077"}],
        "behandeling": {"onderzoekssoort": "gezag- en omgangsonderzoek"},
        "huishouden": {"samenstelling": "eenoudergezin", "leden": ["k1", "o1"]},
        "personen": [
            {"persoon_ref": "k1", "hoedanigheid": "MINDERJARIGE", "burgerservicenummer": "999900006",
             "naam": {"voornamen": "Jesse", "geslachtsnaam": "Fictief"},
             "geboorte": {"datum": {"type": "Datum", "datum": "2013-12-01"}}, "geslacht": {"code": "M"}},
            {"persoon_ref": "o1", "hoedanigheid": "OUDER", "burgerservicenummer": "999900018",
             "naam": {"voornamen": "Bram", "geslachtsnaam": "Fictief"},
             "geboorte": {"datum": {"type": "Datum", "datum": "1980-07-19"}}, "geslacht": {"code": "M"}},
        ],
        "zaakkenmerken": {
            "gezag": [{"minderjarige_ref": "k1", "gezagsrelatie": {"type": "EenhoofdigOuderlijkGezag"},
                       "gezaghebbenden": ["o1"], "in_onderzoek": True}],
            "maatregelen": [],
        },
    },
}

FIXTURES = [VOORBEELD, FICTIEF]
