"""Exports of a filtered selection of the log, each with a proof bundle a third party can verify offline.

A bundle is a zip file:

    entries.jsonl | entries.csv   the selected entries: position, canonical entry text, leaf hash (CSV adds
                                  readable columns taken from the entry: time, kind, sender, …)
    proofs.json                   per entry its RFC 9162 inclusion proof (audit path, hex) against the checkpoint
    checkpoint.txt                the signed checkpoint (C2SP signed note) all proofs are made against
    public-key                    the gateway's verifier key (check it against one you hold yourself)
    manifest.json                 format, filter names, counts, time
    LEESMIJ.txt                   how to verify (`gateway log verify-export BUNDLE`)

The checkpoint is signed at export time when the log has grown, so every exported entry lies below its tree
size. Proofs come from one pass over the leaf hashes (all tree levels kept, ~64 bytes per entry), so exporting
thousands of entries of a large log costs one tree build, not one per proof.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlmodel import Session

from gateway.exchange_log import merkle
from gateway.exchange_log import service as log_service
from gateway.exchange_log.checkpoint import verifier_key
from gateway.exchange_log.models import LogEntry
from gateway.exchange_log.purged import parse_stub
from gateway.pseudonymise.signing import Signer

FORMATS = ("json", "csv")
CSV_COLUMNS = ("position", "time", "kind", "sender", "recipient", "purpose", "flow", "outcome", "leaf_hash", "entry")
README = """Exportbundel van het uitwisselingslog (kind- en gezinsbescherming)

Deze bundel bevat een selectie logregels met voor elke regel een bewijs (inclusion proof) dat de regel
ongewijzigd in het ondertekende log staat. Controleer de bundel zonder verbinding met de gateway:

    gateway log verify-export {name} --public-key <sleutel die u zelf bewaart>

De controle berekent van elke regel de vingerafdruk (leaf hash), controleert elk bewijs tegen de ondertekende
root in checkpoint.txt en de handtekening van dat checkpoint. Gebruik bij voorkeur een publieke sleutel die u
van een tweede bron heeft (de getuige, uw eigen archief); het bestand public-key in de bundel is een gemak,
geen vertrouwensbron. Zie docs/dpo-guide.md, hoofdstuk "Exports en controle zonder verbinding".
"""


@dataclass(frozen=True)
class Bundle:
    content: bytes
    entries: int
    tree_size: int
    filename: str


def tree_levels(leaves: Sequence[bytes]) -> list[list[bytes]]:
    """All levels of the RFC 9162 tree, bottom-up; a lone last node is carried up unchanged, which gives
    exactly the tree of RFC 9162 section 2.1.1 (left subtrees are the largest powers of two)."""
    levels = [list(leaves)]
    while len(levels[-1]) > 1:
        below = levels[-1]
        above = [merkle.node_hash(below[i], below[i + 1]) for i in range(0, len(below) - 1, 2)]
        if len(below) % 2:
            above.append(below[-1])
        levels.append(above)
    return levels


def audit_path(levels: list[list[bytes]], index: int) -> list[bytes]:
    """PATH(index, D[n]) read off the levels: the sibling at each level where there is one, leaf level first."""
    path = []
    for level in levels[:-1]:
        sibling = index ^ 1
        if sibling < len(level):
            path.append(level[sibling])
        index >>= 1
    return path


def root_of(levels: list[list[bytes]]) -> bytes:
    return levels[-1][0] if levels and levels[-1] else merkle.EMPTY_ROOT


def summary(entry: bytes) -> dict[str, Any]:
    """The readable CSV columns, all taken from the entry itself (so the verifier can check them)."""
    stub = parse_stub(entry)
    body: dict[str, Any] = orjson.loads(entry)
    if stub is not None:
        return {"time": body.get("time") or "", "kind": f"{stub.kind} (purged)", "sender": "", "recipient": "",
                "purpose": "", "flow": "", "outcome": ""}
    outcome = (body.get("decision") or {}).get("outcome") or body.get("outcome") or ""
    return {"time": body.get("time") or "", "kind": body.get("kind") or "",
            "sender": (body.get("sender") or {}).get("id") or "",
            "recipient": (body.get("recipient") or {}).get("id") or "", "purpose": body.get("purpose") or "",
            "flow": body.get("flow") or "", "outcome": outcome}


def _entries_file(rows: Sequence[LogEntry], fmt: str) -> tuple[str, bytes]:
    if fmt == "json":
        lines = b"".join(orjson.dumps({"position": r.position, "entry": r.entry, "leaf_hash": r.leaf_hash}) + b"\n"
                         for r in rows)
        return "entries.jsonl", lines
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for r in rows:
        writer.writerow({"position": r.position, **summary(r.entry.encode()), "leaf_hash": r.leaf_hash,
                         "entry": r.entry})
    return "entries.csv", buffer.getvalue().encode()


def build_bundle(session: Session, rows: Iterable[LogEntry], *, fmt: str, signer: Signer, origin: str,
                 now: dt.datetime, filters: dict[str, str]) -> Bundle:
    """Sign the tree when it has grown, then package the selected entries below it with their proofs.

    Call within a write transaction; `rows` are read after the checkpoint, so entries appended meanwhile are
    left out rather than left unproven.
    """
    if fmt not in FORMATS:
        raise ValueError("unknown export format")
    checkpoint = log_service.issue_checkpoint(session, signer=signer, origin=origin, now=now)
    size = checkpoint.tree_size
    selected = [r for r in rows if r.position < size]
    levels = tree_levels(log_service.leaf_hashes(session, size)) if selected else []
    proofs = [{"position": r.position, "leaf_hash": r.leaf_hash,
               "path": [h.hex() for h in audit_path(levels, r.position)]} for r in selected]
    name, entries = _entries_file(selected, fmt)
    stamp = now.astimezone(dt.UTC).strftime("%Y%m%d-%H%M%S")
    filename = f"logexport-{stamp}-{fmt}.zip"
    manifest = {"format": fmt, "entries_file": name, "entries": len(selected), "tree_size": size,
                "created_at": now.astimezone(dt.UTC).isoformat(), "filters": filters, "origin": origin}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        bundle.writestr(name, entries)
        bundle.writestr("proofs.json", orjson.dumps({"tree_size": size, "root_hash": checkpoint.root_hash,
                                                     "hash": "sha256", "encoding": "hex", "proofs": proofs},
                                                    option=orjson.OPT_INDENT_2))
        bundle.writestr("checkpoint.txt", checkpoint.note)
        bundle.writestr("public-key", verifier_key(origin, signer.public_key) + "\n")
        bundle.writestr("manifest.json", orjson.dumps(manifest, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))
        bundle.writestr("LEESMIJ.txt", README.format(name=filename))
    return Bundle(content=buffer.getvalue(), entries=len(selected), tree_size=size, filename=filename)
