"""TradeFly risk."""
