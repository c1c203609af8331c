"""The registry's champion over HTTP: a small ASGI app (no framework) that scores one transaction's features.

- ``POST /score`` with ``{"features": {"log_amount": 3.1, …}}`` (every feature the model was trained on; ``null``
  for a missing value) answers ``{"score": 0.013, "alert": false, "model_version": 3}``;
- ``GET /health`` answers ``{"status": "ok", "model_version": 3}``;
- ``GET /metrics`` answers the requests served, the errors and the service time's percentiles since start (JSON).

A bad request gets a 4xx with one line saying what is wrong (body too large, not JSON, a missing, unknown or
non-numeric feature), and never stops the server. The model is loaded once, through the registry's keyed checks
(nothing is unpickled before its record, path and hash are verified).
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import numpy as np

from mlorg.pipeline.features import FEATURES
from mlorg.pipeline.scorer import TreeScorer

MAX_BODY_BYTES = 16 * 1024  # a transaction's features are a few hundred bytes
LATENCY_WINDOW = 100_000  # service times kept for /metrics (the most recent)
DB_ENV = "MLORG_SERVE_DB"  # how `mlorg serve` tells each worker process which registry to serve

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict]]
Send = Callable[[dict], Awaitable[None]]


class BadRequest(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


class ScoringApp:
    """An ASGI app scoring with ``scorer`` (a fitted tree walk) over ``features`` in the model's column order."""

    def __init__(self, scorer: TreeScorer, *, version: int, threshold: float,
                 features: Sequence[str] = FEATURES) -> None:
        self.scorer, self.version, self.threshold = scorer, int(version), float(threshold)
        self.features = tuple(features)
        self.known = frozenset(self.features)
        self.requests = self.errors = 0
        self.service_ms = np.zeros(LATENCY_WINDOW)
        self.started = time.time()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        route = (scope["method"], scope["path"])
        try:
            if route == ("POST", "/score"):
                started = time.perf_counter()
                body = await _body(receive)
                answer = self.score(body)
                self.service_ms[self.requests % LATENCY_WINDOW] = (time.perf_counter() - started) * 1000.0
                self.requests += 1
                await _json(send, 200, answer)
            elif route == ("GET", "/health"):
                await _json(send, 200, {"status": "ok", "model_version": self.version})
            elif route == ("GET", "/metrics"):
                await _json(send, 200, self.metrics())
            elif scope["path"] in ("/score", "/health", "/metrics"):
                raise BadRequest(405, f"{scope['method']} is not allowed on {scope['path']}")
            else:
                raise BadRequest(404, f"no such path: {scope['path']} (POST /score, GET /health, GET /metrics)")
        except BadRequest as exc:
            self.errors += 1
            await _json(send, exc.status, {"error": str(exc)})

    def score(self, body: bytes) -> dict:
        try:
            payload = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise BadRequest(400, f"the body is not JSON ({exc})") from None
        if not isinstance(payload, dict) or not isinstance(payload.get("features"), dict):
            raise BadRequest(422, 'the body must be an object {"features": {NAME: NUMBER, ...}}')
        given = payload["features"]
        missing = [f for f in self.features if f not in given]
        if missing:
            raise BadRequest(422, f"missing feature(s): {', '.join(missing)}")
        unknown = sorted(set(given) - self.known)
        if unknown:
            raise BadRequest(422, f"unknown feature(s): {', '.join(unknown[:5])}; the model reads "
                                  f"{', '.join(self.features)}")
        row = [_number(name, given[name]) for name in self.features]
        score = self.scorer.probability(row)
        return {"score": score, "alert": score >= self.threshold, "model_version": self.version}

    def metrics(self) -> dict:
        kept = self.service_ms[:min(self.requests, LATENCY_WINDOW)]
        percentiles = ({f"service_ms_p{q}": float(np.percentile(kept, q)) for q in (50, 95, 99)} if kept.size
                       else dict.fromkeys(("service_ms_p50", "service_ms_p95", "service_ms_p99")))
        return {"requests": self.requests, "errors": self.errors, "model_version": self.version,
                "uptime_s": time.time() - self.started, **percentiles}


def _number(name: str, value: Any) -> float:
    if value is None:
        return math.nan  # a missing value: the trees send it the way training's missing values went
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise BadRequest(422, f"feature {name}: {json.dumps(value)[:40]} is not a number (null for missing)")
    return float(value)


async def _body(receive: Receive) -> bytes:
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise BadRequest(400, "the client went away")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise BadRequest(413, f"the body is over {MAX_BODY_BYTES:,} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _json(send: Send, status: int, payload: dict) -> None:
    body = json.dumps(payload).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


def champion_app(db_path: str, alias: str = "champion") -> ScoringApp:
    """The app for the version ``alias`` points to in the registry at ``db_path`` (RegistryError if none)."""
    from pathlib import Path

    from mlorg.pipeline.registry import Registry, RegistryError

    if not Path(db_path).is_file():
        raise RegistryError(f"no registry at {db_path} (run `mlorg pipeline run` first)")
    registry = Registry(db_path)
    try:
        aliases = registry.aliases()
        if alias not in aliases:
            raise RegistryError(f"registry {db_path} has no {alias!r} alias (run `mlorg pipeline run` first)")
        version = aliases[alias]
        estimator = registry.load_model(version)
        threshold = float(registry.model(version)["metrics"].get("threshold", 0.5))
    finally:
        registry.close()
    return ScoringApp(TreeScorer(estimator), version=version, threshold=threshold)


def create_app() -> ScoringApp:
    """uvicorn's factory in each worker process: the registry named by ``$MLORG_SERVE_DB``."""
    return champion_app(os.environ[DB_ENV])
