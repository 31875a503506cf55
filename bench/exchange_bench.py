"""Benchmark of the full exchange path against the floor, in one run on one machine.

    .venv/bin/python -m bench.exchange_bench [--requests 400]

Starts the Veilig Thuis simulator, the gateway (uvloop + httptools, SQLite, embedded Rego) and a bare FastAPI
passthrough proxy (the floor) as separate processes on loopback, then drives allowed F2 meldingen (token
reused) at concurrency 1 and 32 and prints exchanges/s and p50/p99 latency for both, and their ratio.
Then it times the gateway's parts in process: policy decision, pseudonymisation, minimisation, durable log
append. Bounded in requests and time; loopback only. Figures vary ±15–30 % between runs: compare ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import httpx

ROOT = Path(__file__).resolve().parents[1]
BODY = json.loads((ROOT / "examples" / "melding-f2.json").read_text())


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(argv: list[str], env: dict[str, str], health: str) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(health, timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit(f"did not start: {argv}")


def _native_melding() -> dict[str, Any]:
    """What the floor relays: the VT simulator's native message for the same melding (the floor maps nothing)."""
    sys.path.insert(0, str(ROOT))
    from adapters.veilig_thuis.adapter import encode_message
    from gateway.dossier.model import Gezinsdossier
    from gateway.relay.port import Delivery

    dossier = Gezinsdossier.model_validate(BODY["dossier"]).model_dump(mode="json", exclude_none=True)
    message: dict[str, Any] = encode_message(Delivery("bench", "bench", "wijkteam-utrecht-west", "Buurtteam",
                                                      "vt-utrecht", "melding", "F2", {}, 0, "0" * 32, dossier))
    return message


async def _drive(url: str, headers: dict[str, str], *, concurrency: int, total: int,
                 body: dict[str, Any]) -> dict[str, float]:
    latencies: list[float] = []
    counter = iter(range(total))
    failures = 0

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal failures
        for i in counter:
            started = time.perf_counter()
            async with session.post(url, json=body, headers={**headers, "Idempotency-Key": f"bench-{os.getpid()}-"
                                                             f"{concurrency}-{i}-{time.time_ns()}"}) as response:
                await response.read()
                if response.status >= 300:
                    failures += 1
            latencies.append(time.perf_counter() - started)

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        began = time.perf_counter()
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
        elapsed = time.perf_counter() - began
    latencies.sort()
    return {"rps": total / elapsed, "p50_ms": latencies[len(latencies) // 2] * 1000,
            "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000, "failures": failures}


def _micro() -> dict[str, float]:
    sys.path.insert(0, str(ROOT))
    from sqlmodel import Session

    from gateway.core.database import make_engine, upgrade_to_head
    from gateway.core.types import OrganisationType
    from gateway.dossier.fields import flatten
    from gateway.dossier.model import Gezinsdossier
    from gateway.exchange.records import policy_input
    from gateway.exchange.schemas import ExchangeContext
    from gateway.exchange_log.service import append
    from gateway.policy.bundle import load_bundle
    from gateway.policy.engine import EmbeddedEngine
    from gateway.pseudonymise.keyring import KeyRing, MasterKey
    from gateway.pseudonymise.minimise import FieldRule, minimise
    from gateway.pseudonymise.pseudonyms import Pseudonymiser
    from gateway.registry.organisations import Organisation

    def org(kind: OrganisationType) -> Organisation:
        return Organisation(id=f"{kind.value.replace('_', '-')}-x", type=kind, name="x", oin="0" * 20)

    dossier = Gezinsdossier.model_validate(BODY["dossier"]).model_dump(mode="json", exclude_none=True)
    fields = flatten(dossier)
    engine = EmbeddedEngine(load_bundle(ROOT / "policies"))
    pin = policy_input(pattern="push", sender=org(OrganisationType.WIJKTEAM), recipient=org(
        OrganisationType.VEILIG_THUIS), purpose="melding", professional_role="x",
        context=ExchangeContext.model_validate(BODY["context"]), subject_roles=["kind", "ouder", "melder"],
        requested_categories=[f.category for f in fields], fields=fields, today=dt.date.today())
    p = Pseudonymiser(KeyRing([MasterKey("k1", b"k" * 32)]))
    decision = engine.evaluate(pin)
    rules = {k: FieldRule(v["treatment"], v.get("method")) for k, v in decision["fields"].items()}

    def per_call(fn: Any, n: int) -> float:
        fn()
        start = time.perf_counter()
        for _ in range(n):
            fn()
        return (time.perf_counter() - start) / n * 1e6

    with tempfile.TemporaryDirectory() as tmp:
        db = make_engine(f"sqlite:///{tmp}/bench.db")
        upgrade_to_head(db)

        def log_append() -> None:
            with Session(db) as session:
                append(session, kind="bench", record={"x": 1}, now=dt.datetime.now(dt.UTC))
                session.commit()

        log_us = per_call(log_append, 300)
    return {
        "fields in the dossier": len(fields),
        "policy decision (regorus) µs": per_call(lambda: engine.evaluate(pin), 200),
        "pseudonym (HMAC) µs": per_call(lambda: p.pseudonym("111222333", "org:x"), 5000),
        "minimise whole dossier µs": per_call(lambda: minimise(dossier, fields, rules, pseudonymiser=p,
                                                               recipient_domain="org:x", sender_domain="org:y",
                                                               today=dt.date.today()), 500),
        "durable log append (SQLite WAL, FULL, one commit) µs": log_us,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400)
    args = parser.parse_args()
    py = sys.executable
    work = Path(tempfile.mkdtemp(prefix="gw-bench-"))
    sim_port, gw_port, floor_port = _port(), _port(), _port()
    gw_url = f"http://127.0.0.1:{gw_port}"
    env = {**os.environ, "GATEWAY_SIM_VEILIG_THUIS_URL": f"http://127.0.0.1:{sim_port}",
           "GATEWAY_PUBLIC_URL": gw_url, "GATEWAY_KEYS_DIR": str(work / "keys"),
           "GATEWAY_DATABASE_URL": f"sqlite:///{work / 'gateway.db'}", "GATEWAY_LOG_LEVEL": "WARNING",
           "FLOOR_TARGET": f"http://127.0.0.1:{sim_port}/api/v1/meldingen",
           # One professional sends everything here: lift the rate limits, which would otherwise answer 429.
           "GATEWAY_QUOTA_PROFESSIONAL_BURST": "1000000", "GATEWAY_QUOTA_ORGANISATION_BURST": "1000000"}
    fast = ["--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning"]
    processes = [
        _start([py, "-m", "adapters.simulators", "veilig_thuis", "--port", str(sim_port)], env,
               f"http://127.0.0.1:{sim_port}/health"),
        _start([py, "-m", "uvicorn", "gateway.main:app_factory", "--factory", "--port", str(gw_port), *fast], env,
               f"{gw_url}/readyz"),
        _start([py, "-m", "uvicorn", "bench.floor_proxy:app", "--port", str(floor_port), *fast], env,
               f"http://127.0.0.1:{floor_port}/docs"),
    ]
    try:
        from gateway.auth.client import fetch_token

        token = fetch_token(base_url=gw_url, client_id="wijkteam-utrecht-west-cms",
                            private_key_path=work / "keys" / "clients" / "wijkteam-utrecht-west-cms.pem")
        auth = {"Authorization": f"Bearer {token}"}
        native = _native_melding()
        print(f"{'path':<34}{'conc':>5}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'fail':>6}")
        for concurrency in (1, 32):
            floor = asyncio.run(_drive(f"http://127.0.0.1:{floor_port}/relay", {}, concurrency=concurrency,
                                       total=args.requests, body=native))
            full = asyncio.run(_drive(f"{gw_url}/v1/exchanges/push", auth, concurrency=concurrency,
                                      total=args.requests, body=BODY))
            for name, r in (("floor: bare passthrough proxy", floor), ("gateway: full exchange path", full)):
                print(f"{name:<34}{concurrency:>5}{r['rps']:>9.0f}{r['p50_ms']:>9.2f}{r['p99_ms']:>9.2f}"
                      f"{r['failures']:>6.0f}")
            print(f"{'  ratio gateway/floor':<34}{concurrency:>5}{full['rps'] / floor['rps']:>9.2f}"
                  f"{full['p50_ms'] / floor['p50_ms']:>9.2f}{full['p99_ms'] / floor['p99_ms']:>9.2f}")
    finally:
        for process in processes:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=10)
    print()
    for name, value in _micro().items():
        print(f"{name:<56}{value:>10.1f}")


if __name__ == "__main__":
    main()
