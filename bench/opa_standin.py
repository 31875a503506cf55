"""Runs the OPA REST *stand-in* as a process for the benchmark. This is NOT the OPA binary.

    .venv/bin/python -m bench.opa_standin

It is `tests/policy/opa_rest_server.py`: Python's `http.server` (a thread per connection, HTTP/1.0, so a new
TCP connection per decision, and one evaluation at a time under a lock) in front of OPA's own Go evaluator
(`opa-golib-python-bindings`), loaded with the repository's policies/ and taking the gateway's start-up policy
push. The OPA binary is not installable on this machine. Its figures show the gateway's OPA *client path* (an
HTTP round trip per decision) through a slow server, not what a real OPA sidecar costs. Prints its URL on the
first line, then serves until SIGTERM. Loopback only.
"""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    sys.path.insert(0, str(ROOT))
    from gateway.policy.bundle import load_bundle
    from tests.policy.opa_rest_server import opa_rest_server

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with opa_rest_server(load_bundle(ROOT / "policies")) as url:
        print(url, flush=True)
        stop.wait()


if __name__ == "__main__":
    main()
