"""Seeded GI jeugdbeschermingszaken in the native format. Every name and BSN is fictional (11-proef valid)."""

from __future__ import annotations

from typing import Any

VOORBEELD: dict[str, Any] = {
    "Opdracht": {"Bron": "GI Voorbeeldregio", "Zaaknummer": "JB-2025-0815"},
    "Jeugdbeschermingszaak": {
        "Zaakreferenties": [{"Bron": "gi-utrecht", "Kenmerk": "JB-2025-0815"},
                            {"Bron": "rvdk-midden-nederland", "Kenmerk": "KZ-2024-31337"}],
        "Gezinssysteem": {"Gezinsvorm": "tweeoudergezin", "Gezinsleden": ["C1", "C2", "C3", "C4"],
                          "Woonadres": {"Soort": "W", "Straat": "Proefstraat", "Huisnummer": "12",
                                        "Postcode": "1234 AB", "Woonplaats": "Voorbeeldstad", "Geheim": "N"}},
        "Clienten": [
            {"ClientId": "C1", "Relatie": "JEUGDIGE", "Bsn": "111222333", "Voornamen": "Noor",
             "Achternaam": "Voorbeeld", "Geboortedatum": "20160412", "Geslacht": "V"},
            {"ClientId": "C2", "Relatie": "JEUGDIGE", "Bsn": "999990007", "Voornamen": "Sem",
             "Achternaam": "Voorbeeld", "Geboortedatum": "20190903", "Geslacht": "M"},
            {"ClientId": "C3", "Relatie": "OUDER", "Bsn": "123456782", "Voornamen": "Eva",
             "Achternaam": "Voorbeeld", "Geboortedatum": "19880125", "Geslacht": "V",
             "Telefoon": "0600000001"},
            {"ClientId": "C4", "Relatie": "OUDER", "Bsn": "999990020", "Voornamen": "Daan",
             "Tussenvoegsels": "de", "Achternaam": "Proef", "Geboortedatum": "19861130", "Geslacht": "M"},
        ],
        "Gezag": [{"JeugdigeId": "C1", "Indicatie": "12", "Gezagdragers": ["C3", "C4"], "InOnderzoek": "N"},
                  {"JeugdigeId": "C2", "Indicatie": "12", "Gezagdragers": ["C3", "C4"]}],
        "Maatregelen": [
            {"Maatregel": "VOTS", "JeugdigeId": "C1", "Rechtbank": "Rechtbank Voorbeeld",
             "Beschikkingsdatum": "20250203", "Rekestnummer": "C/01/123456 / JE RK 25-101",
             "Ingangsdatum": "20250203", "Einddatum": "20250503", "UitvoerendeGI": "GI Voorbeeldregio"},
            {"Maatregel": "VOTS", "JeugdigeId": "C2", "Rechtbank": "Rechtbank Voorbeeld",
             "Beschikkingsdatum": "20250203", "Rekestnummer": "C/01/123457 / JE RK 25-102",
             "Ingangsdatum": "20250203", "Einddatum": "20250503", "UitvoerendeGI": "GI Voorbeeldregio"},
        ],
        "Taxaties": [{"Triage": "S", "Datum": "20250210", "Instrument": "ARIJ",
                      "Uitkomst": "Verhoogd risico op herhaling van huiselijk geweld.", "Score": 68}],
        "Veiligheidsplan": {
            "Gevaren": ["vader escaleert bij spanning", "kinderen zijn getuige van geweld"],
            "Veiligheidsdoelen": ["geen geweld in het bijzijn van de kinderen"],
            "Afspraken": [{"Wie": "C4", "Wat": "volgt een agressieregulatietraining",
                           "Wanneer": "binnen 4 weken"},
                          {"Wie": "C3", "Wat": "belt de jeugdbeschermer bij onveiligheid"}],
            "Schaalvraag": 5, "Netwerk": ["oma van moederskant", "buurvrouw"]},
        "PlanVanAanpak": {"Soort": "plan van aanpak", "Doelen": ["veiligheid thuis", "hulp voor vader"],
                          "Jeugdbeschermer": "J. Beschermer"},
        "Hulpverlening": [{"Aanbieder": "Wijkteam Voorbeeldstad", "Vorm": "opvoedondersteuning",
                           "Start": "20240301", "Eind": "20241101", "Ggz": "N"}],
    },
}

DENKBEELD: dict[str, Any] = {
    "Opdracht": {"Bron": "GI Voorbeeldregio", "Zaaknummer": "JR-2025-0042"},
    "Jeugdbeschermingszaak": {
        "Zaakreferenties": [{"Bron": "gi-utrecht", "Kenmerk": "JR-2025-0042"}],
        "Gezinssysteem": {"Gezinsvorm": "eenoudergezin", "Gezinsleden": ["C1", "C2"]},
        "Clienten": [
            {"ClientId": "C1", "Relatie": "JEUGDIGE", "Bsn": "999910012", "Voornamen": "Yara",
             "Achternaam": "Denkbeeld", "Geboortedatum": "20080930", "Geslacht": "V",
             "School": "Het Denkcollege", "Schoolniveau": "vmbo-t"},
            {"ClientId": "C2", "Relatie": "OUDER", "Bsn": "999910024", "Voornamen": "Fenna",
             "Achternaam": "Denkbeeld", "Geboortedatum": "19790517", "Geslacht": "V"},
        ],
        "Gezag": [{"JeugdigeId": "C1", "Indicatie": "1", "Gezagdragers": ["C2"]}],
        "Maatregelen": [{"Maatregel": "JR", "JeugdigeId": "C1", "Ingangsdatum": "20250115",
                         "UitvoerendeGI": "GI Voorbeeldregio"}],
        "Justitieel": [{"ClientId": "C1", "Soort": "opdracht toezicht en begeleiding",
                        "Toelichting": "Jeugdreclassering na een winkeldiefstal."}],
    },
}

FIXTURES = [VOORBEELD, DENKBEELD]
