"""The backtest report: one self-contained HTML page (plotly's JavaScript inlined, no network)
with the equity curve, drawdown, daily P&L against the target, the trades on the underlying's
chart, P&L by strategy and by hour, and the metrics tables; plus the JSON for machines."""

from __future__ import annotations

import html
import json
import math
from datetime import timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from backtest.metrics import Metrics
from backtest.runner import BacktestResult
from backtest.trades import TradeRecord
from market.calendar import NEW_YORK

GREEN, RED, BLUE, GREY = "#1a9850", "#d73027", "#2c7fb8", "#888888"


def to_json(result: BacktestResult, metrics: Metrics) -> dict[str, Any]:
    """The machine-readable result: metrics, trades and run facts (no plots)."""
    return {
        "metrics": metrics.to_dict(),
        "run": {"data": result.data_description, "days": [d.isoformat() for d in result.days],
                "events": result.events, "signals": result.signals, "orders": result.orders,
                "denied_by_risk": result.denied, "fills": result.fills,
                "dropped_quotes": result.dropped_quotes,
                "open_positions_at_end": result.open_at_end,
                "elapsed_seconds": round(result.elapsed_seconds, 3),
                "starting_equity": result.starting_equity},
        "trades": [t.to_dict() for t in result.trades],
        "execution_quality": {name: {k: None if isinstance(v, float) and math.isnan(v) else v
                                     for k, v in row.items()}
                              for name, row in result.execution_quality.items()},
    }


def write_json(path: Path, result: BacktestResult, metrics: Metrics) -> None:
    path.write_text(json.dumps(to_json(result, metrics), indent=2, default=str) + "\n")


def write_html(path: Path, result: BacktestResult, metrics: Metrics, title: str) -> None:
    figure = build_figure(result, metrics)
    plot = figure.to_html(full_html=False, include_plotlyjs=True, config={"responsive": True})
    path.write_text(_PAGE.format(title=html.escape(title), headline=_headline(metrics),
                                 plot=plot, tables=_tables(result, metrics)))


def build_figure(result: BacktestResult, metrics: Metrics) -> go.Figure:
    underlying = _busiest_underlying(result)
    fig = make_subplots(
        rows=5, cols=2, vertical_spacing=0.07, horizontal_spacing=0.08,
        specs=[[{"colspan": 2}, None], [{"colspan": 2}, None], [{"colspan": 2}, None],
               [{"colspan": 2}, None], [{}, {}]],
        row_heights=[0.22, 0.12, 0.28, 0.18, 0.2],
        subplot_titles=("Equity (marked at the liquidation side)", "Drawdown",
                        f"{underlying or 'Underlying'} with trades (▲ entry, ▼ exit; "
                        "green won, red lost)",
                        f"Daily P&L vs the ${metrics.daily_target:,.0f}/day target",
                        "Net P&L by strategy", "Net P&L by entry hour (New York)"))
    eq = _local(result.equity)
    fig.add_trace(go.Scatter(x=eq.index, y=eq.values, name="equity", line={"color": BLUE}),
                  row=1, col=1)
    peak = eq.cummax()
    fig.add_trace(go.Scatter(x=eq.index, y=(eq - peak).values, name="drawdown", fill="tozeroy",
                             line={"color": RED}), row=2, col=1)
    if underlying:
        _underlying_panel(fig, _local(result.underlying[underlying]), result.trades, underlying)
    daily = metrics.daily
    fig.add_trace(go.Bar(x=list(daily), y=list(daily.values()), name="daily P&L",
                         marker_color=[GREEN if v >= 0 else RED for v in daily.values()]),
                  row=4, col=1)
    fig.add_hline(y=metrics.daily_target, line_dash="dash", line_color=GREY, row=4, col=1,
                  annotation_text=f"target ${metrics.daily_target:,.0f}")
    strat = {k: v["net_pnl"] for k, v in metrics.by_strategy.items()}
    fig.add_trace(go.Bar(x=list(strat), y=list(strat.values()), name="by strategy",
                         marker_color=[GREEN if v >= 0 else RED for v in strat.values()]),
                  row=5, col=1)
    hours = metrics.by_hour
    fig.add_trace(go.Bar(x=[f"{h:02d}:00" for h in hours], y=list(hours.values()),
                         name="by hour",
                         marker_color=[GREEN if v >= 0 else RED for v in hours.values()]),
                  row=5, col=2)
    fig.update_layout(height=1700, showlegend=False, template="plotly_white",
                      margin={"l": 60, "r": 30, "t": 60, "b": 40})
    fig.update_xaxes(rangebreaks=_overnight_breaks(eq), row=1, col=1)
    fig.update_xaxes(rangebreaks=_overnight_breaks(eq), row=2, col=1)
    fig.update_xaxes(rangebreaks=_overnight_breaks(eq), row=3, col=1)
    fig.update_xaxes(type="category", row=4, col=1)
    for row in (1, 2, 4):
        fig.update_yaxes(tickformat="$,.0f", row=row, col=1)
    return fig


def _underlying_panel(fig: go.Figure, prices: pd.Series, trades: list[TradeRecord],
                      underlying: str) -> None:
    prices = prices.dropna()
    fig.add_trace(go.Scatter(x=prices.index, y=prices.values, name=underlying,
                             line={"color": GREY, "width": 1}), row=3, col=1)
    mine = [t for t in trades if (t.underlying or t.symbol) == underlying]
    if not mine or prices.empty:
        return
    for when, symbol, marker in (("entry_ts", "triangle-up", "entry"),
                                 ("exit_ts", "triangle-down", "exit")):
        stamps = pd.DatetimeIndex([getattr(t, when) for t in mine]).tz_convert(NEW_YORK)
        where = prices.index.get_indexer(stamps, method="ffill").clip(min=0)
        at = prices.iloc[where]
        fig.add_trace(go.Scatter(
            x=stamps, y=at.values, mode="markers", name=marker,
            marker={"symbol": symbol, "size": 10, "line": {"width": 1, "color": "#333"},
                    "color": [GREEN if t.net_pnl > 0 else RED for t in mine]},
            text=[f"{t.symbol} {t.quantity}x {marker} "
                  f"{t.entry_price if marker == 'entry' else t.exit_price:.2f}"
                  f"<br>net {t.net_pnl:+,.2f} ({t.exit_reason})" for t in mine],
            hoverinfo="text+x"), row=3, col=1)


def _local(series: pd.Series) -> pd.Series:
    out = series.copy()
    out.index = pd.DatetimeIndex(out.index).tz_convert(NEW_YORK)
    return out


def _overnight_breaks(eq: pd.Series) -> list[dict[str, Any]]:
    """Hide the gaps between sessions so days sit side by side."""
    if len(eq) < 2:
        return []
    stamps = pd.DatetimeIndex(eq.index)
    gaps = stamps[1:] - stamps[:-1]
    return [{"bounds": [stamps[i].isoformat(), stamps[i + 1].isoformat()]}
            for i, gap in enumerate(gaps) if gap > timedelta(hours=1)]


def _busiest_underlying(result: BacktestResult) -> str:
    counts: dict[str, int] = {u: 0 for u in result.underlying}
    for t in result.trades:
        key = t.underlying or t.symbol
        if key in counts:
            counts[key] += 1
    return max(counts, key=lambda u: counts[u]) if counts else ""


def money(value: float) -> str:
    return f"-${-value:,.2f}" if value < 0 else f"${value:,.2f}"


def _fmt(value: Any, kind: str = "") -> str:
    if value is None:
        return "n/a"
    if isinstance(value, timedelta):
        return str(value).split(".")[0]
    if isinstance(value, float) and math.isinf(value):
        return "∞"
    if kind == "$":
        return money(value)
    if kind == "%":
        return f"{value:.1%}"
    if isinstance(value, float):
        return f"{value:,.2f}"
    return html.escape(str(value))


def _headline(m: Metrics) -> str:
    per_day = m.pnl_per_day
    verdict = ("meets" if per_day is not None and per_day >= m.daily_target else "misses")
    color = GREEN if verdict == "meets" else RED
    return (f"<p class='headline'>Net <b>{_fmt(m.net_pnl, '$')}</b> over {m.days} day(s): "
            f"<b style='color:{color}'>{_fmt(per_day, '$')}/day</b>, which {verdict} the "
            f"{_fmt(m.daily_target, '$')}/day target ({m.days_at_target} of {m.days} days "
            f"reached it). {m.trades} trades, costs paid {_fmt(m.costs_paid, '$')}.</p>")


def _tables(result: BacktestResult, m: Metrics) -> str:
    rows = [("Net P&L", _fmt(m.net_pnl, "$")), ("Return", _fmt(m.return_pct, "%")),
            ("P&L per day", _fmt(m.pnl_per_day, "$")),
            ("Daily target", _fmt(m.daily_target, "$")),
            ("Days at target", f"{m.days_at_target} / {m.days}"),
            ("Trades", str(m.trades)), ("Trades per day", _fmt(m.trades_per_day)),
            ("Win rate", _fmt(m.win_rate, "%")), ("Average win", _fmt(m.average_win, "$")),
            ("Average loss", _fmt(m.average_loss, "$")),
            ("Profit factor", _fmt(m.profit_factor)), ("Expectancy", _fmt(m.expectancy, "$")),
            ("Sharpe (daily, annualized)", _fmt(m.sharpe)), ("Sortino", _fmt(m.sortino)),
            ("Max drawdown", f"{_fmt(m.max_drawdown, '$')} ({_fmt(m.max_drawdown_pct, '%')})"),
            ("Longest drawdown", _fmt(m.max_drawdown_duration)),
            ("Exposure", _fmt(m.exposure, "%")), ("Average hold", _fmt(m.average_hold)),
            ("Costs paid (commissions + fees)", _fmt(m.costs_paid, "$")),
            ("Signals / orders / denied by risk", f"{result.signals} / {result.orders} / "
                                                  f"{result.denied}"),
            ("Events replayed", f"{result.events:,} in {result.elapsed_seconds:.1f} s"),
            ("Dropped quotes (bad or one-sided)", f"{result.dropped_quotes:,}")]
    out = ["<h2>Metrics</h2><table>"]
    out += [f"<tr><th>{html.escape(k)}</th><td>{v}</td></tr>" for k, v in rows]
    out.append("</table>")
    for title, group in (("By strategy", m.by_strategy),
                         ("By signal confidence", m.by_confidence),
                         ("By exit", m.by_exit)):
        out.append(f"<h2>{title}</h2><table><tr><th></th><th>trades</th><th>net P&amp;L</th>"
                   "<th>win rate</th><th>profit factor</th><th>expectancy</th></tr>")
        for name, row in group.items():
            out.append(f"<tr><th>{html.escape(name)}</th><td>{row['trades']}</td>"
                       f"<td>{_fmt(row['net_pnl'], '$')}</td><td>{_fmt(row['win_rate'], '%')}"
                       f"</td><td>{_fmt(row['profit_factor'])}</td>"
                       f"<td>{_fmt(row['expectancy'], '$')}</td></tr>")
        out.append("</table>")
    out.append(_execution_table(result.execution_quality))
    return "\n".join(out)


def _execution_table(quality: dict[str, dict[str, float]]) -> str:
    """Cost of liquidity per strategy: $ per contract vs crossing and vs the mid, the share of
    the spread saved, and where the mid went 1 and 5 minutes after the fill (+ = for us)."""
    if not quality:
        return ""
    out = ["<h2>Cost of liquidity</h2><table><tr><th></th><th>fills</th><th>contracts</th>"
           "<th>saved vs crossing</th><th>vs natural $/contract</th><th>vs mid $/contract</th>"
           "<th>spread captured</th><th>mark-out 1m $/contract</th>"
           "<th>mark-out 5m $/contract</th></tr>"]
    for name, raw in quality.items():
        row = {k: None if isinstance(v, float) and math.isnan(v) else v for k, v in raw.items()}
        out.append(f"<tr><th>{html.escape(name)}</th><td>{row['fills']}</td>"
                   f"<td>{row['contracts']}</td>"
                   f"<td>{_fmt(row['saved_vs_natural'], '$')}</td>"
                   f"<td>{_fmt(row['avg_vs_natural_per_contract'], '$')}</td>"
                   f"<td>{_fmt(row['avg_vs_mid_per_contract'], '$')}</td>"
                   f"<td>{_fmt(row['avg_spread_captured'], '%')}</td>"
                   f"<td>{_fmt(row['avg_markout_1m_per_contract'], '$')}</td>"
                   f"<td>{_fmt(row['avg_markout_5m_per_contract'], '$')}</td></tr>")
    out.append("</table>")
    return "\n".join(out)


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 24px; color: #222; }}
h1 {{ margin-bottom: 4px; }} .headline {{ font-size: 1.1em; }}
table {{ border-collapse: collapse; margin: 8px 24px 16px 0; display: inline-table;
        vertical-align: top; }}
th, td {{ border-bottom: 1px solid #ddd; padding: 4px 10px; text-align: right; }}
th {{ text-align: left; font-weight: 600; }}
</style></head><body>
<h1>{title}</h1>
{headline}
{plot}
{tables}
</body></html>
"""
