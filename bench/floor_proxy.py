"""The floor: a bare FastAPI passthrough proxy that relays a JSON body to one partner endpoint, nothing else."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI, Request, Response

TARGET = os.environ.get("FLOOR_TARGET", "http://127.0.0.1:8101/api/v1/meldingen")


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    app.state.client = httpx.AsyncClient(timeout=10)
    yield
    await app.state.client.aclose()


app = FastAPI(lifespan=lifespan)


@app.post("/relay")
async def relay(request: Request) -> Response:
    body = await request.body()
    answer = await request.app.state.client.post(TARGET, content=body, headers={
        "Content-Type": "application/json", "Idempotency-Key": request.headers.get("Idempotency-Key", "x")})
    return Response(answer.content, status_code=answer.status_code, media_type="application/json")
