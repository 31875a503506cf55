"""Helpers for the browser tests: the live gateway's accounts, logging in, pushing exchanges over real HTTP."""

from __future__ import annotations

import contextlib
import os
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from gateway.auth.client import client_assertion, token_form
from tests.e2e.processes import free_block, running, wait_ready

CHROMIUM = "/usr/bin/chromium"


def read_dev_accounts(path: Path) -> dict[str, str]:
    accounts: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            username, _roles, password = line.split("\t")
            accounts[username] = password
    return accounts


@dataclass
class LiveGateway:
    url: str
    env: dict[str, str]
    workdir: Path
    keys_dir: Path
    database_url: str
    log_file: Path
    accounts: dict[str, str] = field(default_factory=dict)

    def token(self, client_id: str, scope: str | None = None) -> str:
        pem = (self.keys_dir / "clients" / f"{client_id}.pem").read_bytes()
        assertion = client_assertion(private_key_pem=pem, client_id=client_id, audience=f"{self.url}/oauth/token")
        response = httpx.post(f"{self.url}/oauth/token", data=token_form(assertion, scope), timeout=10)
        response.raise_for_status()
        token: str = response.json()["access_token"]
        return token

    def push(self, client_id: str, body: dict[str, Any], idempotency_key: str | None = None) -> httpx.Response:
        """POST /v1/exchanges/push as a partner system (a real HTTP call)."""
        headers = {"Authorization": f"Bearer {self.token(client_id)}",
                   "Idempotency-Key": idempotency_key or str(uuid.uuid4())}
        return httpx.post(f"{self.url}/v1/exchanges/push", json=body, headers=headers, timeout=30)


def login(page: Any, gateway: LiveGateway, username: str, *, next_path: str = "/ui/") -> None:
    """Log in through the login form as one of the development accounts and wait for the start page."""
    page.goto(f"{gateway.url}/ui/login?next={next_path}")
    page.fill("#username", username)
    page.fill("#password", gateway.accounts[username])
    page.click("button[type=submit]")
    page.wait_for_selector("[data-testid=who]")


@contextlib.contextmanager
def start_live_gateway(workdir: Path, **env_overrides: str) -> Iterator[LiveGateway]:
    """`gateway run` (gateway + simulators) as a real process in `workdir`; for tests that need their own."""
    base = free_block(6)
    url = f"http://127.0.0.1:{base}"
    env = {**os.environ, "GATEWAY_PORT": str(base), "GATEWAY_PUBLIC_URL": url,
           "GATEWAY_SIMULATOR_BASE_PORT": str(base + 1), "GATEWAY_KEYS_DIR": str(workdir / "keys"),
           "GATEWAY_DATABASE_URL": f"sqlite:///{workdir / 'gateway.db'}", "GATEWAY_CHECKPOINT_INTERVAL_SECONDS": "0",
           **env_overrides}
    log_file = workdir / "gateway.log"
    with running([sys.executable, "-m", "gateway.cli", "run"], env, log_file) as process:
        wait_ready(url, process, log_file)
        yield LiveGateway(url=url, env=env, workdir=workdir, keys_dir=workdir / "keys",
                          database_url=env["GATEWAY_DATABASE_URL"], log_file=log_file,
                          accounts=read_dev_accounts(workdir / "keys" / "dev-accounts.txt"))
