"""Micro-benchmarks of the exchange path's parts, in process: policy decision, pseudonymisation, minimisation,
durable log append (SQLite and PostgreSQL), a span, and `gateway log verify` records/s.

    .venv/bin/python -m bench.micro_bench [--postgresql-url URL] [--opa-url URL] [--verify-records 20000]

Each part is called many times; the figure printed is the median (p50) of per-call times, with p99 where the
spread matters. Not a test: it prints figures. `bench.exchange_bench --micro` runs it with the same servers.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BODY = json.loads((ROOT / "examples" / "melding-f2.json").read_text())


def _percentiles(samples: list[float]) -> tuple[float, float]:
    samples.sort()
    return statistics.median(samples) * 1e6, samples[max(0, int(len(samples) * 0.99) - 1)] * 1e6


def per_call(fn: Callable[[], Any], n: int) -> tuple[float, float]:
    """p50 and p99 in µs of n calls, after a warm-up call."""
    fn()
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return _percentiles(samples)


async def per_call_async(fn: Callable[[], Awaitable[Any]], n: int) -> tuple[float, float]:
    await fn()
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        await fn()
        samples.append(time.perf_counter() - started)
    return _percentiles(samples)


def _policy_input() -> tuple[dict[str, Any], dict[str, Any], list[Any]]:
    from gateway.core.types import OrganisationType
    from gateway.dossier.fields import flatten
    from gateway.dossier.model import Gezinsdossier
    from gateway.exchange.records import policy_input
    from gateway.exchange.schemas import ExchangeContext
    from gateway.registry.organisations import Organisation

    def org(kind: OrganisationType) -> Organisation:
        return Organisation(id=f"{kind.value.replace('_', '-')}-x", type=kind, name="x", oin="0" * 20)

    dossier = Gezinsdossier.model_validate(BODY["dossier"]).model_dump(mode="json", exclude_none=True)
    fields = flatten(dossier)
    pin = policy_input(pattern="push", sender=org(OrganisationType.WIJKTEAM), recipient=org(
        OrganisationType.VEILIG_THUIS), purpose="melding", professional_role="x",
        context=ExchangeContext.model_validate(BODY["context"]), subject_roles=["kind", "ouder", "melder"],
        requested_categories=[f.category for f in fields], fields=fields, today=dt.date.today())
    return pin, dossier, fields


def _log_append(url: str, n: int) -> tuple[float, float]:
    from sqlmodel import Session

    from gateway.core.database import make_engine, upgrade_to_head
    from gateway.exchange_log.service import append

    sample = json.loads((Path(__file__).parent / "log_record_sample.json").read_text(encoding="utf-8"))["exchange"]
    db = make_engine(url)
    upgrade_to_head(db)

    def one() -> None:
        with Session(db) as session:
            append(session, kind="exchange", record=sample, now=dt.datetime.now(dt.UTC))
            session.commit()

    try:
        return per_call(one, n)
    finally:
        db.dispose()


async def _policy(pin: dict[str, Any], opa_url: str | None) -> dict[str, tuple[float, float]]:
    """A decision on a cache hit, on a miss (one evaluation per field class, cache off) and, for comparison,
    the evaluation of every concrete field that `decide()` made before field classes and the cache. The
    OPA-server engine keeps no cache: its line is a decision per field class through the stand-in."""
    import uuid

    from gateway.policy.bundle import load_bundle
    from gateway.policy.decisions import validated
    from gateway.policy.engine import EmbeddedEngine, OpaServerEngine
    from gateway.policy.field_classes import compact

    bundle = load_bundle(ROOT / "policies")
    embedded, uncached = EmbeddedEngine(bundle), EmbeddedEngine(bundle, decision_cache_size=0)
    classes = compact(pin["fields"])
    shape = f"F2: {len(pin['fields'])} fields, {classes.classes if classes else '?'} classes"

    def before() -> Any:
        decision = validated(embedded.evaluate(pin))
        decision.decision_id = str(uuid.uuid4())
        return decision

    out = {
        f"policy decision, embedded regorus, cache hit (decide(), {shape})": await per_call_async(
            lambda: embedded.decide(pin), 2000),
        "policy decision, embedded regorus, cache miss (decide(), per field class, cache off)": (
            await per_call_async(lambda: uncached.decide(pin), 500)),
        "policy decision, embedded regorus, before: every field evaluated, no cache": per_call(before, 500),
    }
    if opa_url:
        opa = OpaServerEngine(url=opa_url, bundle_hash=bundle.hash, tls_verify=False, ca_file=None, timeout=5)
        try:
            await opa.activate(bundle)  # what the gateway does at start: then it decides per field class
            out["policy decision, OPA REST stand-in over loopback HTTP (NOT the OPA binary), per field class"] = (
                await per_call_async(lambda: opa.decide(pin), 300))
        finally:
            await opa.aclose()
    return out


def _span_cost() -> tuple[float, float]:
    from gateway.core import telemetry
    from gateway.core.telemetry import Telemetry

    tracing = Telemetry(service_name="bench", service_version="0", environment="development",
                        export_from_environment=False)

    def one() -> None:
        with telemetry.span("gateway.log.append", {"gateway.log.kind": "exchange", "gateway.exchange.id": "x"}):
            pass

    with tracing.activated():
        return per_call(one, 20_000)


def _verify_rate(records: int) -> float:
    from bench import log_verify_bench as lvb
    from gateway.exchange_log import verify as verifier
    from gateway.pseudonymise.signing import Signer

    signer = Signer.generate()
    with tempfile.TemporaryDirectory(prefix="micro-verify-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'log.db'}"
        lvb.build(url, records)
        note, _ = lvb.sign(url, signer)
        report, seconds = lvb.timed_verify(verifier.rows_from_database(url), note, signer.public_key)
        assert report.ok, report.lines()
        return report.rows / seconds


def run(*, postgresql_url: str | None, opa_url: str | None, verify_records: int) -> list[tuple[str, str]]:
    from gateway.pseudonymise.keyring import KeyRing, MasterKey
    from gateway.pseudonymise.minimise import FieldRule, minimise
    from gateway.pseudonymise.pseudonyms import Pseudonymiser

    pin, dossier, fields = _policy_input()
    rows: list[tuple[str, tuple[float, float]]] = list(asyncio.run(_policy(pin, opa_url)).items())
    from gateway.policy.bundle import load_bundle
    from gateway.policy.engine import EmbeddedEngine

    decision = EmbeddedEngine(load_bundle(ROOT / "policies")).evaluate(pin)
    rules = {k: FieldRule(v["treatment"], v.get("method")) for k, v in decision["fields"].items()}
    p = Pseudonymiser(KeyRing([MasterKey("k1", b"k" * 32)]))
    rows.append(("pseudonym of one BSN (HMAC-SHA256, derived key cached)",
                 per_call(lambda: p.pseudonym("111222333", "org:x"), 20_000)))
    rows.append((f"minimise the whole dossier ({len(fields)} fields: pass/pseudonymise/generalise/drop)",
                 per_call(lambda: minimise(dossier, fields, rules, pseudonymiser=p, recipient_domain="org:x",
                                           sender_domain="org:y", today=dt.date.today()), 1000)))
    with tempfile.TemporaryDirectory(prefix="micro-log-") as tmp:
        rows.append(("log append, 14.5 KB record, own commit: SQLite WAL synchronous=FULL",
                     _log_append(f"sqlite:///{Path(tmp) / 'log.db'}", 300)))
    if postgresql_url:
        rows.append(("log append, 14.5 KB record, own commit: PostgreSQL 15 (fsync on)",
                     _log_append(postgresql_url, 300)))
    rows.append(("one span (SDK, recorded, no exporter)", _span_cost()))
    out = [(name, f"{p50:,.1f} µs (p99 {p99:,.1f})") for name, (p50, p99) in rows]
    out.append((f"gateway log verify, {verify_records:,} records (SQLite)",
                f"{_verify_rate(verify_records):,.0f} records/s"))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgresql-url")
    parser.add_argument("--opa-url")
    parser.add_argument("--verify-records", type=int, default=20_000)
    args = parser.parse_args()
    for name, value in run(postgresql_url=args.postgresql_url, opa_url=args.opa_url,
                           verify_records=args.verify_records):
        print(f"{name:<92}{value:>28}")


if __name__ == "__main__":
    main()
