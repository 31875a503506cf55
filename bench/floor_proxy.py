"""The floor: a bare FastAPI passthrough proxy that relays a JSON body to one partner endpoint, nothing else.

FLOOR_TRANSPORT picks what sends under its `httpx.AsyncClient`, as GATEWAY_RELAY_TRANSPORT does for the gateway:
`httpx` (httpx's own pool, default limits) or `aiohttp` (the relay's aiohttp transport with the gateway's shared
client's limits), so a gateway/floor ratio compares like with like.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI, Request, Response

TARGET = os.environ.get("FLOOR_TARGET", "http://127.0.0.1:8101/api/v1/meldingen")
TRANSPORT = os.environ.get("FLOOR_TRANSPORT", "httpx")


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    if TRANSPORT == "aiohttp":
        from gateway.relay.transport import relay_client

        app.state.client = relay_client(transport="aiohttp", timeout=httpx.Timeout(10),
                                        limits=httpx.Limits(max_connections=100, max_keepalive_connections=20))
    elif TRANSPORT == "httpx":
        app.state.client = httpx.AsyncClient(timeout=10)
    else:
        raise SystemExit(f"FLOOR_TRANSPORT must be httpx or aiohttp, not {TRANSPORT!r}")
    yield
    await app.state.client.aclose()


app = FastAPI(lifespan=lifespan)


@app.post("/relay")
async def relay(request: Request) -> Response:
    body = await request.body()
    answer = await request.app.state.client.post(TARGET, content=body, headers={
        "Content-Type": "application/json", "Idempotency-Key": request.headers.get("Idempotency-Key", "x")})
    return Response(answer.content, status_code=answer.status_code, media_type="application/json")
