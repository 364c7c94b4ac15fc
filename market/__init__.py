"""TradeFly market."""
