"""Raad voor de Kinderbescherming: the canonical dossier as a *kindzaak* with zaakkenmerken.

Declared in `mapping.yaml` beside this module: snake_case paths, the RvdK's code lists (gezag as the BRP gezag
API's type names), birth dates as the BRP "onvolledige datum" object (`adapters.formats.ONVOLLEDIGE_DATUM`).
Native-only data in an answer (the raadsonderzoeker) is left behind. See docs/adapters.md for the table.
"""

from __future__ import annotations

from adapters.declarative import partner_mapping, rest_adapter
from adapters.formats import ONVOLLEDIGE_DATUM

MAPPING = partner_mapping("adapters.rvdk")
RECEIVE_PATH = MAPPING.rest.deliver_path
QUERY_PATH = MAPPING.rest.query_path

dossier_to_native = MAPPING.dossier_to_native
native_to_dossier = MAPPING.native_to_dossier
encode_message = MAPPING.encode_message
decode_message = MAPPING.decode_message
build_query = MAPPING.build_query
receipt_reference = MAPPING.receipt_reference

ADAPTER = rest_adapter(MAPPING)

__all__ = ["ADAPTER", "ONVOLLEDIGE_DATUM", "QUERY_PATH", "RECEIVE_PATH", "decode_message", "dossier_to_native",
           "encode_message", "native_to_dossier"]
