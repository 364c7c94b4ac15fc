"""Patterns: TA-Lib's candlestick recognizers (``candles``) and rule-based chart and volume
patterns (``chart``): support/resistance, breakouts, flags, triangles, double tops and
bottoms, head and shoulders, volume climaxes; ``live`` runs breakouts and climaxes per closed
bar."""
