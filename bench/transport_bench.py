"""Outbound HTTP client throughput: httpx's own pool vs httpx over aiohttp's transport vs aiohttp itself.

    .venv/bin/python -m bench.transport_bench [--requests 3000] [--concurrency 1,32] [--repeat 2]

Starts the Veilig Thuis simulator (a separate uvicorn process on loopback) and, for each client variant, a fresh
interpreter that POSTs the simulator's native melding N times at each concurrency and prints req/s, p50 and p99:

- `httpx-default`   `httpx.AsyncClient(timeout=10)`: what bench/floor_proxy.py used; httpx's default limits
                    (100 connections, 20 kept alive) are also what the gateway's shared relay client used
- `httpx-tuned`     `Limits(max_connections=100, max_keepalive_connections=100)`: no connection churn at c=32
- `httpx-aiohttp`   `httpx.AsyncClient(transport=gateway.relay.transport.AiohttpRelayTransport(...))`
- `aiohttp`         `aiohttp.ClientSession` directly: the reference

Each variant runs with `sniffio` importable and, in a second interpreter, without it (an overlay of site-packages
that leaves sniffio out, so the failed import costs what it costs when sniffio is not installed). Clients run on
uvloop, as the gateway and the floor do under uvicorn. Loopback only, bounded in requests. Figures vary ±15–30 %
between runs and with the machine's load (printed): compare ratios within one run.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
VARIANTS = ("httpx-default", "httpx-tuned", "httpx-aiohttp", "aiohttp")


async def _run(variant: str, url: str, body: bytes, *, concurrency: int, total: int) -> dict[str, float]:
    import aiohttp
    import httpx

    headers = {"Content-Type": "application/json"}
    latencies: list[float] = []
    counter = iter(range(total))

    if variant == "aiohttp":
        session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=100))

        async def send(i: int) -> int:
            async with session.post(url, data=body, headers={**headers, "Idempotency-Key": f"b-{i}"}) as r:
                await r.read()
                return r.status

        close = session.close
    else:
        limits = {"httpx-default": httpx.Limits(max_connections=100, max_keepalive_connections=20),
                  "httpx-tuned": httpx.Limits(max_connections=100, max_keepalive_connections=100),
                  "httpx-aiohttp": httpx.Limits(max_connections=100, max_keepalive_connections=100)}[variant]
        transport = None
        if variant == "httpx-aiohttp":
            from gateway.relay.transport import AiohttpRelayTransport

            transport = AiohttpRelayTransport(verify=True, limits=limits)
        client = httpx.AsyncClient(timeout=10, limits=limits, transport=transport)

        async def send(i: int) -> int:
            r = await client.post(url, content=body, headers={**headers, "Idempotency-Key": f"b-{i}"})
            return r.status_code

        close = client.aclose

    failures = 0

    async def worker() -> None:
        nonlocal failures
        for i in counter:
            started = time.perf_counter()
            if await send(i + time.time_ns()) >= 300:
                failures += 1
            latencies.append(time.perf_counter() - started)

    try:
        for i in range(min(50, total)):  # warm-up: connections, imports, caches
            await send(-i - 1)
        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - began
    finally:
        await close()
    latencies.sort()
    return {"rps": total / elapsed, "p50_ms": latencies[len(latencies) // 2] * 1000,
            "p99_ms": latencies[max(0, int(len(latencies) * 0.99) - 1)] * 1000, "failures": failures}


def _child(args: argparse.Namespace) -> None:
    import uvloop

    body = Path(args.body).read_bytes()
    result = uvloop.run(_run(args.child, args.url, body, concurrency=args.c, total=args.requests))
    result["sniffio"] = importlib.util.find_spec("sniffio") is not None
    print(json.dumps(result))


def _overlay_without_sniffio(work: Path) -> Path:
    """A directory with links to every site-packages entry but sniffio's, for an interpreter started with -S."""
    site = next(Path(p) for p in sys.path if p.endswith("site-packages"))
    overlay = work / "site-without-sniffio"
    overlay.mkdir()
    for entry in site.iterdir():
        if not entry.name.lower().startswith("sniffio"):
            (overlay / entry.name).symlink_to(entry)
    return overlay


def _measure(variant: str, url: str, body: Path, *, c: int, total: int, overlay: Path | None) -> dict[str, Any]:
    argv = [sys.executable, *(["-S"] if overlay else []), "-m", "bench.transport_bench", "--child", variant,
            "--url", url, "--body", str(body), "--c", str(c), "--requests", str(total)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([*([str(overlay)] if overlay else []), str(ROOT)])}
    load = os.getloadavg()[0]
    out = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False)
    if out.returncode != 0:
        raise SystemExit(f"{variant} failed:\n{out.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result | {"load": load}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=3000, help="per measurement (c=1 uses a third)")
    parser.add_argument("--concurrency", default="1,32")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--no-sniffio-runs", action="store_true", help="skip the runs without sniffio")
    parser.add_argument("--child", choices=VARIANTS, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--body", help=argparse.SUPPRESS)
    parser.add_argument("--c", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args)
        return
    sys.path.insert(0, str(ROOT))
    from bench.exchange_bench import _native_melding, _port, _start, _stop

    port = _port()
    work = Path(tempfile.mkdtemp(prefix="transport-bench-"))
    body = work / "melding.json"
    body.write_bytes(json.dumps(_native_melding()).encode())
    overlay = None if args.no_sniffio_runs else _overlay_without_sniffio(work)
    sim = _start([sys.executable, "-m", "adapters.simulators", "veilig_thuis", "--port", str(port)], dict(os.environ),
                 f"http://127.0.0.1:{port}/health")
    url = f"http://127.0.0.1:{port}/api/v1/meldingen"
    print(f"{os.cpu_count()} CPUs; load average at start {os.getloadavg()}; {args.requests} requests at c>1, "
          f"{args.requests // 3} at c=1; {args.repeat} repeats; target: the VT simulator (uvicorn, 1 process)")
    print(f"{'variant':<15}{'sniffio':>8}{'conc':>5}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'fail':>6}{'load1':>7}")
    try:
        for repeat in range(args.repeat):
            print(f"-- repeat {repeat + 1}")
            for c in (int(x) for x in args.concurrency.split(",")):
                for variant in args.variants.split(","):
                    for without in ([False] if overlay is None else [False, True]):
                        r = _measure(variant, url, body, c=c, total=args.requests if c > 1 else args.requests // 3,
                                     overlay=overlay if without else None)
                        print(f"{variant:<15}{'yes' if r['sniffio'] else 'no':>8}{c:>5}{r['rps']:>9.0f}"
                              f"{r['p50_ms']:>9.2f}{r['p99_ms']:>9.2f}{r['failures']:>6}{r['load']:>7.2f}",
                              flush=True)
    finally:
        _stop(sim)
    print(f"load average at end {os.getloadavg()}")


if __name__ == "__main__":
    main()
