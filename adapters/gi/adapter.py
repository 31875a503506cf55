"""Gecertificeerde Instelling: the canonical dossier as a *jeugdbeschermingszaak* around its maatregelen.

Declared in `mapping.yaml` beside this module: PascalCase paths, dates yyyymmdd, booleans "J"/"N", gezag in
the BRP "indicatie gezag minderjarige" style. See docs/adapters.md for the field table.
"""

from __future__ import annotations

from adapters.declarative import partner_mapping, rest_adapter

MAPPING = partner_mapping("adapters.gi")
RECEIVE_PATH = MAPPING.rest.deliver_path
QUERY_PATH = MAPPING.rest.query_path

dossier_to_native = MAPPING.dossier_to_native
native_to_dossier = MAPPING.native_to_dossier
encode_message = MAPPING.encode_message
decode_message = MAPPING.decode_message
build_query = MAPPING.build_query
receipt_reference = MAPPING.receipt_reference

ADAPTER = rest_adapter(MAPPING)
