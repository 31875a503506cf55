"""Verify an export bundle offline: no database, no gateway — the bundle, and a public key you trust.

For every exported entry: its leaf hash is recomputed from the entry text (a purged entry's stub is accepted as
purged: its content is gone, its leaf is still proven), its inclusion proof must lead to the root in the signed
checkpoint, and the CSV's readable columns must say what the entry says. The checkpoint's signature must verify
with the key. Each failure names the position and what failed.
"""

from __future__ import annotations

import csv
import hashlib
import io
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from gateway.exchange_log import merkle
from gateway.exchange_log.checkpoint import Checkpoint, NoteError, parse_note
from gateway.exchange_log.export import CSV_COLUMNS, summary
from gateway.exchange_log.purged import parse_stub
from gateway.exchange_log.verify import Finding, load_public_key


class BundleError(ValueError):
    """The bundle cannot be read (not a zip, a file missing, malformed JSON or CSV)."""


@dataclass
class BundleReport:
    entries: int = 0
    tree_size: int | None = None
    purged: list[int] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings

    def lines(self) -> list[str]:
        verdict = "export verified" if self.ok else f"export NOT verified: {len(self.findings)} finding(s)"
        size = "" if self.tree_size is None else f", checkpoint tree size {self.tree_size}"
        purged = (f"note: {len(self.purged)} entr{'y was' if len(self.purged) == 1 else 'ies were'} purged under "
                  f"retention (content gone, leaf proven): positions {', '.join(map(str, self.purged))}"
                  if self.purged else None)
        return [f"{verdict} ({self.entries} entries{size})", *(f.line() for f in self.findings),
                *([purged] if purged else []), *self.notes]


@dataclass(frozen=True)
class _Exported:
    position: int
    entry: bytes
    leaf_hash: str
    columns: dict[str, str] | None = None  # CSV only


def _read(bundle: zipfile.ZipFile, name: str) -> bytes:
    try:
        return bundle.read(name)
    except KeyError as exc:
        raise BundleError(f"the bundle has no {name}") from exc


def _entries(bundle: zipfile.ZipFile) -> list[_Exported]:
    names = set(bundle.namelist())
    try:
        if "entries.jsonl" in names:
            out = []
            for line in _read(bundle, "entries.jsonl").splitlines():
                if line.strip():
                    raw = orjson.loads(line)
                    out.append(_Exported(int(raw["position"]), str(raw["entry"]).encode(), str(raw["leaf_hash"])))
            return out
        reader = csv.DictReader(io.StringIO(_read(bundle, "entries.csv").decode()))
        if tuple(reader.fieldnames or ()) != CSV_COLUMNS:
            raise BundleError("entries.csv does not have the export's columns")
        return [_Exported(int(row["position"]), row["entry"].encode(), row["leaf_hash"], row) for row in reader]
    except (orjson.JSONDecodeError, KeyError, ValueError, UnicodeDecodeError) as exc:
        raise BundleError("the entries file is malformed") from exc


def _proofs(bundle: zipfile.ZipFile) -> dict[int, list[bytes]]:
    try:
        raw: dict[str, Any] = orjson.loads(_read(bundle, "proofs.json"))
        return {int(p["position"]): [bytes.fromhex(h) for h in p["path"]] for p in raw["proofs"]}
    except (orjson.JSONDecodeError, KeyError, ValueError, TypeError) as exc:
        raise BundleError("proofs.json is malformed") from exc


def _checkpoint(bundle: zipfile.ZipFile, key_text: str | None, report: BundleReport) -> Checkpoint | None:
    try:
        note = parse_note(_read(bundle, "checkpoint.txt").decode())
        checkpoint = note.checkpoint()
    except (NoteError, UnicodeDecodeError):
        report.findings.append(Finding("checkpoint", None, "checkpoint.txt is not a signed checkpoint"))
        return None
    bundled = _read(bundle, "public-key").decode() if "public-key" in bundle.namelist() else None
    text = key_text if key_text is not None else bundled
    if text is None:
        report.findings.append(Finding("signature", None, "no public key: pass --public-key"))
        return checkpoint
    if key_text is None:
        report.notes.append("note: checked with the key inside the bundle; pass --public-key with a key you hold "
                            "from another source to rule out a forged bundle")
    name, public_key = load_public_key(text)
    if name not in (None, checkpoint.origin) or not note.verified_by(checkpoint.origin, public_key):
        report.findings.append(Finding("signature", None, "the checkpoint's signature does not verify with this "
                                       "public key: the checkpoint (and every proof against it) cannot be trusted"))
    elif bundled is not None and key_text is not None and load_public_key(bundled)[1] != public_key:
        report.notes.append("note: the bundle's own public-key file differs from the key you passed")
    return checkpoint


def _check_entry(item: _Exported, proof: list[bytes] | None, checkpoint: Checkpoint | None,
                 report: BundleReport) -> None:
    digest = hashlib.sha256(b"\x00" + item.entry).hexdigest()
    stub = parse_stub(item.entry) if digest != item.leaf_hash else None
    if digest != item.leaf_hash and stub is None:
        report.findings.append(Finding("altered", item.position, "the entry does not hash to its leaf hash: the "
                                       "entry (or the hash) was changed"))
        return
    claimed = stub.position if stub else _claimed_position(item.entry)
    if claimed != item.position:
        report.findings.append(Finding("reordered", item.position, f"the entry says it is position {claimed}"))
    if stub is not None:
        report.purged.append(item.position)
    if item.columns is not None:
        expected = summary(item.entry)
        wrong = [c for c, v in expected.items() if item.columns.get(c, "") != str(v)]
        if wrong:
            report.findings.append(Finding("altered", item.position, f"CSV column(s) {', '.join(wrong)} do not "
                                           "match the entry"))
    if checkpoint is None:
        return
    if proof is None:
        report.findings.append(Finding("proof", item.position, "no inclusion proof for this entry"))
    elif not merkle.verify_inclusion(index=item.position, tree_size=checkpoint.tree_size,
                                     leaf=bytes.fromhex(item.leaf_hash), proof=proof,
                                     root_hash=checkpoint.root_hash):
        report.findings.append(Finding("proof", item.position, "the inclusion proof does not lead to the signed "
                                       "root: the entry is not in the log as signed, or the proof was changed"))


def _claimed_position(entry: bytes) -> int | None:
    try:
        value = orjson.loads(entry).get("position")
    except (orjson.JSONDecodeError, AttributeError):
        return None
    return value if isinstance(value, int) else None


def verify_bundle(path: Path, *, public_key_text: str | None = None) -> BundleReport:
    """Check a bundle file; `public_key_text` is a key the verifier holds (else the bundle's own is used)."""
    report = BundleReport()
    try:
        with zipfile.ZipFile(path) as bundle:
            checkpoint = _checkpoint(bundle, public_key_text, report)
            entries, proofs = _entries(bundle), _proofs(bundle)
    except zipfile.BadZipFile as exc:
        raise BundleError("not a zip file") from exc
    report.entries = len(entries)
    report.tree_size = checkpoint.tree_size if checkpoint else None
    for item in entries:
        if _valid_leaf(item.leaf_hash):
            _check_entry(item, proofs.get(item.position), checkpoint, report)
        else:
            report.findings.append(Finding("altered", item.position, "the leaf hash is not a SHA-256 hex digest"))
    extra = sorted(set(proofs) - {e.position for e in entries})
    report.notes.extend(f"note: proof for position {p} without an exported entry" for p in extra)
    report.findings.sort(key=lambda f: (-1 if f.position is None else f.position, f.kind))
    return report


def _valid_leaf(value: str) -> bool:
    return len(value) == 64 and all(c in "0123456789abcdef" for c in value)
