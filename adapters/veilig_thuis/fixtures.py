"""Seeded VT casussen in the native format. Every name and BSN is fictional (the BSNs pass the 11-proef)."""

from __future__ import annotations

from typing import Any

VOORBEELD: dict[str, Any] = {
    "berichtkop": {"bron": "Veilig Thuis Voorbeeldregio", "casusnummer": "VT-2024-004711"},
    "casus": {
        "dossiernummers": [{"organisatie": "vt-voorbeeldregio", "nummer": "VT-2024-004711"}],
        "gezin": {
            "samenstelling": "tweeoudergezin",
            "adres": {"soort": "BRP", "straat": "Proefstraat", "huisnummer": "12", "postcode": "1234 AB",
                      "gemeente": "Voorbeeldstad", "geheimAdres": False},
            "gezinsleden": ["b1", "b2", "b3", "b4"],
        },
        "betrokkenen": [
            {"betrokkeneId": "b1", "gezinsrol": "JEUGDIGE",
             "persoonsgegevens": {"bsn": "111222333", "voornamen": "Noor", "achternaam": "Voorbeeld",
                                  "geboortedatum": "12-04-2016", "geslacht": "V"},
             "onderwijs": {"school": "Basisschool De Proeftuin", "niveau": "groep 5"}},
            {"betrokkeneId": "b2", "gezinsrol": "JEUGDIGE",
             "persoonsgegevens": {"bsn": "999990007", "voornamen": "Sem", "achternaam": "Voorbeeld",
                                  "geboortedatum": "03-09-2019", "geslacht": "M"}},
            {"betrokkeneId": "b3", "gezinsrol": "OUDER",
             "persoonsgegevens": {"bsn": "123456782", "voornamen": "Eva", "achternaam": "Voorbeeld",
                                  "geboortedatum": "25-01-1988", "geslacht": "V",
                                  "nationaliteit": "Nederlandse"},
             "bereikbaarheid": {"telefoon": "0600000001", "taal": "Nederlands", "tolkNodig": False}},
            {"betrokkeneId": "b4", "gezinsrol": "OUDER",
             "persoonsgegevens": {"bsn": "999990020", "voornamen": "Daan", "tussenvoegsel": "de",
                                  "achternaam": "Proef", "geboortedatum": "30-11-1986", "geslacht": "M"}},
        ],
        "melders": [
            {"betrokkeneId": "m1", "persoonsgegevens": {"voornamen": "Ilse", "achternaam": "Meldster"},
             "bereikbaarheid": {"telefoon": "0200000000"},
             "melderkenmerken": {"beroepsgroep": "ONDERWIJS", "organisatie": "Basisschool De Proeftuin",
                                 "anoniemNaarGezin": True}},
        ],
        "gezagsverhoudingen": [
            {"jeugdigeId": "b1", "gezagsvorm": "GEZAMENLIJK_OUDERLIJK", "gezagdragers": ["b3", "b4"],
             "inOnderzoek": False},
            {"jeugdigeId": "b2", "gezagsvorm": "GEZAMENLIJK_OUDERLIJK", "gezagdragers": ["b3", "b4"]},
        ],
        "meldingen": [
            {"soort": "MELDING", "datumMelding": "02-10-2024", "relatieEerdereMeldingen": "NIEUWE_MELDING",
             "situatieschets": "Leerkracht ziet bij Noor herhaaldelijk angst en vermoeidheid; zij "
                               "vertelt over ruzies thuis waarbij geschreeuwd en gegooid wordt.",
             "geweldsvormen": [
                 {"vorm": "KM_GETUIGE_HG", "directbetrokkenen": [{"betrokkeneId": "b1", "rol": "slachtoffer"},
                                                                 {"betrokkeneId": "b4", "rol": "pleger"}]},
                 {"vorm": "PARTNERGEWELD", "directbetrokkenen": [{"betrokkeneId": "b3", "rol": "slachtoffer"},
                                                                 {"betrokkeneId": "b4", "rol": "pleger"}]},
             ],
             "bestaandeHulp": True, "tijdelijkHuisverbod": False},
        ],
        "bevindingen": [
            {"tekst": "Moeder bevestigt de ruzies en zegt hulp te willen.", "aard": "FEIT",
             "bron": "gesprek moeder", "geverifieerd": True},
            {"tekst": "De spanning thuis lijkt toe te nemen sinds het baanverlies van vader.",
             "aard": "MENING", "bron": "wijkteam", "geverifieerd": False},
        ],
        "veiligheidsbeoordelingen": [
            {"triage": "STRUCTURELE_ONVEILIGHEID", "datum": "07-10-2024", "instrument": "LIRIK",
             "uitkomst": "Structurele onveiligheid; vervolg bij VT met een veiligheidsplan.", "score": 62},
        ],
        "veiligheidsplan": {
            "zorgen": ["escalerende ruzies in bijzijn van de kinderen"],
            "veiligheidsdoelen": ["geen geweld in het gezin", "kinderen hebben een veilige plek"],
            "afspraken": [{"betrokkeneId": "b4", "afspraak": "verlaat het huis bij oplopende spanning",
                           "termijn": "per direct"},
                          {"betrokkeneId": "b3", "afspraak": "belt de buurvrouw bij onveiligheid"}],
            "schaalscore": 4,
            "netwerk": ["buurvrouw", "oma van moederskant"],
        },
        "hulpverlening": [
            {"organisatie": "Wijkteam Voorbeeldstad", "soortHulp": "opvoedondersteuning",
             "vanaf": "01-03-2024", "ggz": False},
        ],
        "financien": {"schulden": True, "toelichting": "Betalingsachterstand huur sinds het baanverlies."},
    },
}

VERZONNEN: dict[str, Any] = {
    "berichtkop": {"bron": "Veilig Thuis Voorbeeldregio", "casusnummer": "VT-2025-000815"},
    "casus": {
        "dossiernummers": [{"organisatie": "vt-voorbeeldregio", "nummer": "VT-2025-000815"}],
        "gezin": {"samenstelling": "eenoudergezin", "adres": {"soort": "BRP", "postcode": "9876 ZX",
                                                             "gemeente": "Verzinsdorp"},
                  "gezinsleden": ["b1", "b2"]},
        "betrokkenen": [
            {"betrokkeneId": "b1", "gezinsrol": "JEUGDIGE",
             "persoonsgegevens": {"bsn": "999990032", "voornamen": "Lina", "achternaam": "Verzonnen",
                                  "geboortedatum": "08-02-2021", "geslacht": "V"}},
            {"betrokkeneId": "b2", "gezinsrol": "OUDER",
             "persoonsgegevens": {"bsn": "999990044", "voornamen": "Mira", "achternaam": "Verzonnen",
                                  "geboortedatum": "14-07-1999", "geslacht": "V"},
             "bereikbaarheid": {"taal": "Engels", "tolkNodig": True}},
        ],
        "informanten": [
            {"betrokkeneId": "i1", "melderkenmerken": {"organisatie": "Consultatiebureau Verzinsdorp"}},
        ],
        "meldingen": [
            {"soort": "ADVIES", "datumMelding": "20-01-2025", "relatieEerdereMeldingen": "NIEUWE_MELDING",
             "situatieschets": "Consultatiebureau maakt zich zorgen over de verzorging van een peuter.",
             "bestaandeHulp": False},
            {"soort": "MELDING", "datumMelding": "11-02-2025", "relatieEerdereMeldingen": "VERVOLGMELDING",
             "geweldsvormen": [{"vorm": "KM_VERWAARLOZING",
                                "directbetrokkenen": [{"betrokkeneId": "b1", "rol": "slachtoffer"}]}]},
        ],
        "veiligheidsbeoordelingen": [{"triage": "SCHADELIJKE_MULTIPROBLEEMSITUATIE", "datum": "12-02-2025"}],
    },
}

FIXTURES = [VOORBEELD, VERZONNEN]
