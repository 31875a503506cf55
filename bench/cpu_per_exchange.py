"""CPU time per exchange, per thread of the gateway process (and of PostgreSQL), while driving pushes.

    .venv/bin/python -m bench.cpu_per_exchange [--backend sqlite|postgresql] [--concurrency 32] [--requests 600]

Starts the Veilig Thuis simulator and a gateway (uvicorn, uvloop + httptools, one worker, embedded engine) as
separate processes on loopback, as `bench/exchange_bench.py` does; on PostgreSQL also a throwaway server
(`tests/pg.py`). It drives allowed F2 meldingen at the given concurrency and reads the CPU time (user + system)
from `/proc` before and after. It prints exchanges/s and the CPU milliseconds per exchange: of the gateway
process and of its threads (the main thread runs the event loop; the busiest other thread under load is the
group-commit writer, as a profile shows; the rest are worker threads), of the simulator, of the load generator
and, on PostgreSQL, of all `postgres` processes together. CPU per exchange is steadier than throughput on a
shared machine. Linux only; not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from bench.exchange_bench import BODY, FAST, _drive, _gateway_env, _port, _start, _stop

TICK = os.sysconf("SC_CLK_TCK")


def _cpu(stat_path: str) -> float:
    fields = Path(stat_path).read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime


def _threads(pid: int) -> dict[str, tuple[str, float]]:
    out: dict[str, tuple[str, float]] = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):
            name = Path(f"/proc/{pid}/task/{tid}/comm").read_text().strip()
            out[tid] = (name, _cpu(f"/proc/{pid}/task/{tid}/stat"))
    return out


def _postgres() -> float:
    total = 0.0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):
            if Path(f"/proc/{pid}/comm").read_text().startswith("postgres"):
                total += _cpu(f"/proc/{pid}/stat")
    return total


def _measure(database_url: str, work: Path, args: argparse.Namespace) -> None:
    from gateway.auth.client import fetch_token

    sim_port, port = _port(), _port()
    base = {**os.environ, "GATEWAY_SIM_VEILIG_THUIS_URL": f"http://127.0.0.1:{sim_port}"}
    simulator = _start([sys.executable, "-m", "adapters.simulators", "veilig_thuis", "--port", str(sim_port)], base,
                       f"http://127.0.0.1:{sim_port}/health")
    url = f"http://127.0.0.1:{port}"
    env = _gateway_env(base, work=work, port=port, database_url=database_url, opa_url=None)
    gateway = _start([sys.executable, "-m", "uvicorn", "gateway.main:app_factory", "--factory", "--port", str(port),
                      *FAST], env, f"{url}/readyz", work / "gateway.log")
    try:
        token = fetch_token(base_url=url, client_id="wijkteam-utrecht-west-cms",
                            private_key_path=work / "keys" / "clients" / "wijkteam-utrecht-west-cms.pem")
        auth = {"Authorization": f"Bearer {token}"}
        push = f"{url}/v1/exchanges/push"
        asyncio.run(_drive(push, auth, concurrency=4, total=40, body=BODY))  # warm-up
        threads, process, sim = _threads(gateway.pid), _cpu(f"/proc/{gateway.pid}/stat"), _cpu(
            f"/proc/{simulator.pid}/stat")
        postgres, driver = _postgres(), time.process_time()
        result = asyncio.run(_drive(push, auth, concurrency=args.concurrency, total=args.requests, body=BODY))
        n = args.requests
        per = {
            "gateway process": _cpu(f"/proc/{gateway.pid}/stat") - process,
            "simulator": _cpu(f"/proc/{simulator.pid}/stat") - sim,
            "load generator": time.process_time() - driver,
        }
        if database_url.startswith("postgresql"):
            per["postgres (all processes)"] = _postgres() - postgres
        print(f"{args.backend}, c={args.concurrency}, {n} pushes: {result['rps']:.0f} exchanges/s, "
              f"p50 {result['p50_ms']:.1f} ms, p99 {result['p99_ms']:.1f} ms, {result['failures']:.0f} failed, "
              f"load {result['load']:.2f}")
        for name, seconds in per.items():
            print(f"  {name:<28}{seconds / n * 1000:7.2f} ms CPU per exchange")
        used = {tid: seconds - threads.get(tid, (name, 0.0))[1]
                for tid, (name, seconds) in _threads(gateway.pid).items()}
        main_thread = used.pop(str(gateway.pid), 0.0)
        others = sorted(used.values(), reverse=True)
        for label, seconds in (("main thread (event loop)", main_thread),
                               ("busiest other thread", others[0] if others else 0.0),
                               ("all other threads", sum(others[1:]))):
            print(f"    {label:<26}{seconds / n * 1000:7.2f} ms")
    finally:
        _stop(gateway)
        _stop(simulator)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--requests", type=int, default=600)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="kgb-cpu-"))
    try:
        if args.backend == "sqlite":
            _measure(f"sqlite:///{work / 'gateway.db'}", work, args)
        else:
            from tests.pg import postgres_server

            with postgres_server() as server:
                _measure(server.url_for(server.create_database()), work, args)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
