"""Dashboard routes: pages, the REST API (documented at /docs) and the /ws live feed.

Reads use the typed views of bot.control_views directly (a read is not an audited command);
every action goes through the ControlAPI, with the same roles, confirmations and audit trail as
Telegram. Every handler is `async def` on purpose: it then runs on the daemon's event loop,
between market events, never in a worker thread (the store and the engine are single-threaded).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request, WebSocket
from fastapi.responses import FileResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field

from bot import execution_quality
from bot.control import ControlAPI, Outcome
from bot.control_views import (
    orders_view,
    pnl_view,
    positions_view,
    risk_view,
    session_day,
    signals_view,
    status_view,
    strategies_view,
)
from bot.portfolio import multiplier
from bot.web.auth import SESSION_COOKIE, WebAuth
from bot.web.hub import LiveHub, bar_message, chart_symbols
from bot.wiring import Bot
from market.calendar import NEW_YORK

STATIC = Path(__file__).parent / "static"
Health = Callable[[], dict[str, Any]]


class CommandBody(BaseModel):
    args: list[str] = Field(default_factory=list, description="Command arguments, e.g. "
                            "['scalping', 'off'] for /strategy.")


class LoginBody(BaseModel):
    token: str = Field(description="The dashboard token (TRADEFLY__HTTP__TOKEN).")


def _finite(value: Any) -> Any:
    """JSON has no NaN: report an unknown figure as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    return value


def position_greeks(bot: Bot, symbol: str, quantity: int) -> dict[str, float | None]:
    """Greeks of a whole position (per-share Greeks x contracts x multiplier), from the same
    cached source the risk rules use; None when the market gives no fresh enough inputs."""
    view = bot.orders.ctx
    source = getattr(view, "greeks_source", None)
    greeks = source(symbol) if source is not None else None
    if greeks is None:
        return {"delta": None, "gamma": None, "theta": None, "vega": None}
    size = quantity * multiplier(symbol)
    return {"delta": round(greeks.delta * size, 2), "gamma": round(greeks.gamma * size, 3),
            "theta": round(greeks.theta * size, 2), "vega": round(greeks.vega * size, 2)}


def _outcome(outcome: Outcome) -> dict[str, Any]:
    return {"status": outcome.status.value, "command": outcome.command,
            "message": outcome.message, "token": outcome.token,
            "expires_in": outcome.expires_in}


def mount_dashboard(app: FastAPI, bot: Bot, health: Health) -> LiveHub:
    """Add the dashboard to the daemon's app; returns the hub (the daemon stops it)."""
    auth = WebAuth(bot.settings.http.token)

    def snapshot() -> dict[str, Any]:
        return {"status": asdict(status_view(bot, health())), "pnl": asdict(pnl_view(bot))}

    hub = LiveHub(bot, snapshot)

    async def require(request: Request) -> None:
        host = request.client.host if request.client else None
        if not auth.allowed(host, request.headers, request.cookies):
            raise HTTPException(401, "login required", {"WWW-Authenticate": "Bearer"})

    api = APIRouter(prefix="/api", dependencies=[Depends(require)], tags=["dashboard"])

    _read_routes(api, bot, snapshot)
    _control_routes(api, ControlAPI(bot, health=health), auth)
    app.include_router(api)

    @app.post("/login", tags=["dashboard"], summary="Trade the token for a session cookie")
    async def login(body: LoginBody, request: Request, response: Response) -> dict[str, bool]:
        if not auth.check_token(body.token):
            raise HTTPException(401, "wrong token")
        response.set_cookie(SESSION_COOKIE, auth.new_session(), httponly=True,
                            samesite="strict", secure=request.url.scheme == "https")
        return {"ok": True}

    @app.get("/login", include_in_schema=False)
    async def login_page() -> FileResponse:
        return FileResponse(STATIC / "login.html")

    @app.get("/", include_in_schema=False)
    async def index(request: Request) -> Response:
        host = request.client.host if request.client else None
        if not auth.allowed(host, request.headers, request.cookies):
            return RedirectResponse("/login", status_code=303)
        return FileResponse(STATIC / "index.html")

    @app.websocket("/ws")
    async def live(socket: WebSocket) -> None:
        host = socket.client.host if socket.client else None
        if not auth.allowed(host, socket.headers, socket.cookies):
            await socket.close(code=1008, reason="login required")
            return
        await socket.accept()
        await hub.serve(socket, {"type": "hello", **snapshot()})

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return hub


def _read_routes(api: APIRouter, bot: Bot, snapshot: Callable[[], dict[str, Any]]) -> None:
    @api.get("/status", summary="Mode, trading state, breaker, feed and broker health, P&L")
    async def status() -> dict[str, Any]:
        return snapshot()

    @api.get("/positions", summary="Open positions marked at the liquidation side, with "
             "position Greeks")
    async def positions() -> dict[str, Any]:
        view = positions_view(bot)
        return {"rows": [{**asdict(row), **position_greeks(bot, row.symbol, row.quantity)}
                         for row in view.rows], "total_unrealized": view.total_unrealized}

    @api.get("/orders", summary="Working orders and the latest finished ones")
    async def orders() -> Any:
        return orders_view(bot, recent=50)

    @api.get("/signals", summary="Latest signals with reasons, confidence and outcome")
    async def signals(limit: int = 50) -> Any:
        return signals_view(bot, limit=min(limit, 500))

    @api.get("/risk", summary="Risk limits, their use, and today's denials by rule")
    async def risk() -> Any:
        return risk_view(bot)

    @api.get("/denials", summary="Latest risk denials with rule and reason")
    async def denials(limit: int = 50) -> list[dict[str, Any]]:
        rows = bot.store.load_risk_decisions(min(limit, 500))
        return [r for r in rows if r["decision"] == "reject"]

    @api.get("/strategies", summary="Strategies and whether they run")
    async def strategies() -> Any:
        return strategies_view(bot)

    @api.get("/trades", summary="Today's fills (the session day of the books)")
    async def trades() -> list[dict[str, Any]]:
        day = session_day(bot)
        return [{"fill_id": f.fill_id, "ts": f.ts, "symbol": f.symbol, "side": f.side.value,
                 "quantity": f.quantity, "price": f.price, "commission": f.commission,
                 "underlying": f.underlying} for f in bot.store.load_fills()
                if f.ts.astimezone(NEW_YORK).date().isoformat() == day]

    @api.get("/quality", summary="Cost of liquidity per strategy (positive = good for us)")
    async def quality() -> dict[str, Any]:
        summary = execution_quality.summarize(execution_quality.from_store(bot.store))
        return {k: _finite(v) for k, v in summary.items()}

    @api.get("/chart", summary="Bars of an underlying and the bot's entries and exits on it")
    async def chart(symbol: str | None = None) -> dict[str, Any]:
        symbols = chart_symbols(bot)
        symbol = symbol or (symbols[0] if symbols else "")
        bars = [bar_message(b) for b in bot.market.bars.get(symbol, ())]
        markers = [{"time": int(f.ts.timestamp()) // 60 * 60, "side": f.side.value,
                    "symbol": f.symbol, "quantity": f.quantity, "price": f.price}
                   for f in bot.store.load_fills() if f.underlying == symbol]
        first = bars[0]["time"] if bars else None
        return {"symbol": symbol, "symbols": symbols, "bars": bars,
                "markers": [m for m in markers if first is None or m["time"] >= first]}


def _control_routes(api: APIRouter, control: ControlAPI, auth: WebAuth) -> None:
    @api.post("/control/{command}", summary="Run a control command (roles, confirmations, "
              "audit as on Telegram)")
    async def run_command(command: str, body: CommandBody, request: Request) -> dict[str, Any]:
        actor = auth.actor(request.client.host if request.client else None)
        return _outcome(control.execute(actor, command, body.args))

    @api.post("/control/confirm/{token}", summary="Confirm a command that asked for it")
    async def confirm(token: str, request: Request) -> dict[str, Any]:
        actor = auth.actor(request.client.host if request.client else None)
        return _outcome(control.confirm(actor, token))

    @api.post("/control/cancel/{token}", summary="Cancel a command awaiting confirmation")
    async def cancel(token: str, request: Request) -> dict[str, Any]:
        actor = auth.actor(request.client.host if request.client else None)
        return _outcome(control.cancel(actor, token))
