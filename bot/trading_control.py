"""Trading state, pause and the breaker latch, persisted so they survive a restart.

The daily-loss latch (REDUCING) lasts until the next session; a kill (HALTED) lasts until an
admin resumes. Every change is written to the store before it takes effect in memory.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.events import EventBus, Notice
from bot.store.store import Store
from risk.state import TradingState


@dataclass
class TradingControl:
    store: Store
    bus: EventBus
    state: TradingState = TradingState.ACTIVE
    paused: bool = False
    reason: str = ""
    latched_by_breaker: bool = False
    session_day: str = ""
    start_of_day_equity: float = 0.0

    def load(self) -> None:
        saved = self.store.all_state()
        self.state = TradingState(saved.get("state", TradingState.ACTIVE.value))
        self.paused = bool(saved.get("paused", False))
        self.reason = str(saved.get("reason", ""))
        self.latched_by_breaker = bool(saved.get("latched_by_breaker", False))
        self.session_day = str(saved.get("session_day", ""))
        self.start_of_day_equity = float(saved.get("start_of_day_equity", 0.0))

    def set_state(self, state: TradingState, reason: str, ts: datetime,
                  by_breaker: bool = False) -> None:
        if state is self.state and reason == self.reason:
            return
        old = self.state
        self.store.set_state("state", state.value, ts)
        self.store.set_state("reason", reason, ts)
        self.store.set_state("latched_by_breaker", by_breaker, ts)
        self.state, self.reason, self.latched_by_breaker = state, reason, by_breaker
        self.bus.publish(Notice("state_changed", ts,
                                f"Trading {old.value} → {state.value}: {reason}", priority=2,
                                data={"old": old.value, "new": state.value, "reason": reason}))

    def set_paused(self, paused: bool, ts: datetime, who: str = "") -> None:
        self.store.set_state("paused", paused, ts)
        self.paused = paused
        verb = "paused" if paused else "resumed"
        self.bus.publish(Notice("paused" if paused else "resumed", ts,
                                f"Entries {verb}{' by ' + who if who else ''}", priority=2))

    def start_session(self, day: str, equity: float, ts: datetime) -> bool:
        """Open a new session's books; returns True if this is a new day. A breaker latch from
        an earlier session is released; a kill is not."""
        if day == self.session_day:
            return False
        self.store.set_state("session_day", day, ts)
        self.store.set_state("start_of_day_equity", equity, ts)
        self.session_day, self.start_of_day_equity = day, equity
        if self.latched_by_breaker and self.state is TradingState.REDUCING:
            self.set_state(TradingState.ACTIVE, f"new session {day}: breaker released", ts)
        return True
