"""Veilig Thuis: the canonical dossier as a VT *casus* with meldingen, betrokkenen and a separate melder.

The whole mapping — paths, code lists, date format, the split of persons into betrokkenen, melders and
informanten, the envelope and the query — is declared in `mapping.yaml` beside this module; see
docs/adapters.md for the resulting field table.
"""

from __future__ import annotations

from adapters.declarative import partner_mapping, rest_adapter

MAPPING = partner_mapping("adapters.veilig_thuis")
RECEIVE_PATH = MAPPING.rest.deliver_path
QUERY_PATH = MAPPING.rest.query_path

dossier_to_native = MAPPING.dossier_to_native
native_to_dossier = MAPPING.native_to_dossier
encode_message = MAPPING.encode_message
decode_message = MAPPING.decode_message
build_query = MAPPING.build_query
receipt_reference = MAPPING.receipt_reference

ADAPTER = rest_adapter(MAPPING)
