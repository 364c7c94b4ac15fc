"""TradeFly strategies."""
