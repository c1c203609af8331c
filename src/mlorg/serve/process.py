"""`mlorg serve` as a process of its own on a free loopback port: what a check or a benchmark loads, and stops."""

from __future__ import annotations

import ctypes
import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

LOOPBACK = "127.0.0.1"


def start_server(db: str | Path, workers: int = 1, wait_s: float = 120.0) -> tuple[subprocess.Popen, int]:
    """Start ``mlorg serve`` on the registry ``db`` and return the process and its port once it answers /health
    (RuntimeError, the process stopped, if it does not within ``wait_s``). The caller terminates it."""
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        port = s.getsockname()[1]
    process = subprocess.Popen([sys.executable, "-m", "mlorg.cli", "serve", "--db", str(db), "--port", str(port),
                                "--workers", str(workers)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               preexec_fn=_ended_with(os.getpid()) if sys.platform == "linux" else None)
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"mlorg serve stopped: {process.stderr.read().decode(errors='replace').strip()[:300]}")
        try:
            connection = http.client.HTTPConnection(LOOPBACK, port, timeout=2)
            connection.request("GET", "/health")
            if connection.getresponse().status == 200:
                return process, port
        except OSError:
            time.sleep(0.2)
    process.kill()
    process.wait(15)
    raise RuntimeError(f"mlorg serve did not answer within {wait_s:g} s")


def stop_server(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(15)


def _ended_with(parent: int):
    """For the child, before it runs: ask Linux to send it SIGTERM when the process that started it dies, even by
    kill -9, so a killed check or benchmark leaves no server behind (and stop now if that already happened)."""

    def arrange() -> None:
        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)
        if os.getppid() != parent:
            os._exit(1)

    return arrange
