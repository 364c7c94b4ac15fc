"""TradeFly brokers."""
