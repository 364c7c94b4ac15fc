"""Bar aggregation against pandas resampling of the real minute bars, plus the edge cases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from market.bars import BarAggregator, bar_problem
from market.calendar import ExchangeCalendar
from market.data import Bar, Trade
from tests.market.ta_data import ROOT, SHARED

NY = "America/New_York"


@pytest.fixture(scope="module")
def calendar() -> ExchangeCalendar:
    return ExchangeCalendar()


def minute_bars(path) -> tuple[pd.DataFrame, list[Bar]]:
    """Regular-hours minute bars; Bar.ts is the minute's END (when it became known)."""
    df = pd.read_csv(path)
    df = df[df.regular_hours.astype(str) == "True"].dropna(subset=["close"]).copy()
    df["start"] = pd.to_datetime(df.timestamp, utc=True)
    bars = [Bar("X", (t + pd.Timedelta(minutes=1)).to_pydatetime(), o, h, lo, c, v)
            for t, o, h, lo, c, v in zip(df.start, df.open, df.high, df.low, df.close, df.volume,
                                         strict=True)]
    return df, bars


def resampled(df: pd.DataFrame, rule: str) -> pd.DataFrame:
    """Independent reference: pandas buckets anchored at each day's 09:30, labelled by end."""
    out = []
    for _, day in df.groupby(df.start.dt.tz_convert(NY).dt.date):
        local = day.set_index(day.start.dt.tz_convert(NY))
        origin = local.index[0].normalize() + pd.Timedelta(hours=9, minutes=30)
        agg = local.resample(rule, origin=origin, label="right", closed="left").agg(
            {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"})
        out.append(agg.dropna(subset=["open"]))
    return pd.concat(out)


def feed(agg: BarAggregator, bars: list[Bar]) -> list[Bar]:
    closed: list[Bar] = []
    for bar in bars:
        closed.extend(agg.on_bar(bar))
    return closed


@pytest.mark.parametrize(("tf", "rule"), [("5m", "5min"), ("15m", "15min"), ("30m", "30min")])
def test_intraday_bars_equal_pandas_resampling(calendar, tf, rule) -> None:
    df, bars = minute_bars(SHARED / "equity_minute" / "IBM_2013-10-07_1min.csv.gz")
    got = [b for b in feed(BarAggregator(calendar, [tf]), bars) if b.timeframe == tf]
    ref = resampled(df, rule)
    assert len(got) == len(ref) == 390 // int(tf[:-1])
    for bar, end, (_, row) in zip(got, ref.index, ref.iterrows(), strict=True):
        assert bar.ts == end.to_pydatetime()
        assert (bar.open, bar.high, bar.low, bar.close, bar.volume) == (
            row.open, row.high, row.low, row.close, row.volume)


def test_half_day_hour_bars_end_at_the_early_close(calendar) -> None:
    df, bars = minute_bars(ROOT / "data" / "replay" / "GOOG_2015-12-24_1min.csv.gz")
    got = feed(BarAggregator(calendar, ["1h", "1d"]), bars)
    hours = [b for b in got if b.timeframe == "1h"]
    ends = [b.ts.astimezone(UTC).strftime("%H:%M") for b in hours]
    assert ends == ["15:30", "16:30", "17:30", "18:00"]  # 10:30 11:30 12:30 13:00 New York
    last = df[df.start >= pd.Timestamp("2015-12-24 17:30", tz=UTC)]
    assert hours[-1].volume == last.volume.sum() and hours[-1].close == last.close.iloc[-1]
    (day,) = [b for b in got if b.timeframe == "1d"]
    assert day.ts == datetime(2015, 12, 24, 18, 0, tzinfo=UTC)
    assert (day.open, day.high, day.low, day.close, day.volume) == (
        df.open.iloc[0], df.high.max(), df.low.min(), df.close.iloc[-1], df.volume.sum())


def test_a_bar_is_emitted_only_when_it_closes_and_the_forming_bar_is_explicit(calendar) -> None:
    _, bars = minute_bars(SHARED / "equity_minute" / "IBM_2013-10-07_1min.csv.gz")
    agg = BarAggregator(calendar, ["15m"])
    for bar in bars[:14]:  # 09:30 .. 09:44 minutes
        assert agg.on_bar(bar) == []
    forming = agg.forming("X", "15m")
    assert forming is not None and forming.ts == bars[13].ts  # known up to 09:44, no further
    assert forming.high == max(b.high for b in bars[:14])
    (closed,) = agg.on_bar(bars[14])  # the 09:44-09:45 minute closes the bucket
    assert closed.ts == bars[14].ts and closed.volume == sum(b.volume for b in bars[:15])
    assert agg.forming("X", "15m") is None


def test_a_bucket_without_its_last_minute_closes_on_the_next_bar_or_on_flush(calendar) -> None:
    _, bars = minute_bars(SHARED / "equity_minute" / "IBM_2013-10-07_1min.csv.gz")
    agg = BarAggregator(calendar, ["5m"])
    feed(agg, bars[:4])  # 09:35 minute missing
    assert agg.flush(bars[3].ts) == []
    (late,) = agg.flush(bars[4].ts)
    assert late.ts == bars[4].ts and late.close == bars[3].close
    agg2 = BarAggregator(calendar, ["5m"])
    feed(agg2, bars[:4])
    closed = agg2.on_bar(bars[5])  # a minute of the next bucket arrives
    assert [b.ts for b in closed] == [bars[4].ts]


def test_sessions_never_mix_and_no_bar_straddles_the_open(calendar) -> None:
    frames, all_bars = [], []
    for day in ("07", "08"):
        df, bars = minute_bars(SHARED / "equity_minute" / f"IBM_2013-10-{day}_1min.csv.gz")
        frames.append(df)
        all_bars.extend(bars)
    got = feed(BarAggregator(calendar, ["1h", "1d"]), all_bars)
    days = [b for b in got if b.timeframe == "1d"]
    assert [b.volume for b in days] == [f.volume.sum() for f in frames]
    first_hour_day2 = [b for b in got if b.timeframe == "1h"][7]
    assert first_hour_day2.ts == datetime(2013, 10, 8, 14, 30, tzinfo=UTC)  # 10:30 New York
    assert first_hour_day2.open == frames[1].open.iloc[0]


def test_bad_and_out_of_session_bars_are_dropped_and_counted(calendar, caplog) -> None:
    agg = BarAggregator(calendar, ["5m"])
    ts = datetime(2013, 10, 7, 13, 31, tzinfo=UTC)  # 09:31 New York
    assert agg.on_bar(Bar("X", ts, 1, 2, 3, 1.5, 10)) == []  # high below low
    assert agg.on_bar(Bar("X", ts, 1, 2, 1, float("nan"), 10)) == []
    assert agg.on_bar(Bar("X", ts, 1, 2, 1, float("nan"), 10)) == []
    assert agg.on_bar(Bar("X", ts - timedelta(hours=2), 1, 2, 1, 1.5, 10)) == []  # pre-market
    assert agg.dropped == {"high_below_low": 1, "nan": 2, "outside_session": 1}
    assert agg.forming("X", "5m") is None
    assert sum("nan" in r.message for r in caplog.records) == 1  # logged once per reason
    assert bar_problem(Bar("X", ts, 5, 6, 4, 7, 1)) == "outside_range"
    assert bar_problem(Bar("X", ts, 5, 6, 4, 5, -1)) == "negative_volume"


def test_trades_build_minute_bars(calendar) -> None:
    agg = BarAggregator(calendar, ["5m"])
    t0 = datetime(2015, 12, 24, 14, 30, 5, tzinfo=UTC)  # 09:30:05
    prints = [(0, 10.0, 1), (20, 10.5, 2), (50, 9.8, 3), (61, 10.1, 4)]
    out = []
    for sec, price, size in prints:
        out.extend(agg.on_trade(Trade("OPT", t0 + timedelta(seconds=sec), price, size)))
    (minute,) = out
    assert minute.ts == datetime(2015, 12, 24, 14, 31, tzinfo=UTC)
    assert (minute.open, minute.high, minute.low, minute.close, minute.volume) == (
        10.0, 10.5, 9.8, 9.8, 6)
    forming = agg.forming("OPT", "1m")
    assert forming is not None and forming.close == 10.1
    (second,) = agg.flush(datetime(2015, 12, 24, 14, 32, tzinfo=UTC))
    assert second.volume == 4


def test_unknown_timeframe_is_refused(calendar) -> None:
    with pytest.raises(ValueError, match="unknown timeframe"):
        BarAggregator(calendar, ["7m"])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 2 * 390 - 1), min_size=1, max_size=300, unique=True),
       st.sampled_from(["5m", "15m", "30m", "1h", "1d"]))
def test_any_subset_of_minutes_aggregates_without_loss_or_straddling(minutes, tf) -> None:
    """Random minutes of two sessions (gaps anywhere): every minute lands in exactly one bar of
    its own session, whose close time is the bucket end, and nothing is emitted early."""
    calendar = ExchangeCalendar()
    opens = [datetime(2013, 10, 7, 13, 30, tzinfo=UTC), datetime(2013, 10, 8, 13, 30, tzinfo=UTC)]
    bars = []
    for m in sorted(minutes):
        day, k = divmod(m, 390)
        ts = opens[day] + timedelta(minutes=k + 1)
        bars.append(Bar("X", ts, 10.0 + k, 11.0 + k, 9.0 + k, 10.5 + k, float(m + 1)))
    agg = BarAggregator(calendar, [tf])
    out = []
    for bar in bars:
        for closed in agg.on_bar(bar):
            assert closed.ts <= bar.ts  # never emitted before it closed
            out.append(closed)
    out += agg.flush(datetime(2013, 10, 9, tzinfo=UTC))
    assert sum(b.volume for b in out) == sum(b.volume for b in bars)
    step = {"5m": 5, "15m": 15, "30m": 30, "1h": 60, "1d": 390}[tf]
    for b in out:
        day = 0 if b.ts < opens[1] else 1
        elapsed = int((b.ts - opens[day]).total_seconds() // 60)
        assert elapsed % step == 0 or elapsed == 390  # ends on a bucket edge or at the close
        start = opens[day] + timedelta(minutes=(elapsed - 1) // step * step)
        members = [x for x in bars if start < x.ts <= b.ts]
        assert members and b.volume == sum(x.volume for x in members)
        assert b.high == max(x.high for x in members) and b.open == members[0].open
