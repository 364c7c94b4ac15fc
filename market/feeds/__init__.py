"""Market-data feeds: the replay of recorded data, and live vendor feeds."""
