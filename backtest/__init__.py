"""TradeFly backtest."""
