"""The Massive live feed inside the daemon: pick contracts, stream, drain into the engine.

At start the chain snapshot of each configured underlying (REST) chooses what to stream: the
contracts within `feed.moneyness_band` of the money on the `feed.expirations` nearest
expirations; their open interest seeds the market state. Then events go from the feed's queue
into the engine, in arrival order, on the daemon's loop (the engine is synchronous).

Staleness is the feed's own judgement (`MassiveFeed.is_stale`: before the first data, while
a socket is down, after `feed.stale_after_seconds` of silence). It is mirrored into the
account view, where the connectivity risk rule refuses entries (exits pass), and into
/metrics with the feed's drop and reconnect counters.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Protocol

from bot.account_view import AccountView
from bot.config import ConfigError, Settings
from bot.wiring import Bot

if TYPE_CHECKING:
    from market.feeds.massive import MassiveFeed

log = logging.getLogger(__name__)

DRAIN_BATCH = 500  # events handed to the engine before other tasks get a turn


class LiveFeed(Protocol):
    """What the daemon drives: `run()` until cancelled, and whether the feed is stale."""

    async def run(self) -> None: ...

    @property
    def stale(self) -> bool: ...


class LiveFeedError(RuntimeError):
    """The live feed has failed for good (a refused key, the engine failing on an event)."""


class MassiveLive:
    """Owns one `MassiveFeed` for the daemon's lifetime."""

    def __init__(self, bot: Bot, settings: Settings) -> None:
        cfg = settings.feed
        key = settings.massive.api_key
        if key is None or not key.get_secret_value():
            raise ConfigError("feed.kind = massive needs the API key in the environment: "
                                "TRADEFLY__MASSIVE__API_KEY")
        if not cfg.underlyings:
            raise ConfigError("feed.kind = massive needs [feed] underlyings = [\"SPY\", ...]")
        from market.feeds.massive import MassiveFeed  # the client loads only when used

        self.bot = bot
        self.settings = settings
        self.view = bot.orders.ctx if isinstance(bot.orders.ctx, AccountView) else None
        self._set_stale(True)  # nothing is known until the first data arrives
        self.feed: MassiveFeed = MassiveFeed(
            settings.massive, key.get_secret_value(), bot.clock,
            underlyings=cfg.underlyings, stale_after_seconds=cfg.stale_after_seconds,
            on_stale_change=self._set_stale)

    def _set_stale(self, stale: bool) -> None:
        if self.view is not None:
            self.view.feed_stale = stale
        self.bot.metrics.feed_stale.set(1 if stale else 0)

    @property
    def stale(self) -> bool:
        return self.feed.is_stale()

    async def run(self) -> None:
        """Stream until cancelled; raises `LiveFeedError` if the feed fails for good (a refused
        key). Chain snapshots that fail leave that underlying without options, logged."""
        stream = asyncio.create_task(self.feed.run(), name="massive-feed")
        drain = asyncio.create_task(self._drain(), name="massive-drain")
        export = asyncio.create_task(self._export_metrics(), name="massive-metrics")
        try:
            await self.subscribe_near_money()
            await asyncio.wait([stream, drain], return_when=asyncio.FIRST_COMPLETED)
            for task, what in ((stream, "massive feed"), (drain, "engine on a live event")):
                if task.done() and task.exception() is not None:
                    raise LiveFeedError(f"{what} failed: {task.exception()!r}")
        finally:
            await self.feed.stop()
            for task in (stream, drain, export):
                task.cancel()
            await asyncio.gather(stream, drain, export, return_exceptions=True)
            self._set_stale(True)
            self._export()

    async def subscribe_near_money(self) -> list[str]:
        """Subscribe each underlying's near-the-money contracts; returns what was added."""
        cfg = self.settings.feed
        added: list[str] = []
        for underlying in cfg.underlyings:
            try:
                chain = await self.feed.fetch_chain(underlying)
            except Exception as exc:  # an outage or a refusal: stream the underlying only
                log.error("no option chain for %s (%s): streaming the underlying only",
                          underlying, exc)
                continue
            nearest = set(chain.expirations()[:cfg.expirations])
            picked = [c for c in chain.moneyness_between(1 - cfg.moneyness_band,
                                                         1 + cfg.moneyness_band)
                      if c.expiration in nearest]
            self.bot.market.open_interest.update(
                {c.symbol: c.open_interest for c in picked if c.open_interest is not None})
            symbols = [c.symbol for c in picked]
            if symbols:
                self.feed.subscribe(*symbols)
            log.info("massive: streaming %s and %d option contracts", underlying, len(symbols))
            added += symbols
        self.bot.metrics.feed_subscribed.set(len(added))
        return added

    async def _drain(self) -> None:
        events, engine = self.feed.events, self.bot.engine
        while True:
            engine.on_event(await events.get())
            for _ in range(DRAIN_BATCH):
                if events.empty():
                    break
                engine.on_event(events.get_nowait())

    async def _export_metrics(self) -> None:
        while True:
            self._export()
            await asyncio.sleep(1.0)

    def _export(self) -> None:
        metrics = self.bot.metrics
        for reason, count in self.feed.dropped.items():
            metrics.feed_dropped.labels(reason).set(count)
        for market, count in self.feed.reconnects.items():
            metrics.feed_reconnects.labels(market).set(count)
