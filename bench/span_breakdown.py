"""Where an exchange's time goes, read from its own OpenTelemetry spans (in process, one client at a time).

    .venv/bin/python -m bench.span_breakdown [--exchanges 200] [--database-url URL]

Builds the gateway app in process on a temporary SQLite database (or the given one) with the Veilig Thuis
simulator reached in process (the test suite's routing transport, no sockets), sends allowed F2 meldingen one
after another, and prints the p50/p99 duration of each span name: the server span (the whole request inside
the app), the policy decision, pseudonymisation, minimisation, the durable log appends and the relay's client
span. Spans are captured with the SDK's in-memory exporter, as an operator's collector would receive them.
Not a test: it prints figures.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]


async def _run(exchanges: int, work: Path, database_url: str | None) -> dict[str, list[float]]:
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from adapters.simulators import create_simulator
    from gateway.main import create_app
    from tests.support import SIM_HOSTS, RoutingTransport, melding_request, test_settings, token_for

    os.environ["GATEWAY_SIM_VEILIG_THUIS_URL"] = f"http://{SIM_HOSTS['veilig_thuis']}"  # the registry reads it
    settings = test_settings(work, quota_professional_burst=1e6, quota_organisation_burst=1e6,
                             **({"database_url": database_url} if database_url else {}))
    app = create_app(settings)
    durations: dict[str, list[float]] = defaultdict(list)
    async with app.router.lifespan_context(app):
        relay = app.state.exchange.relay
        await relay.client.aclose()
        relay.client = httpx.AsyncClient(transport=RoutingTransport({SIM_HOSTS["veilig_thuis"]: create_simulator(
            "veilig_thuis")}), timeout=10)
        exporter = InMemorySpanExporter()
        app.state.telemetry.add_span_processor(SimpleSpanProcessor(exporter))
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=settings.public_url) as c:
            headers = {"Authorization": f"Bearer {await token_for(c, settings, 'wijkteam-utrecht-west-cms')}"}
            for _ in range(20):  # warm-up, not counted
                await c.post("/v1/exchanges/push", json=melding_request(), headers=headers)
            exporter.clear()
            for _ in range(exchanges):
                response = await c.post("/v1/exchanges/push", json=melding_request(), headers=headers)
                assert response.status_code == 201, response.text
        for span in exporter.get_finished_spans():
            if span.end_time is not None and span.start_time is not None and span.name != "POST /oauth/token":
                kind = (span.attributes or {}).get("gateway.log.kind")
                name = f"{span.name} ({kind})" if kind else span.name
                durations[name].append((span.end_time - span.start_time) / 1e6)
        await relay.client.aclose()
    return durations


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--exchanges", type=int, default=200)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    work = Path(tempfile.mkdtemp(prefix="span-breakdown-"))
    try:
        durations = asyncio.run(_run(args.exchanges, work, args.database_url))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"{'span':<44}{'count':>7}{'p50 ms':>9}{'p99 ms':>9}")
    for name, values in sorted(durations.items(), key=lambda kv: -statistics.median(kv[1])):
        values.sort()
        p99 = values[max(0, int(len(values) * 0.99) - 1)]
        print(f"{name:<44}{len(values):>7}{statistics.median(values):>9.2f}{p99:>9.2f}")


if __name__ == "__main__":
    main()
