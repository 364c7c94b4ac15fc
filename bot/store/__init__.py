"""The bot's durable books: orders, fills, positions, signals, risk decisions, trading state."""
