"""TradeFly bot."""
