"""Benchmark of `gateway log verify`: how many log records per second the independent verifier checks.

    .venv/bin/python -m bench.log_verify_bench [--records 100000]

Builds a temporary SQLite log through the real append path (`exchange_log.service.append`, the gateway's
canonical serialisation and hash chain): alternately an exchange record and a delivery record, copied from a
real F2 melding's records (`bench/log_record_sample.json`, about 14.5 KB and 0.5 KB of canonical JSON; test
data, pseudonyms only) with fresh ids. Then it signs a checkpoint and times the verifier over the database
(recompute every leaf hash, positions, hash chain, Merkle root, signature), and over an export file.
Not a test: it prints figures. The temporary directory is removed at the end.
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import json
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from sqlmodel import Session

from gateway.core.database import make_engine, upgrade_to_head
from gateway.exchange_log import service as log_service
from gateway.exchange_log import verify as verifier
from gateway.exchange_log.checkpoint import verifier_key
from gateway.pseudonymise.signing import Signer

SAMPLE = json.loads((Path(__file__).parent / "log_record_sample.json").read_text(encoding="utf-8"))
ORIGIN = "kgb-gateway/bench.local"
_BATCH = 5_000


def _records(count: int) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for index in range(count):
        kind = "exchange" if index % 2 == 0 else "delivery"
        record = copy.copy(SAMPLE[kind])  # shallow: only top-level ids change
        record["exchange_id"] = str(uuid.uuid4())
        record["trace_id"] = uuid.uuid4().hex
        if kind == "delivery":
            record["refers_to"] = index - 1
        out.append((kind, record))
    return out


def build(url: str, count: int) -> tuple[float, int]:
    engine = make_engine(url)
    upgrade_to_head(engine)
    now = dt.datetime(2026, 11, 22, tzinfo=dt.UTC)
    records = _records(count)
    started = time.perf_counter()
    try:
        for start in range(0, count, _BATCH):
            with Session(engine) as session:
                for kind, record in records[start:start + _BATCH]:
                    log_service.append(session, kind=kind, record=record, now=now)
                session.commit()
    finally:
        engine.dispose()
    return time.perf_counter() - started, Path(url.removeprefix("sqlite:///")).stat().st_size


def sign(url: str, signer: Signer) -> tuple[str, float]:
    engine = make_engine(url)
    started = time.perf_counter()
    try:
        with Session(engine, expire_on_commit=False) as session:
            row = log_service.issue_checkpoint(session, signer=signer, origin=ORIGIN,
                                               now=dt.datetime.now(dt.UTC))
            session.commit()
    finally:
        engine.dispose()
    return row.note, time.perf_counter() - started


def timed_verify(rows: Any, note: str, public_key: bytes) -> tuple[verifier.Report, float]:
    started = time.perf_counter()
    report = verifier.verify(rows, note_text=note, public_key=public_key, key_name=ORIGIN)
    return report, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=100_000)
    args = parser.parse_args()
    signer = Signer.generate()
    with tempfile.TemporaryDirectory(prefix="log-verify-bench-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'log.db'}"
        build_seconds, size = build(url, args.records)
        print(f"built {args.records:,} records through append() in {build_seconds:.1f} s "
              f"({size / 1e6:,.0f} MB SQLite)")
        note, sign_seconds = sign(url, signer)
        print(f"checkpoint over {args.records:,} leaves (root + Ed25519) in {sign_seconds:.2f} s")
        assert verifier_key(ORIGIN, signer.public_key)
        report, seconds = timed_verify(verifier.rows_from_database(url), note, signer.public_key)
        assert report.ok, report.lines()
        print(f"verify (database): {report.rows:,} records in {seconds:.2f} s = {report.rows / seconds:,.0f} "
              "records/s")
        export = Path(tmp) / "log.jsonl"
        verifier.write_export(verifier.rows_from_database(url), export)
        report, seconds = timed_verify(verifier.rows_from_export(export), note, signer.public_key)
        assert report.ok, report.lines()
        print(f"verify (export):   {report.rows:,} records in {seconds:.2f} s = {report.rows / seconds:,.0f} "
              "records/s")


if __name__ == "__main__":
    main()
