"""The independent log verifier: checks a database or an export against a signed checkpoint and public key.

It trusts nothing it reads from the log. Each leaf hash is recomputed from its entry; each entry's own
`position` and `prev_leaf_hash` (both covered by its hash) say where it belongs and what came before it, which
locates an entry that was altered, removed, inserted or reordered; and the Merkle root of the first `tree size`
entries must equal the root the gateway signed. Someone with SQL access can rewrite an entry, its stored hash
and the chain after it, but not the signed root: that still fails, and signed checkpoints kept in the database
narrow down where. Importable without the web app; streams rows so 100,000 entries verify in seconds.

Retention purges (gateway/exchange_log/retention.py) replace an entry's content by a stub but keep its leaf hash.
A stub is accepted as *purged* only when an intact `retention_purge` entry — covered by the checkpoint — names its
position and that leaf hash; any other stub is an entry hidden, not purged, and is reported as such.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import orjson
from sqlalchemy import Engine, create_engine, inspect, text

from gateway.exchange_log.checkpoint import Checkpoint, NoteError, SignedNote, parse_note, parse_verifier_key
from gateway.exchange_log.merkle import RootBuilder
from gateway.exchange_log.purged import parse_stub, purge_claims
from gateway.exchange_log.service import GENESIS_LINK
from gateway.pseudonymise import signing

_STREAM_BATCH = 5_000
_READ_BUFFER = 1 << 20
_POSITION_KEY = b'"position":'
_CLAIMS = re.compile(rb'"position":(\d{1,18}),"prev_leaf_hash":"([0-9a-f]{64})"')
_VERIFIER_KEY = re.compile(r"^[^+\s]+\+[0-9a-f]{8}\+")


class Row(NamedTuple):
    position: int
    entry: bytes  # the canonical JSON exactly as stored, UTF-8
    leaf_hash: str


@dataclass(frozen=True)
class Finding:
    kind: str  # altered | removed | inserted | reordered | truncated | unproven-purge | root-mismatch | signature
    position: int | None
    message: str

    def line(self) -> str:
        where = f" position {self.position}" if self.position is not None else ""
        return f"{self.kind.upper()}{where}: {self.message}"


@dataclass
class Report:
    rows: int = 0
    tree_size: int | None = None
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    purged: int = 0  # entries accepted as purged under retention

    @property
    def ok(self) -> bool:
        return not self.findings

    def lines(self) -> list[str]:
        verdict = "log verified" if self.ok else f"log NOT verified: {len(self.findings)} finding(s)"
        size = "" if self.tree_size is None else f", checkpoint tree size {self.tree_size}"
        purged = [f"note: {self.purged} entries were purged under retention (content removed, leaf kept, purge "
                  "logged)"] if self.purged else []
        return [f"{verdict} ({self.rows} entries{size})", *(f.line() for f in self.findings), *purged,
                *self.notes]


@dataclass
class _Scan:
    """What one streaming pass over the rows leaves for the analysis (small per row: ints and 32-byte hashes)."""

    claimed: list[int | None] = field(default_factory=list)
    hashes: list[bytes] = field(default_factory=list)
    links: list[str | None] = field(default_factory=list)
    row_positions: list[int] = field(default_factory=list)
    stored_mismatch: list[int] = field(default_factory=list)
    roots: dict[int, bytes] = field(default_factory=dict)
    stubs: list[int] = field(default_factory=list)  # rows holding a purge stub (their stored leaf is used)
    purges: dict[int, tuple[int, str]] = field(default_factory=dict)  # purged position → (purge row, leaf hash)


def database_engine(url: str) -> Engine:
    # Plain engines (no pragmas, no migrations): the verifier only reads. Same URL forms as the gateway.
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return create_engine(url)


def rows_from_database(url: str) -> Iterator[Row]:
    """Stream the log in position order.

    SQLite hands out the entry as bytes (CAST AS BLOB): decoding 15 KB of UTF-8 per row only to encode it again
    for hashing costs more than reading it.
    """
    engine = database_engine(url)
    entry = "CAST(entry AS BLOB)" if engine.dialect.name == "sqlite" else "entry"
    try:
        with engine.connect() as connection:
            result = connection.execution_options(stream_results=True, yield_per=_STREAM_BATCH).exec_driver_sql(
                f"SELECT position, {entry}, leaf_hash FROM exchange_log ORDER BY position")  # noqa: S608 - fixed
            for position, value, stored in result:
                yield Row(int(position), value if isinstance(value, bytes) else str(value).encode(), str(stored))
    finally:
        engine.dispose()


def checkpoints_from_database(url: str) -> list[str]:
    """Signed notes kept by the gateway; each is used only if it verifies with the trusted key."""
    engine = database_engine(url)
    try:
        with engine.connect() as connection:
            if not inspect(connection).has_table("log_checkpoint"):
                return []
            return [str(n) for n in connection.execute(text("SELECT note FROM log_checkpoint ORDER BY tree_size"))
                    .scalars()]
    finally:
        engine.dispose()


def rows_from_export(path: Path) -> Iterator[Row]:
    # A large buffer: lines of 15 KB would otherwise be pieced together from 8 KB reads.
    with path.open("rb", buffering=_READ_BUFFER) as handle:
        for line in handle:
            if line.strip():
                raw = orjson.loads(line)
                yield Row(int(raw["position"]), str(raw["entry"]).encode(), str(raw["leaf_hash"]))


def write_export(rows: Iterable[Row], out: Path) -> int:
    count = 0
    with out.open("wb") as handle:
        for row in rows:
            handle.write(orjson.dumps({"position": row.position, "entry": row.entry.decode(),
                                       "leaf_hash": row.leaf_hash}) + b"\n")
            count += 1
    return count


def load_public_key(text_value: str) -> tuple[str | None, bytes]:
    """A C2SP verifier key (`name+id+key`), a PEM public key, or base64 of the raw 32-byte key."""
    value = text_value.strip()
    if value.startswith("-----BEGIN"):
        return None, signing.public_key_from_pem(value.encode())
    if _VERIFIER_KEY.match(value):
        try:
            return parse_verifier_key(value)
        except NoteError:
            pass  # a raw base64 key can look like one by chance; try it as such
    try:
        raw = base64.b64decode(value, validate=True)
    except binascii.Error as exc:
        raise NoteError("public key is neither a verifier key, PEM nor base64") from exc
    if len(raw) != signing.PUBLIC_KEY_SIZE:
        raise NoteError("public key is not a 32-byte Ed25519 key")
    return None, raw


def verify(rows: Iterable[Row], *, note_text: str | None, public_key: bytes | None,
           key_name: str | None = None, history: Sequence[str] = ()) -> Report:
    """Check every row, and (with a checkpoint) the signed root; `history` holds older signed notes."""
    report = Report()
    note = _trusted_note(note_text, public_key, key_name, report) if note_text is not None else None
    checkpoint = note.checkpoint() if note else None
    older = [n.checkpoint() for n in _trusted_history(history, public_key, key_name)]
    sizes = {c.tree_size for c in older} | ({checkpoint.tree_size} if checkpoint else set())
    scan = _scan(rows, sizes)
    report.rows = len(scan.hashes)
    report.findings.extend(_locate(scan))
    purge_findings = _unproven_purges(scan, checkpoint.tree_size if checkpoint else None)
    report.findings.extend(purge_findings)
    report.purged = len(scan.stubs) - len(purge_findings)
    if checkpoint is not None:
        report.tree_size = checkpoint.tree_size
        report.findings.extend(_check_root(scan, checkpoint, older, localised=bool(report.findings)))
        beyond = report.rows - checkpoint.tree_size
        if beyond > 0:
            report.notes.append(f"note: {beyond} entries after the checkpoint are checked only by their hashes "
                                "and chain; verify against a newer checkpoint to cover them")
    return report


def _trusted_note(note_text: str, public_key: bytes | None, key_name: str | None, report: Report) -> SignedNote:
    note = parse_note(note_text)
    origin = note.checkpoint().origin
    if public_key is None or (key_name not in (None, origin)) or not note.verified_by(origin, public_key):
        report.findings.append(Finding("signature", None, "the checkpoint's signature does not verify with this "
                                       "public key: the checkpoint (and its root) cannot be trusted"))
    return note


def _trusted_history(history: Sequence[str], public_key: bytes | None, key_name: str | None) -> list[SignedNote]:
    trusted = []
    for text_value in history:
        try:
            note = parse_note(text_value)
            origin = note.checkpoint().origin
        except NoteError:
            continue
        if public_key is not None and key_name in (None, origin) and note.verified_by(origin, public_key):
            trusted.append(note)
    return trusted


def _scan(rows: Iterable[Row], sizes: set[int]) -> _Scan:
    scan, builder = _Scan(), RootBuilder()
    leaf_prefix = hashlib.sha256(b"\x00")  # copied per row: cheaper than concatenating 15 KB
    if 0 in sizes:
        scan.roots[0] = builder.root()
    previous = GENESIS_LINK
    for row in rows:
        entry = row.entry
        hasher = leaf_prefix.copy()
        hasher.update(entry)
        digest = hasher.digest()
        if digest.hex() != row.leaf_hash:
            digest = _stub_leaf(scan, row, digest)
        elif entry.startswith(b'{"kind":"retention_purge",'):
            for position, hashed in (purge_claims(entry) or {}).items():
                scan.purges[position] = (len(scan.hashes), hashed)
        builder.append(digest)
        if builder.size in sizes:
            scan.roots[builder.size] = builder.root()
        claimed, link = _claims(entry, len(scan.hashes), previous)
        scan.claimed.append(claimed)
        scan.links.append(link)
        scan.hashes.append(digest)
        scan.row_positions.append(row.position)
        previous = digest.hex()
    return scan


def _stub_leaf(scan: _Scan, row: Row, digest: bytes) -> bytes:
    """A purge stub stands in for its stored leaf hash (to be confirmed by a purge entry); else a mismatch."""
    if parse_stub(row.entry) is not None and len(row.leaf_hash) == 64:
        try:
            stored = bytes.fromhex(row.leaf_hash)
        except ValueError:
            stored = b""
        if stored:
            scan.stubs.append(len(scan.hashes))
            return stored
    scan.stored_mismatch.append(len(scan.hashes))
    return digest


def _unproven_purges(scan: _Scan, tree_size: int | None) -> list[Finding]:
    """Stubs no intact, covered retention_purge entry accounts for: content hidden, not purged."""
    findings = []
    bad = set(scan.stored_mismatch) | set(scan.stubs)
    for i in scan.stubs:
        position = scan.claimed[i]
        claim = scan.purges.get(position) if position is not None else None
        if claim is None or claim[0] in bad or scan.claimed[claim[0]] != scan.row_positions[claim[0]]:
            why = "no intact retention_purge entry in the log names it"
        elif claim[1] != scan.hashes[i].hex():
            why = f"the retention_purge entry at {scan.claimed[claim[0]]} recorded another leaf hash for it"
        elif tree_size is not None and (scan.claimed[claim[0]] or 0) >= tree_size:
            why = (f"its retention_purge entry at {scan.claimed[claim[0]]} lies beyond the checkpoint; verify "
                   "against a checkpoint signed after the purge")
        else:
            continue
        findings.append(Finding("unproven-purge", scan.row_positions[i], f"the entry's content was removed, but "
                                f"{why}: the entry is hidden, not purged under retention"))
    return findings


def _claims(entry: bytes, expected_position: int, expected_link: str) -> tuple[int | None, str | None]:
    """The entry's own `position` and `prev_leaf_hash`.

    Parsing 15 KB of JSON per entry would dominate the run, so a fast path reads the two keys from the text:
    a `"position":` whose quotes are unescaped can only be a key, and when it occurs once and is followed by the
    link (the canonical key order), the values are taken — but only when they are the expected ones. Anything
    unexpected is parsed in full, so what is reported about a suspicious entry never rests on the shortcut.
    """
    start = entry.find(_POSITION_KEY)
    if start >= 0 and entry.find(_POSITION_KEY, start + 1) < 0:
        match = _CLAIMS.match(entry, start)
        if match and int(match[1]) == expected_position and match[2].decode() == expected_link:
            return expected_position, expected_link
    try:
        body = orjson.loads(entry)
        claimed, link = body.get("position"), body.get("prev_leaf_hash")
    except (orjson.JSONDecodeError, AttributeError):
        return None, None
    valid = isinstance(claimed, int) and not isinstance(claimed, bool) and claimed >= 0
    return (claimed if valid else None), (link if isinstance(link, str) else None)


def _locate(scan: _Scan) -> list[Finding]:
    findings = [Finding("altered", scan.row_positions[i], "the entry does not match its stored leaf hash: "
                        "the entry (or the hash) was changed") for i in scan.stored_mismatch]
    inserted = _inserted(scan, findings)
    owner = {scan.claimed[i]: i for i in range(len(scan.claimed)) if i not in inserted}
    top = max((c for c in owner if c is not None), default=-1)
    missing = [p for p in range(top + 1) if p not in owner]
    findings.extend(Finding("removed", p, "no entry claims this position: it was removed") for p in missing)
    findings.extend(_reordered(scan, inserted))
    findings.extend(_chain_breaks(scan, owner, set(scan.stored_mismatch), set(missing)))
    findings.extend(_renumbered(scan, inserted))
    return sorted(findings, key=lambda f: (-1 if f.position is None else f.position, f.kind))


def _inserted(scan: _Scan, findings: list[Finding]) -> set[int]:
    """Rows that are not entries of this log: no position of their own, or a second claim to a taken one."""
    by_claim: dict[int, list[int]] = {}
    inserted: set[int] = set()
    for i, claimed in enumerate(scan.claimed):
        if claimed is None:
            inserted.add(i)
        else:
            by_claim.setdefault(claimed, []).append(i)
    successors = {scan.claimed[i]: scan.links[i] for i in range(len(scan.claimed))}
    for claimed, holders in by_claim.items():
        if len(holders) > 1:
            # The genuine holder is the one the next entry links to; without a next entry, the first one.
            link = successors.get(claimed + 1)
            genuine = next((i for i in holders if scan.hashes[i].hex() == link), holders[0])
            inserted.update(i for i in holders if i != genuine)
    findings.extend(Finding("inserted", scan.row_positions[i], "this row is not an entry of the log at this place "
                            "(it claims no position, or one another entry holds)") for i in sorted(inserted))
    return inserted


def _reordered(scan: _Scan, inserted: set[int]) -> list[Finding]:
    findings, previous = [], -1
    for i, claimed in enumerate(scan.claimed):
        if i in inserted or claimed is None:
            continue
        if claimed < previous:
            findings.append(Finding("reordered", scan.row_positions[i], f"holds the entry of position {claimed}, "
                                    f"stored after the entry of position {previous}: the order was changed"))
        previous = max(previous, claimed)
    return findings


def _chain_breaks(scan: _Scan, owner: dict[int | None, int], altered: set[int], missing: set[int]) -> list[Finding]:
    """An entry whose link does not match its predecessor's recomputed hash names that predecessor as changed."""
    findings = []
    for claimed, i in owner.items():
        if claimed is None or claimed - 1 in missing:
            continue
        expected = GENESIS_LINK if claimed == 0 else scan.hashes[owner[claimed - 1]].hex()
        if scan.links[i] == expected or (claimed > 0 and owner[claimed - 1] in altered):
            continue
        where = claimed - 1 if claimed > 0 else 0
        findings.append(Finding("altered", where, f"the hash chain breaks before position {claimed}: this entry "
                                f"was changed and its leaf hash recomputed (or the link in {claimed} was changed)"))
    return findings


def _renumbered(scan: _Scan, inserted: set[int]) -> list[Finding]:
    """Rows whose position column disagrees with the entry's own, when nothing else explains it (one finding)."""
    for i, claimed in enumerate(scan.claimed):
        if i not in inserted and claimed is not None and claimed != scan.row_positions[i] and claimed == i:
            return [Finding("reordered", scan.row_positions[i], f"the row's position column says "
                            f"{scan.row_positions[i]} but the entry is position {claimed}")]
    return []


def _check_root(scan: _Scan, checkpoint: Checkpoint, older: list[Checkpoint], *, localised: bool) -> list[Finding]:
    size = checkpoint.tree_size
    if len(scan.hashes) < size:
        top = max((c for c in scan.claimed if c is not None), default=-1)
        if top + 1 < size:
            return [Finding("truncated", top + 1, f"the checkpoint covers {size} entries: positions {top + 1} to "
                            f"{size - 1} were removed from the end of the log")]
        return [Finding("root-mismatch", None, f"the checkpoint covers {size} entries but the log holds "
                        f"{len(scan.hashes)}: entries were removed")]
    if scan.roots.get(size) == checkpoint.root_hash:
        return []
    good = max((c.tree_size for c in older if c.tree_size < size and scan.roots.get(c.tree_size) == c.root_hash),
               default=0)
    bad = min((c.tree_size for c in older if good < c.tree_size <= size
               and scan.roots.get(c.tree_size) != c.root_hash), default=size)
    where = f"the first change lies in positions {good} to {bad - 1} (older signed checkpoints narrow it down)"
    hint = "" if localised else "; the hash chain was rewritten too, so only the signed roots can place it"
    return [Finding("root-mismatch", good, f"the first {size} entries do not produce the signed root: an entry "
                    f"was altered, removed, inserted or reordered; {where}{hint}")]
