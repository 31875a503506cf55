"""Wijkteam: a municipal social-team case system speaking the ZGW APIs (Open Zaak), through `adapters.zgw`.

A delivery becomes a zaak with the dossier as its document; the document's JSON content — the dossier in the
wijkteam's own terms — and the zaaktype, document type and confidentiality rules are declared in
`mapping.yaml` beside this module.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from adapters.declarative import partner_mapping
from adapters.mapping import Json
from adapters.zgw.adapter import ZgwAdapter, decode_inhoud

MAPPING = partner_mapping("adapters.wijkteam")
ADAPTER = ZgwAdapter(name="wijkteam", mapping=MAPPING)

dossier_to_native = MAPPING.dossier_to_native
native_to_dossier = MAPPING.native_to_dossier


def decode_message(message: Mapping[str, Any]) -> Json:
    """What the simulator received for one zaak (`/_sim/received` body) as the canonical dossier it carried."""
    document = message.get("informatieobject")
    if not isinstance(document, Mapping) or not isinstance(document.get("inhoud"), str):
        raise TypeError("no document received for this zaak")
    return ADAPTER.content_to_dossier(decode_inhoud(document["inhoud"]))
