"""The daemon's HTTP face: /healthz and Prometheus /metrics, served by uvicorn in our loop.

uvicorn's own signal handling is switched off: the daemon owns SIGTERM/SIGINT.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Generator
from typing import Any

import uvicorn
from fastapi import FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from bot.web.app import mount_dashboard
from bot.wiring import Bot


def create_app(bot: Bot, health: Callable[[], dict[str, Any]]) -> FastAPI:
    app = FastAPI(title="TradeFly", version="0.1.0",
                  description="Health, metrics and (optionally) the dashboard of a TradeFly "
                  "daemon.")

    @app.get("/healthz")
    def healthz(response: Response) -> dict[str, Any]:
        report = health()
        if not report.get("ok", False):
            response.status_code = 503
        return report

    @app.get("/metrics")
    def metrics() -> Response:
        return Response(generate_latest(bot.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    app.state.dashboard = mount_dashboard(app, bot, health)
    return app


class EmbeddedServer(uvicorn.Server):
    """uvicorn without its signal handlers, so it can share the daemon's event loop."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


def make_server(app: FastAPI, host: str, port: int) -> EmbeddedServer:
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off",
                            access_log=False)
    return EmbeddedServer(config)
