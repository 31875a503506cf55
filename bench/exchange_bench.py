"""Benchmark of the full exchange path against the floor, in one run on one machine.

    .venv/bin/python -m bench.exchange_bench [--requests 300] [--repeat 3] [--backends sqlite,postgresql]
                                             [--engines embedded,opa] [--micro] [--transport aiohttp|httpx]
                                             [--workers 1]

Starts, as separate processes on loopback, the Veilig Thuis simulator, a bare FastAPI passthrough proxy (the
floor) and, for each configuration (database backend × policy engine), a fresh gateway (uvicorn with uvloop +
httptools, one worker). PostgreSQL is a throwaway PostgreSQL 15 server started from the installed binaries (as
`tests/pg.py` does); the OPA path decides through `bench/opa_standin.py`, a *stand-in* that speaks OPA's REST API
and evaluates with OPA's Go evaluator — not the OPA binary. For each repeat and concurrency (1 and 32) it drives
allowed F2 meldingen (token reused, each with its own Idempotency-Key) first through the floor, then through the
gateway, and prints exchanges/s, p50/p99 latency and the ratio gateway/floor; then the median and the spread
(min–max) over the repeats, and the load average around each measurement (others may share the machine).
Bounded in requests and time; loopback only. Figures vary ±15–30 % between runs: compare ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import httpx

ROOT = Path(__file__).resolve().parents[1]
BODY = json.loads((ROOT / "examples" / "melding-f2.json").read_text())
FAST = ["--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning"]


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(argv: list[str], env: dict[str, str], health: str, log: Path | None = None) -> subprocess.Popen[bytes]:
    with open(log or os.devnull, "ab") as sink:  # the child keeps its own copy of the descriptor
        process = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=sink, stderr=sink, start_new_session=True)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if httpx.get(health, timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.2)
    _stop(process)
    raise SystemExit(f"did not start: {argv}" + (f"; its output is in {log}" if log else ""))


def _stop(process: subprocess.Popen[Any]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)


@contextlib.contextmanager
def _opa_standin() -> Iterator[str]:
    process = subprocess.Popen([sys.executable, "-m", "bench.opa_standin"], cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True, start_new_session=True)
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        if not url.startswith("http://127.0.0.1:"):
            raise SystemExit("the OPA stand-in did not start")
        yield url
    finally:
        _stop(process)


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
            "p99_ms": latencies[max(0, int(len(latencies) * 0.99) - 1)] * 1000, "failures": failures,
            "load": os.getloadavg()[0]}


@dataclass
class Cell:
    """One configuration at one concurrency: a result per repeat for the floor and the gateway."""

    floor: list[dict[str, float]] = field(default_factory=list)
    full: list[dict[str, float]] = field(default_factory=list)


def _spread(values: list[float], fmt: str = "{:.0f}") -> str:
    median = statistics.median(values)
    if len(values) == 1:
        return fmt.format(median)
    return f"{fmt.format(median)} [{fmt.format(min(values))}–{fmt.format(max(values))}]"


def _row(label: str, concurrency: int, r: dict[str, float], floor: dict[str, float] | None = None) -> str:
    ratio = f"{r['rps'] / floor['rps']:>7.2f}" if floor else f"{'':>7}"
    return (f"  {label:<10}{concurrency:>5}{r['rps']:>9.0f}{r['p50_ms']:>9.2f}{r['p99_ms']:>9.2f}"
            f"{r['failures']:>6.0f}{ratio}{r['load']:>7.2f}")


def _summary(name: str, cells: dict[int, Cell]) -> list[str]:
    lines = []
    for concurrency, cell in sorted(cells.items()):
        ratios = [g["rps"] / f["rps"] for g, f in zip(cell.full, cell.floor, strict=True)]
        added = [g["p99_ms"] - f["p99_ms"] for g, f in zip(cell.full, cell.floor, strict=True)]
        lines.append(
            f"{name:<34}c={concurrency:<3} floor {_spread([f['rps'] for f in cell.floor])} req/s | gateway "
            f"{_spread([g['rps'] for g in cell.full])}/s, p50 {_spread([g['p50_ms'] for g in cell.full], '{:.1f}')}"
            f" ms, p99 {_spread([g['p99_ms'] for g in cell.full], '{:.1f}')} ms | ratio "
            f"{_spread(ratios, '{:.2f}')} | added p99 {_spread(added, '{:.1f}')} ms")
    return lines


def _gateway_env(base: dict[str, str], *, work: Path, port: int, database_url: str,
                 opa_url: str | None) -> dict[str, str]:
    env = {**base, "GATEWAY_PUBLIC_URL": f"http://127.0.0.1:{port}", "GATEWAY_DATABASE_URL": database_url,
           "GATEWAY_KEYS_DIR": str(work / "keys"), "GATEWAY_LOG_LEVEL": "WARNING",
           # One professional sends everything here: lift the rate limits, which would otherwise answer 429.
           "GATEWAY_QUOTA_PROFESSIONAL_BURST": "1000000", "GATEWAY_QUOTA_ORGANISATION_BURST": "1000000"}
    if opa_url:
        env |= {"GATEWAY_POLICY_ENGINE": "opa", "GATEWAY_OPA_URL": opa_url}
    return env


def _measure(name: str, env: dict[str, str], *, port: int, work: Path, floor_url: str, native: dict[str, Any],
             args: argparse.Namespace) -> dict[int, Cell]:
    from gateway.auth.client import fetch_token

    url = f"http://127.0.0.1:{port}"
    argv = [sys.executable, "-m", "uvicorn", "gateway.main:app_factory", "--factory", "--port", str(port), *FAST]
    if args.workers > 1:
        # Migrations, the first policy version, keys and accounts are made by one process first (as the chart's
        # migration Job does); then the workers start on a ready database, one group-commit writer each.
        _stop(_start(argv, env, f"{url}/readyz", work / f"gateway-{port}-init.log"))
        argv += ["--workers", str(args.workers)]
    gateway = _start(argv, env, f"{url}/readyz", work / f"gateway-{port}.log")
    cells: dict[int, Cell] = {c: Cell() for c in args.concurrency}
    try:
        token = fetch_token(base_url=url, client_id="wijkteam-utrecht-west-cms",
                            private_key_path=work / "keys" / "clients" / "wijkteam-utrecht-west-cms.pem")
        auth = {"Authorization": f"Bearer {token}"}
        asyncio.run(_drive(f"{url}/v1/exchanges/push", auth, concurrency=4, total=40, body=BODY))  # warm-up
        print(f"\n{name}\n  {'path':<10}{'conc':>5}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'fail':>6}{'ratio':>7}"
              f"{'load1':>7}")
        for _ in range(args.repeat):
            for concurrency in args.concurrency:
                floor = asyncio.run(_drive(floor_url, {}, concurrency=concurrency, total=args.requests, body=native))
                full = asyncio.run(_drive(f"{url}/v1/exchanges/push", auth, concurrency=concurrency,
                                          total=args.requests, body=BODY))
                cells[concurrency].floor.append(floor)
                cells[concurrency].full.append(full)
                print(_row("floor", concurrency, floor))
                print(_row("gateway", concurrency, full, floor), flush=True)
    finally:
        _stop(gateway)
    return cells


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=300, help="per measurement")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--engines", default="embedded,opa")
    parser.add_argument("--concurrency", default="1,32")
    parser.add_argument("--micro", action="store_true", help="also run bench.micro_bench with the same servers")
    parser.add_argument("--workers", type=int, default=1,
                        help="gateway worker processes (uvicorn --workers); the floor stays one process")
    parser.add_argument("--transport", choices=("aiohttp", "httpx"), default="aiohttp",
                        help="what sends under httpx, for the gateway's relay and the floor alike")
    args = parser.parse_args()
    args.concurrency = [int(c) for c in args.concurrency.split(",")]
    sys.path.insert(0, str(ROOT))
    from tests.pg import postgres_server, wait_for

    work = Path(tempfile.mkdtemp(prefix="gw-bench-"))  # keys, SQLite databases and the gateways' output
    sim_port, floor_port = _port(), _port()
    base = {**os.environ, "GATEWAY_SIM_VEILIG_THUIS_URL": f"http://127.0.0.1:{sim_port}",
            "FLOOR_TARGET": f"http://127.0.0.1:{sim_port}/api/v1/meldingen",
            "GATEWAY_RELAY_TRANSPORT": args.transport, "FLOOR_TRANSPORT": args.transport}
    print(f"{os.cpu_count()} CPUs; load average at start {os.getloadavg()}; {args.requests} requests per "
          f"measurement, {args.repeat} repeats; relay transport {args.transport} (gateway and floor); "
          f"{args.workers} gateway worker process(es)")
    summaries: list[str] = []
    with contextlib.ExitStack() as stack:
        stack.callback(shutil.rmtree, work, ignore_errors=True)
        processes = [
            _start([sys.executable, "-m", "adapters.simulators", "veilig_thuis", "--port", str(sim_port)], base,
                   f"http://127.0.0.1:{sim_port}/health"),
            _start([sys.executable, "-m", "uvicorn", "bench.floor_proxy:app", "--port", str(floor_port), *FAST],
                   base, f"http://127.0.0.1:{floor_port}/docs")]
        for process in processes:
            stack.callback(_stop, process)
        backends = args.backends.split(",")
        server = stack.enter_context(postgres_server()) if "postgresql" in backends else None
        if server is not None:
            wait_for(server.admin_url)
        opa_url = stack.enter_context(_opa_standin()) if "opa" in args.engines.split(",") else None
        native = _native_melding()
        for backend in backends:
            for engine in args.engines.split(","):
                if server is not None and backend == "postgresql":
                    database_url = server.url_for(server.create_database())
                else:
                    database_url = f"sqlite:///{work / f'gateway-{engine}.db'}"
                name = f"{backend} + {'embedded regorus' if engine == 'embedded' else 'OPA REST stand-in'}"
                port = _port()
                env = _gateway_env(base, work=work, port=port, database_url=database_url,
                                   opa_url=opa_url if engine == "opa" else None)
                cells = _measure(name, env, port=port, work=work, floor_url=f"http://127.0.0.1:{floor_port}/relay",
                                 native=native, args=args)
                summaries.extend(_summary(name, cells))
        print("\nmedian [min–max] over the repeats")
        print("\n".join(summaries))
        if args.micro:
            from bench import micro_bench

            print()
            pg_url = server.url_for(server.create_database()) if server is not None else None
            for label, value in micro_bench.run(postgresql_url=pg_url, opa_url=opa_url, verify_records=20_000):
                print(f"{label:<92}{value:>28}")
    print(f"load average at end {os.getloadavg()}")


if __name__ == "__main__":
    main()
