"""The Alpaca option data stream inside the daemon (`feed.kind = "alpaca"`).

Alpaca's chain snapshot carries Greeks but not the underlying's price, so "near the money" is
chosen by delta: per underlying, on the `feed.expirations` nearest expirations, the
`feed.contracts_per_side` calls and as many puts whose |delta| is closest to 0.5. Quotes and
trades go straight into the engine from alpaca-py's callbacks (they run on the daemon's loop);
bad ones are dropped and counted by the engine like any feed's.

alpaca-py reconnects by itself but says nothing about silence, so staleness is ours: stale
until the first event and after `feed.stale_after_seconds` without one. It is mirrored into the
account view (the connectivity rule refuses entries meanwhile) and into /metrics.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from datetime import date, datetime, timedelta

from bot.account_view import AccountView
from bot.config import ConfigError, Settings
from bot.wiring import Bot
from brokers.alpaca_data import AlpacaMarketData, OptionSnapshot
from market.data import Quote, Trade
from market.instruments import OptionRight, OptionSymbol

log = logging.getLogger(__name__)


class AlpacaLive:
    """Owns the Alpaca option stream for the daemon's lifetime."""

    def __init__(self, bot: Bot, settings: Settings) -> None:
        alpaca = settings.alpaca
        if alpaca.api_key is None or alpaca.secret_key is None:
            raise ConfigError("feed.kind = alpaca needs TRADEFLY__ALPACA__API_KEY and "
                              "TRADEFLY__ALPACA__SECRET_KEY in the environment")
        if not settings.feed.underlyings:
            raise ConfigError("feed.kind = alpaca needs [feed] underlyings = [\"SPY\", ...]")
        self.bot = bot
        self.settings = settings
        self.data = AlpacaMarketData(alpaca)
        self.view = bot.orders.ctx if isinstance(bot.orders.ctx, AccountView) else None
        self.stale_after = timedelta(seconds=settings.feed.stale_after_seconds)
        self.last_event_at: datetime | None = None
        self._stale = True
        self._publish_stale(True)

    @property
    def stale(self) -> bool:
        last = self.last_event_at
        return last is None or self.bot.clock.now() - last > self.stale_after

    def _publish_stale(self, stale: bool) -> None:
        if self.view is not None:
            self.view.feed_stale = stale
        self.bot.metrics.feed_stale.set(1 if stale else 0)

    def _on_event(self, event: Quote | Trade) -> None:
        self.last_event_at = self.bot.clock.now()
        self.bot.engine.on_event(event)

    async def run(self) -> None:
        """Subscribe near-the-money contracts, then watch staleness until cancelled."""
        try:
            symbols = await self.pick_contracts()
            self.bot.metrics.feed_subscribed.set(len(symbols))
            if symbols:
                await self.data.stream_options(symbols, self._on_event, self._on_event)
            while True:
                stale = self.stale
                if stale != self._stale:
                    self._stale = stale
                    log.warning("alpaca feed is %s", "STALE: no new entries" if stale else "live")
                    self._publish_stale(stale)
                await asyncio.sleep(min(1.0, self.stale_after.total_seconds() / 4))
        finally:
            self._publish_stale(True)
            await self.data.close()

    async def pick_contracts(self) -> list[str]:
        cfg = self.settings.feed
        picked: list[str] = []
        for underlying in cfg.underlyings:
            try:
                chain = await self.data.chain(underlying)
            except Exception as exc:  # an outage or a refusal: nothing to stream for it
                log.error("no option chain for %s from alpaca (%s)", underlying, exc)
                continue
            symbols = nearest_to_the_money(chain, cfg.expirations, cfg.contracts_per_side)
            log.info("alpaca: streaming %d option contracts of %s", len(symbols), underlying)
            picked += symbols
        return picked


def nearest_to_the_money(chain: list[OptionSnapshot], expirations: int,
                         per_side: int) -> list[str]:
    """Per right, on the `expirations` nearest expirations, the `per_side` contracts whose
    |delta| is closest to 0.5; contracts without a delta are left out."""
    by_expiry: dict[date, list[tuple[OptionSnapshot, OptionSymbol]]] = defaultdict(list)
    for snap in chain:
        if snap.delta is not None:
            spec = OptionSymbol.parse(snap.symbol)
            by_expiry[spec.expiration].append((snap, spec))
    out: list[str] = []
    for expiry in sorted(by_expiry)[:expirations]:
        for right in (OptionRight.CALL, OptionRight.PUT):
            side = [s for s, spec in by_expiry[expiry] if spec.right is right]
            side.sort(key=lambda s: abs(abs(s.delta or 0.0) - 0.5))
            out += [s.symbol for s in side[:per_side]]
    return out
