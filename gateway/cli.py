"""The `gateway` command line.

  gateway run            everything on one machine: dev keys, four partner simulators + research, the gateway
  gateway serve          the gateway only (production: uvloop + httptools)
  gateway keys init      generate the dev keys into keys/ (also done by run)
  gateway token CLIENT   print an access token for a demo client (uses keys/clients/CLIENT.pem)
  gateway push FILE      send a push exchange (JSON file) as a demo client
  gateway pull FILE      send a pull exchange (JSON file) as a demo client
  gateway status ID      show an exchange's status
  gateway policy …       check, test, explain, diff, whatif; versions: propose, submit, approve, reject,
                         rollback (four-eyes activation; see gateway policy --help)
  gateway log verify     verify the log against a signed checkpoint and public key (see gateway log --help)
  gateway log check      quick local check: leaf hashes, positions and hash chain
  gateway log export     write the log as JSON lines for offline verification
  gateway log verify-export BUNDLE   verify an export's proof bundle offline; gateway log purge: retention
  gateway inzage         inzage report (AVG art. 15) for one person; BSN on stdin (see gateway inzage --help)
  gateway db upgrade     apply the database migrations up to head (the Helm chart's pre-upgrade hook)
  gateway deliveries …   the delivery outbox: list jobs, retry dead letters (see gateway deliveries --help)
  gateway adapters check validate partner mapping files (YAML; see gateway adapters --help)
  gateway users …        local accounts for the web pages: add, list, passwd, disable
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from gateway import cli_adapters, cli_deliveries, cli_policy, cli_users
from gateway.core.settings import Settings, get_settings

SIMULATORS = ("veilig_thuis", "rvdk", "gi", "wijkteam", "research")


def _out(text: str) -> None:
    sys.stdout.write(text + "\n")


def cmd_keys_init(settings: Settings) -> int:
    from gateway.auth.keys import ensure_dev_client_keys, load_signing_key
    from gateway.pseudonymise.keyring import load_keyring
    from gateway.pseudonymise.signing import load_log_signer
    from gateway.registry.organisations import load_registry

    created = ensure_dev_client_keys(settings.keys_dir, load_registry(settings.organisations_file))
    load_signing_key(settings.keys_dir, generate=True)
    load_keyring(settings.keys_dir, generate=True)
    load_log_signer(settings.keys_dir, generate=True)
    _out(f"keys ready in {settings.keys_dir} ({len(created)} client key pair(s) created)")
    for client in created:
        _out(f"  client {client}: private key keys/clients/{client}.pem")
    return 0


def _start_simulators(host: str, base_port: int) -> list[subprocess.Popen[bytes]]:
    processes = []
    ports = {name: base_port + i for i, name in enumerate(SIMULATORS)}
    for name, port in ports.items():
        os.environ[f"GATEWAY_SIM_{name.upper()}_URL"] = f"http://{host}:{port}"
        argv = [sys.executable, "-m", "adapters.simulators", name, "--host", host, "--port", str(port)]
        processes.append(subprocess.Popen(argv))  # noqa: S603 - fixed argv, no user input
    deadline = time.monotonic() + 30
    for name, port in ports.items():
        while not _healthy(f"http://{host}:{port}/health"):
            if time.monotonic() > deadline:
                for process in processes:
                    process.terminate()
                raise SystemExit(f"the {name} simulator did not start on port {port}")
            time.sleep(0.1)
    return processes


def _healthy(url: str) -> bool:
    try:
        return httpx.get(url, timeout=0.5).status_code == 200
    except httpx.HTTPError:
        return False


def _uvicorn(settings: Settings, *, production: bool) -> None:
    import uvicorn

    options: dict[str, Any] = {"host": settings.host, "port": settings.port, "factory": True,
                               "log_config": None, "access_log": False, "proxy_headers": True,
                               "forwarded_allow_ips": settings.forwarded_allow_ips}
    if production:
        options |= {"loop": "uvloop", "http": "httptools"}
    uvicorn.run("gateway.main:app_factory", **options)


def _stop_on_sigterm(_signum: int, _frame: object) -> None:
    raise SystemExit(0)


def cmd_run(settings: Settings, *, simulators: bool) -> int:
    cmd_keys_init(settings)
    processes = _start_simulators("127.0.0.1", settings.simulator_base_port) if simulators else []
    # uvicorn shuts down on SIGTERM and then raises the signal again with the handler it found: without one of
    # ours that is the default (the process dies on the spot) and the simulators would be left running.
    previous = signal.signal(signal.SIGTERM, _stop_on_sigterm)
    try:
        _out(f"gateway on {settings.public_url} (API docs: {settings.public_url}/docs); Ctrl-C stops")
        _out(f"web pages on {settings.public_url}/ui/ (development accounts: {settings.keys_dir / 'dev-accounts.txt'})")
        _uvicorn(settings, production=False)
    finally:
        signal.signal(signal.SIGTERM, previous)
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=10)
    return 0


def _token(settings: Settings, client: str, scope: str | None = None) -> str:
    from gateway.auth.client import fetch_token

    return fetch_token(base_url=settings.public_url, client_id=client,
                       private_key_path=settings.keys_dir / "clients" / f"{client}.pem", scope=scope)


def _send(settings: Settings, client: str, *, method: str, path: str, body: Any = None,
          key: str | None = None) -> int:
    headers = {"Authorization": f"Bearer {_token(settings, client)}"}
    if key:
        headers["Idempotency-Key"] = key
    response = httpx.request(method, f"{settings.public_url}{path}", json=body, headers=headers, timeout=30)
    _out(f"HTTP {response.status_code}")
    _out(json.dumps(response.json(), indent=2, ensure_ascii=False))
    return 0 if response.status_code < 400 else 1


def cmd_log(args: argparse.Namespace, settings: Settings) -> int:
    from gateway.exchange_log import commands as log_commands

    return log_commands.run(args, settings)


def cmd_db_upgrade(settings: Settings) -> int:
    from gateway.core.database import make_engine, upgrade_to_head

    engine = make_engine(settings.database_url)
    try:
        upgrade_to_head(engine)
    finally:
        engine.dispose()
    _out("database schema at head")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gateway", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run everything on one machine (embedded default)")
    run.add_argument("--no-simulators", action="store_true")
    sub.add_parser("serve", help="run the gateway only")
    keys = sub.add_parser("keys", help="key material")
    keys.add_argument("action", choices=["init"])
    token = sub.add_parser("token", help="print an access token for a demo client")
    token.add_argument("client")
    token.add_argument("--scope")
    for name in ("push", "pull"):
        p = sub.add_parser(name, help=f"send a {name} exchange from a JSON file")
        p.add_argument("file", type=Path)
        p.add_argument("--client", required=True, help="demo client id, e.g. wijkteam-utrecht-west-cms")
        p.add_argument("--idempotency-key")
    status = sub.add_parser("status", help="show an exchange's status")
    status.add_argument("exchange_id")
    status.add_argument("--client", required=True)
    cli_policy.add_parser(sub)
    from gateway.exchange_log import commands as log_commands

    log_commands.add_parser(sub)
    from gateway.inzage import commands as inzage_commands

    inzage_commands.add_parser(sub)
    cli_deliveries.add_parser(sub)
    cli_adapters.add_parser(sub)
    cli_users.add_parser(sub)
    db = sub.add_parser("db", help="the database schema")
    db.add_argument("action", choices=["upgrade"])
    return parser


def main(argv: list[str] | None = None) -> int:  # noqa: PLR0911 - one return per subcommand
    args = _parser().parse_args(argv)
    settings = get_settings()
    if args.command == "run":
        return cmd_run(settings, simulators=not args.no_simulators)
    if args.command == "serve":
        _uvicorn(settings, production=True)
        return 0
    if args.command == "keys":
        return cmd_keys_init(settings)
    if args.command == "token":
        _out(_token(settings, args.client, args.scope))
        return 0
    if args.command in ("push", "pull"):
        body = json.loads(args.file.read_text(encoding="utf-8"))
        return _send(settings, args.client, method="POST", path=f"/v1/exchanges/{args.command}", body=body,
                     key=args.idempotency_key)
    if args.command == "status":
        return _send(settings, args.client, method="GET", path=f"/v1/exchanges/{args.exchange_id}")
    if args.command == "policy":
        return cli_policy.run(args, settings)
    if args.command == "db":
        return cmd_db_upgrade(settings)
    if args.command == "deliveries":
        return cli_deliveries.run(args, settings)
    if args.command == "adapters":
        return cli_adapters.run(args, settings)
    if args.command == "users":
        return cli_users.run(args, settings)
    if args.command == "inzage":
        from gateway.inzage import commands as inzage_commands

        return inzage_commands.run(args, settings)
    return cmd_log(args, settings)


if __name__ == "__main__":
    raise SystemExit(main())
