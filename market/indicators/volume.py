"""Volume: OBV, session-anchored VWAP, relative volume — streaming."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from market.data import Bar
from market.indicators._base import NAN, Streaming, check_period

NEW_YORK = ZoneInfo("America/New_York")


class OBV(Streaming):
    """On-Balance Volume: volume added on up closes, subtracted on down closes.

    It starts at the first bar's volume (TA-Lib's convention), so only differences of OBV are
    comparable between sources that start on different bars.
    """

    __slots__ = ("_prev",)
    name = "obv"

    def __init__(self) -> None:
        super().__init__(1)
        self._prev = NAN

    def update(self, close: float, volume: float) -> float:
        if (close + volume) - (close + volume):
            return self._reject()
        self.n += 1
        if self.n == 1:
            self.value = volume
        elif close > self._prev:
            self.value += volume
        elif close < self._prev:
            self.value -= volume
        self._prev = close
        return self.value

    def update_bar(self, bar: Bar) -> float:
        return self.update(bar.close, bar.volume)


class VWAP(Streaming):
    """Volume-weighted average typical price since the session open, reset at each new session.

    Sessions are New York calendar days of the bar's close time (pass ``new_session=True`` to
    ``update`` to reset by hand, e.g. from the bar aggregator). Until some volume has traded in
    the session the VWAP is undefined: NaN, and ``ready`` is False.
    """

    __slots__ = ("_next_reset", "_pv", "_vol", "session_day")
    name = "vwap"

    def __init__(self) -> None:
        super().__init__(1)
        self._pv = self._vol = 0.0
        self._next_reset: datetime | None = None
        self.session_day: date | None = None

    @property
    def ready(self) -> bool:
        return self._vol > 0.0

    @property
    def not_ready_reason(self) -> str | None:
        return None if self._vol > 0.0 else "no volume yet this session"

    def reset(self) -> None:
        self._pv = self._vol = 0.0
        self.value = NAN

    def update(self, high: float, low: float, close: float, volume: float,
               new_session: bool = False) -> float:
        pv = (high + low + close) / 3.0 * volume
        if pv - pv or volume < 0:  # NaN/inf in any input makes pv - pv NaN
            return self._reject()
        if new_session:
            self.reset()
        self.n += 1
        vol = self._vol = self._vol + volume
        if vol > 0.0:
            value = self.value = (total := self._pv + pv) / vol
            self._pv = total
            return value
        self._pv += pv
        return NAN

    def update_bar(self, bar: Bar) -> float:
        ts = bar.ts
        boundary = self._next_reset
        new = boundary is None or ts >= boundary
        if new:
            day = ts.astimezone(NEW_YORK).date()
            self.session_day = day
            self._next_reset = datetime.combine(day + timedelta(days=1), time(), NEW_YORK)
        return self.update(bar.high, bar.low, bar.close, bar.volume, new)


class RelativeVolume(Streaming):
    """This bar's volume over the mean volume of the ``period`` bars before it.

    NaN while that mean is 0 (no reference volume yet), never a division by zero.
    """

    __slots__ = ("_buf", "_i", "_sum", "period")
    name = "relvol"

    def __init__(self, period: int = 20) -> None:
        super().__init__(check_period("period", period, 1) + 1)
        self.period = period
        self._buf = [0.0] * period
        self._i = 0
        self._sum = 0.0

    def update(self, volume: float) -> float:
        if volume - volume or volume < 0:
            return self._reject()
        n = self.n = self.n + 1
        mean = self._sum / self.period
        i = self._i
        self._sum += volume - self._buf[i]
        self._buf[i] = volume
        self._i = i + 1 if i + 1 < self.period else 0
        if n <= self.period:
            return NAN
        value = self.value = volume / mean if mean > 0.0 else NAN
        return value

    def update_bar(self, bar: Bar) -> float:
        return self.update(bar.volume)
