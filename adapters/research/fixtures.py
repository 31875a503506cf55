"""Seeded monitoring extracts in the native flat-record format. Pseudonyms only: the monitor never holds a BSN."""

from __future__ import annotations

from typing import Any

PSEUDONYM_CHILD = "PS1.k1.TU9OSVRPUi1LSU5ELTAwMDAwMDAx"
PSEUDONYM_PARENT = "PS1.k1.TU9OSVRPUi1PVURFUi0wMDAwMDAwMg"
PSEUDONYM_OTHER_CHILD = "PS1.k1.TU9OSVRPUi1LSU5ELTAwMDAwMDAz"

CASUS_A: dict[str, Any] = {
    "aanlevering": {"aanleverId": "seed-a", "bron": "vt-utrecht", "stroom": "R1",
                    "aantallen": {"persoon": 2, "signaal": 1, "taxatie": 1}},
    "records": [
        {"type": "huishouden", "nr": 0, "samenstelling": "eenoudergezin", "met_adres": True,
         "postcodegebied": "3531", "gemeente": "Utrecht"},
        {"type": "persoon", "nr": 0, "sleutel": "p1", "rol": "kind", "pseudoniem": PSEUDONYM_CHILD,
         "geboorte": "2016", "geslacht": "V"},
        {"type": "persoon", "nr": 1, "sleutel": "p2", "rol": "ouder", "pseudoniem": PSEUDONYM_PARENT,
         "geboorte": "30-39"},
        {"type": "signaal", "nr": 0, "soort": "melding", "datum": "2024-10", "relatie": "nieuw",
         "aantal_geweldsvorm": 1},
        {"type": "geweldsvorm", "signaal_nr": 0, "vorm": "getuige_huiselijk_geweld", "slachtoffer": "p1"},
        {"type": "taxatie", "nr": 0, "triage": "structureel", "datum": "2024-10", "instrument": "LIRIK"},
    ],
}

CASUS_B: dict[str, Any] = {
    "aanlevering": {"aanleverId": "seed-b", "bron": "wijkteam-utrecht-west", "stroom": "R1",
                    "aantallen": {"persoon": 1, "hulp": 1}},
    "records": [
        {"type": "persoon", "nr": 0, "sleutel": "p1", "rol": "kind", "pseudoniem": PSEUDONYM_OTHER_CHILD,
         "geboorte": "5-9"},
        {"type": "hulp", "nr": 0, "soort": "opvoedondersteuning", "start": "2024"},
        {"type": "plan", "nr": 0, "soort": "gezinsplan", "regisseur": "wijkteam"},
    ],
}

FIXTURES = [CASUS_A, CASUS_B]
