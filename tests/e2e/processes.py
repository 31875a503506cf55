"""Real processes for the end-to-end tests: free loopback ports, start and wait until ready, always stop."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from gateway.core.settings import REPO_ROOT


def free_block(count: int) -> int:
    """The first of `count` consecutive free loopback ports."""
    for base in range(20_000 + (os.getpid() % 500) * 20, 60_000, 20):
        sockets = []
        try:
            for offset in range(count):
                s = socket.socket()
                sockets.append(s)
                s.bind(("127.0.0.1", base + offset))
            return base
        except OSError:
            continue
        finally:
            for s in sockets:
                s.close()
    raise RuntimeError("no free port block")


def wait_ready(url: str, process: subprocess.Popen[bytes] | None = None, log_file: Path | None = None,
               path: str = "/readyz", within: float = 60.0) -> None:
    """Poll `url + path` until it answers 200; fail early (with the log's tail) if the process died."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{url} exited early:\n{_tail(log_file)}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}{path}", timeout=1).status_code == 200:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{url} not ready in time:\n{_tail(log_file)}")


def _tail(log_file: Path | None) -> str:
    return log_file.read_text()[-3000:] if log_file is not None and log_file.exists() else ""


@contextlib.contextmanager
def running(argv: list[str], env: dict[str, str], log_file: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A process in its own session; stopped with SIGINT (graceful), killed with its children if it hangs."""
    with log_file.open("ab") as log:
        process = subprocess.Popen(argv, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
