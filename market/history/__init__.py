"""Market history: Massive flat files and REST → a Hive-partitioned Parquet store → queries.

Entry points: `fetch` (fill the store), `HistoryStore` (layout, `ls`), `import_shipped` (the
project's real sample data into the same store), `HistoryFeed` (replay events from the store),
`HistoryQuery` (DuckDB/Polars queries) and `derived` (IV/Greeks, volume averages, put/call).
"""
