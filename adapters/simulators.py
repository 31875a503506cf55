"""Run one partner-system simulator: `python -m adapters.simulators <name> --host 127.0.0.1 --port 8101`.

Simulators keep what they receive in memory only; they are test doubles of the partners' systems, for
local runs, demos and the end-to-end tests, never a place to keep real data.
"""

from __future__ import annotations

import argparse
import importlib

from fastapi import FastAPI

SIMULATOR_PORTS: dict[str, int] = {"veilig_thuis": 8101, "rvdk": 8102, "gi": 8103, "wijkteam": 8104,
                                   "research": 8105}


def create_simulator(name: str) -> FastAPI:
    """A fresh simulator app for partner system type `name`; KeyError for an unknown name."""
    if name not in SIMULATOR_PORTS:
        raise KeyError(f"unknown simulator: {name}")
    module = importlib.import_module(f"adapters.{name}.simulator")
    app: FastAPI = module.create_app()
    return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m adapters.simulators", description=__doc__.splitlines()[0])
    parser.add_argument("name", choices=sorted(SIMULATOR_PORTS))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=None, help="default: the simulator's own port")
    args = parser.parse_args(argv)
    import uvicorn

    port = args.port if args.port is not None else SIMULATOR_PORTS[args.name]
    uvicorn.run(create_simulator(args.name), host=args.host, port=port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
