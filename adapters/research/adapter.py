"""Research / monitoring recipient: pseudonymised, generalised extracts as a flat record list.

Native shape: `{"aanlevering": {"aanleverId", "stroom", "grondslag", "aantallen": {...}}, "records":
[{"type": "persoon", "sleutel": "p1", "pseudoniem": "PS1…", "geboorte": "2016", "geslacht": "V"}, ...]}`
(see `records.py`). The format has no place for a name, contact detail, street or house number, and a BSN
field is a `pseudoniem`: flow R1 allows no direct identifiers ever. A dossier that still holds one (a
plaintext BSN, a name, a full postcode) is refused with `identifier_not_allowed` before anything is sent:
the adapter does not decide what may go, but it must not be the place where a policy mistake leaks.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from adapters.common import RestAdapter
from adapters.mapping import Json
from adapters.research.records import flatten, unflatten
from gateway.dossier.bsn import is_valid_bsn
from gateway.relay.port import AdapterError, Delivery, FetchRequest

RECEIVE_PATH = "/monitor/v1/aanleveringen"
QUERY_PATH = "/monitor/v1/aanleveringen/_zoek"

_DIRECT_IDENTIFIERS = ("given_names", "surname_prefix", "surname", "phone", "email")
_POSTCODE_AREA = re.compile(r"\d{4}")


def _identifier_present(dossier: Mapping[str, Any]) -> bool:
    for person in dossier.get("persons") or []:
        if any(person.get(name) is not None for name in _DIRECT_IDENTIFIERS):
            return True
        bsn = person.get("bsn")
        if isinstance(bsn, str) and is_valid_bsn(bsn):
            return True
    address = (dossier.get("household") or {}).get("address") or {}
    postcode = address.get("postcode")
    return (address.get("street") is not None or address.get("house_number") is not None
            or (postcode is not None and not _POSTCODE_AREA.fullmatch(str(postcode))))


def dossier_to_native(dossier: Mapping[str, Any]) -> Json:
    """Records plus counts (`{"records": [...], "aantallen": {...}}`); refuses direct identifiers."""
    if _identifier_present(dossier):
        raise AdapterError("identifier_not_allowed")
    rows, counts = flatten(dossier)
    return {"records": rows, "aantallen": counts}


def native_to_dossier(native: Mapping[str, Any]) -> Json:
    rows = native.get("records")
    if not isinstance(rows, list):
        raise TypeError("no record list")
    counts = native.get("aantallen")
    return unflatten(rows, counts if isinstance(counts, Mapping) else None)


def encode_message(delivery: Delivery) -> Json:
    native = dossier_to_native(delivery.dossier)
    return {
        "aanlevering": {
            "aanleverId": delivery.exchange_id,
            "bron": delivery.sender_id,
            "doel": delivery.purpose,
            "stroom": delivery.flow,
            "grondslag": delivery.legal_basis,
            "logpositie": delivery.log_position,
            "aantallen": native["aantallen"],
        },
        "records": native["records"],
    }


def decode_message(message: Json) -> Json:
    header = message.get("aanlevering")
    counts = header.get("aantallen") if isinstance(header, Mapping) else None
    return native_to_dossier({"records": message.get("records"), "aantallen": counts})


def build_query(request: FetchRequest, pseudonyms: list[str]) -> Json:
    """The monitor only knows pseudonyms: the subject identifiers the gateway passes are those."""
    return {"pseudoniemen": pseudonyms, "aanvrager": request.requester_id, "doel": request.purpose,
            "verzoekId": request.exchange_id}


def receipt_reference(receipt: Json) -> object:
    return receipt.get("batch_id")


ADAPTER = RestAdapter(
    name="research", deliver_path=RECEIVE_PATH, query_path=QUERY_PATH, encode=encode_message,
    decode=decode_message, build_query=build_query, receipt_reference=receipt_reference,
)
