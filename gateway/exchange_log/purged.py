"""What is left of a log entry whose content was purged under its retention period: a stub.

The stub keeps the entry's place in the log — its position, its link to the previous leaf, its kind, record id
and time, and which `retention_purge` entry removed the content — and nothing about people. The row keeps its
original leaf hash: that leaf stays in the Merkle tree, so roots, checkpoints and proofs still hold. Because the
stub does not hash to the leaf, a verifier must see the purge confirmed by a logged `retention_purge` entry that
names the position and its leaf hash; otherwise the stub is a hidden entry, not a purged one.

Pure data handling: importable by the offline verifiers without the web app or a database.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

PURGED_SCHEMA = "kgb-gateway/log-record/v1/purged"
PURGE_KIND = "retention_purge"
PURGE_PREFIX = b'{"kind":"retention_purge",'  # canonical key order: "kind" sorts first in a purge record


@dataclass(frozen=True)
class Stub:
    position: int
    prev_leaf_hash: str
    kind: str
    purged_by: int  # position of the retention_purge entry


def stub_entry(original: dict[str, Any], *, purged_by: int, purge_time: str) -> bytes:
    """The canonical JSON that replaces a purged entry's content."""
    body = {"schema": PURGED_SCHEMA, "position": original["position"], "prev_leaf_hash": original["prev_leaf_hash"],
            "kind": original.get("kind"), "record_id": original.get("record_id"), "time": original.get("time"),
            "purged": {"by": purged_by, "at": purge_time}}
    return orjson.dumps(body, option=orjson.OPT_SORT_KEYS)


def parse_stub(entry: bytes) -> Stub | None:
    """The stub's claims, or None when the text is not a purge stub."""
    if b'"purged":' not in entry:
        return None
    try:
        body = orjson.loads(entry)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(body, dict) or body.get("schema") != PURGED_SCHEMA:
        return None
    purged, position, link = body.get("purged"), body.get("position"), body.get("prev_leaf_hash")
    by = purged.get("by") if isinstance(purged, dict) else None
    if not (isinstance(position, int) and isinstance(by, int) and _count(position) and _count(by)
            and isinstance(link, str)):
        return None
    return Stub(position=position, prev_leaf_hash=link, kind=str(body.get("kind")), purged_by=by)


def purge_claims(entry: bytes) -> dict[int, str] | None:
    """For a retention_purge entry: the positions it purged with their leaf hashes; None for any other entry."""
    if not entry.startswith(PURGE_PREFIX):
        return None
    try:
        body = orjson.loads(entry)
    except orjson.JSONDecodeError:
        return None
    purged = body.get("purged") if isinstance(body, dict) else None
    if body.get("kind") != PURGE_KIND or not isinstance(purged, list):
        return None
    claims: dict[int, str] = {}
    for item in purged:
        if isinstance(item, dict) and _count(item.get("position")) and isinstance(item.get("leaf_hash"), str):
            claims[item["position"]] = item["leaf_hash"]
    return claims


def _count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0
