"""Stream one flat file (gzip CSV) into store partitions, filtering underlyings on the way.

The whole file is never held in memory: pyarrow decompresses and parses it in blocks (in C++,
off the GIL, so parallel downloads really run in parallel), each block is filtered to the chosen
underlyings and appended to one Parquet writer per underlying. Peak memory is a few blocks plus
the buffered rows, whatever the file size (a day of OPRA quotes is ~100 GB of CSV).

Nothing is committed until the file has been read to its gzip trailer: a truncated or corrupt
stream raises `CorruptFile` and leaves only temp files, which are deleted.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from market.history.datasets import ROOT_ALIASES, AssetClass, Dataset
from market.history.store import HistoryStore

log = logging.getLogger(__name__)

BLOCK_SIZE = 8 << 20
FLUSH_ROWS = 128_000  # rows per underlying per row group
BUFFER_ROWS = 512_000  # all underlyings together: bounds memory whatever the file size
_OCC_TAIL = 15  # YYMMDD + C/P + 8-digit strike
_OPTION_TICKER = r"^O:[A-Z0-9.]{1,6}\d{6}[CP]\d{8}$"


class CorruptFile(ValueError):
    """The file could not be read to its end (truncated gzip, bad CSV): nothing was stored."""


class UnparseableValue(CorruptFile):
    """A cell is not a number where one is due; reading again with `lenient=True` drops such
    rows (counted) instead of failing the file."""


_NUMBER = {
    "int": r"^[-+]?\d+$",
    "float": r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$|^(?i:nan|inf|-inf)$",
}


def _coerce(batch: pa.RecordBatch, dataset: Dataset) -> tuple[pa.RecordBatch, int]:
    """Lenient mode: drop rows whose numeric cells do not parse, then cast to the real types."""
    types = dict(dataset.csv_types)
    keep = None
    for name, kind in types.items():
        if kind == pa.string():
            continue
        pattern = _NUMBER["int" if pa.types.is_integer(kind) else "float"]
        col = batch.column(name)
        ok = pc.or_(pc.is_null(col), pc.fill_null(pc.match_substring_regex(col, pattern), False))
        keep = ok if keep is None else pc.and_(keep, ok)
    bad = 0
    if keep is not None:
        bad = batch.num_rows - (pc.sum(pc.cast(keep, pa.int64())).as_py() or 0)
        if bad:
            batch = batch.filter(keep)
    columns = [pc.cast(batch.column(name), kind) for name, kind in types.items()]
    return pa.RecordBatch.from_arrays(columns, names=list(types)), bad


@dataclass
class IngestResult:
    """Rows per underlying (0 when the file had none), rows dropped as malformed, and the
    finished temp files waiting for `commit`."""

    rows: dict[str, int]
    dropped: int
    temp_files: dict[str, Path] = field(default_factory=dict)
    source_rows: int = 0


def wanted_roots(underlyings: Iterable[str]) -> dict[str, str]:
    """Option roots to keep → their underlying (SPX also keeps SPXW weeklies)."""
    chosen = {u.upper() for u in underlyings}
    roots = {u: u for u in chosen}
    roots.update({root: und for root, und in ROOT_ALIASES.items() if und in chosen})
    return roots


def _option_columns(tickers: pa.Array) -> list[tuple[str, pa.Array]]:
    """`O:SPY240816C00545000` → symbol, expiration, right, strike (on distinct tickers)."""
    symbol = pc.utf8_slice_codeunits(tickers, 2)
    ymd = pc.binary_join_element_wise("20", pc.utf8_slice_codeunits(tickers, -15, -9), "")
    expiration = pc.cast(pc.strptime(ymd, format="%Y%m%d", unit="s"), pa.date32())
    right = pc.utf8_slice_codeunits(tickers, -9, -8)
    strike = pc.divide(pc.cast(pc.utf8_slice_codeunits(tickers, -8), pa.int64()), 1000.0)
    return [("symbol", symbol), ("expiration", expiration), ("right", right),
            ("strike", strike)]


def _normalise(batch: pa.RecordBatch, dataset: Dataset, dictionary: pa.Array,
               indices: pa.Array) -> pa.Table:
    """Typed store columns: `symbol` (compact OCC for options), option fields, UTC timestamps.

    Ticker-derived columns are computed once per distinct ticker (`dictionary`) and spread to
    the rows with `take`: a minute-bar file repeats each ticker hundreds of times.
    """
    table = pa.Table.from_batches([batch])
    time_col = dataset.time_column
    stamps = pc.cast(table.column(time_col), pa.timestamp("ns", tz="UTC"))
    table = table.set_column(table.schema.get_field_index(time_col), time_col, stamps)
    table = table.drop_columns(["ticker"])
    if dataset.asset is AssetClass.OPTIONS:
        front = _option_columns(dictionary)
    else:
        front = [("symbol", dictionary)]
    for i, (name, column) in enumerate(front):
        table = table.add_column(i, name, pc.take(column, indices))
    return table


_OPTION_FIELDS = (("symbol", pa.string()), ("expiration", pa.date32()), ("right", pa.string()),
                  ("strike", pa.float64()))


def store_schema(dataset: Dataset) -> pa.Schema:
    """The columns a flat-file dataset has in the store (what `_normalise` produces)."""
    fields: list[tuple[str, pa.DataType]] = []
    if dataset.asset is AssetClass.OPTIONS:
        fields.extend(_OPTION_FIELDS)
    for name, kind in dataset.csv_types:
        if name == "ticker":
            if dataset.asset is AssetClass.STOCKS:
                fields.append(("symbol", pa.string()))
        elif name == dataset.time_column:
            fields.append((name, pa.timestamp("ns", tz="UTC")))
        else:
            fields.append((name, kind))
    return pa.schema(fields)


class _Partitioner:
    """Buffers filtered rows per underlying and appends them to one temp Parquet each."""

    def __init__(self, store: HistoryStore, underlyings: Iterable[str]) -> None:
        self.store = store
        self.rows = {u: 0 for u in underlyings}
        self._buffers: dict[str, list[pa.Table]] = {u: [] for u in self.rows}
        self._buffered = dict.fromkeys(self.rows, 0)
        self._writers: dict[str, pq.ParquetWriter] = {}
        self.paths: dict[str, Path] = {}

    def add(self, underlying: str, table: pa.Table) -> None:
        if table.num_rows == 0:
            return
        self._buffers[underlying].append(table)
        self._buffered[underlying] += table.num_rows
        self.rows[underlying] += table.num_rows
        if self._buffered[underlying] >= FLUSH_ROWS:
            self._flush(underlying)
        elif sum(self._buffered.values()) >= BUFFER_ROWS:
            self._flush(max(self._buffered, key=self._buffered.__getitem__))

    def _flush(self, underlying: str) -> None:
        if not self._buffers[underlying]:
            return
        table = pa.concat_tables(self._buffers[underlying])
        writer = self._writers.get(underlying)
        if writer is None:
            writer, self.paths[underlying] = self.store.open_writer(table.schema)
            self._writers[underlying] = writer
        writer.write_table(table)
        self._buffers[underlying].clear()
        self._buffered[underlying] = 0

    def finish(self) -> dict[str, Path]:
        for underlying in self.rows:
            self._flush(underlying)
        for writer in self._writers.values():
            writer.close()
        return self.paths

    def abort(self) -> None:
        for writer in self._writers.values():
            with contextlib.suppress(Exception):  # best effort: the file is deleted next
                writer.close()
        for path in self.paths.values():
            path.unlink(missing_ok=True)


def ingest_stream(stream: Any, dataset: Dataset, underlyings: Iterable[str],
                  store: HistoryStore, *, lenient: bool = False) -> IngestResult:
    """Read a gzip CSV stream (a pyarrow input stream or file object) into temp partitions.

    Raises `CorruptFile` if the stream is truncated or unparseable, `UnparseableValue` when a
    numeric cell is garbage (read it again with `lenient=True`, which parses every column as
    text first and drops such rows); either way nothing is left behind.
    """
    chosen = sorted({u.upper() for u in underlyings})
    if not chosen:
        raise ValueError("choose at least one underlying: flat files hold the whole market")
    dropped = 0

    def skip_bad_row(row: Any) -> str:
        nonlocal dropped
        dropped += 1
        return "skip"

    names = [name for name, _ in dataset.csv_types]
    types = {n: pa.string() for n in names} if lenient else dict(dataset.csv_types)
    convert = pcsv.ConvertOptions(column_types=types, include_columns=names,
                                  include_missing_columns=True, strings_can_be_null=True)
    parts = _Partitioner(store, chosen)
    source_rows = 0
    try:
        if not isinstance(stream, pa.NativeFile):
            stream = pa.PythonFile(stream, mode="r")
        gunzip = pa.CompressedInputStream(stream, "gzip")
        reader = pcsv.open_csv(
            gunzip, read_options=pcsv.ReadOptions(block_size=BLOCK_SIZE),
            parse_options=pcsv.ParseOptions(invalid_row_handler=skip_bad_row),
            convert_options=convert)
        for batch in reader:
            source_rows += batch.num_rows
            if lenient:
                batch, bad = _coerce(batch, dataset)
                dropped += bad
            _kept, bad = _route(batch, dataset, chosen, parts)
            dropped += bad
    except pa.ArrowInvalid as exc:
        parts.abort()
        if "conversion error" in str(exc).lower() and not lenient:
            raise UnparseableValue(f"{dataset.name}: a value does not parse ({exc})") from exc
        raise CorruptFile(f"{dataset.name}: unreadable file ({exc})") from exc
    except (OSError, EOFError) as exc:
        parts.abort()
        raise CorruptFile(f"{dataset.name}: unreadable file ({exc})") from exc
    except BaseException:
        parts.abort()
        raise
    if dropped:
        log.warning("%s: dropped %d malformed rows", dataset.name, dropped)
    return IngestResult(dict(parts.rows), dropped, parts.finish(), source_rows)


def _route(batch: pa.RecordBatch, dataset: Dataset, chosen: list[str],
           parts: _Partitioner) -> tuple[int, int]:
    """Filter one parsed block to the chosen underlyings and hand each its rows.

    Returns (rows kept, rows dropped as malformed tickers of a chosen underlying).
    """
    encoded = pc.dictionary_encode(batch.column("ticker"))
    dictionary, indices = encoded.dictionary, encoded.indices
    if dataset.asset is AssetClass.OPTIONS:
        roots_to_und = wanted_roots(chosen)
        roots = list(roots_to_und)
        root_code = pa.array([chosen.index(roots_to_und[r]) for r in roots], pa.int32())
        position = pc.index_in(pc.utf8_slice_codeunits(dictionary, 2, -_OCC_TAIL),
                               value_set=pa.array(roots))
        wanted = pc.is_valid(position)
        well_formed = pc.fill_null(pc.match_substring_regex(dictionary, _OPTION_TICKER), False)
        code = pc.if_else(well_formed, pc.take(root_code, position), pa.scalar(None, pa.int32()))
        malformed = pc.and_(wanted, pc.invert(well_formed))
        bad = pc.sum(pc.take(pc.cast(malformed, pa.int64()), indices)).as_py() or 0
        # Parse only well-formed tickers; the rows of the others are filtered out below.
        dictionary = pc.if_else(well_formed, dictionary, pa.scalar(None, pa.string()))
    else:
        code = pc.cast(pc.index_in(dictionary, value_set=pa.array(chosen)), pa.int32())
        bad = 0
    row_code = pc.take(code, indices)
    keep = pc.is_valid(row_code)
    kept = pc.sum(pc.cast(keep, pa.int64())).as_py() or 0
    if not kept:
        return 0, bad
    if kept < batch.num_rows:
        batch, row_code, indices = batch.filter(keep), row_code.filter(keep), indices.filter(keep)
    table = _normalise(batch, dataset, dictionary, indices)
    for i, und in enumerate(chosen):
        parts.add(und, table.filter(pc.equal(row_code, i)))
    return kept, bad


def commit_ingest(store: HistoryStore, dataset: Dataset, day: date,
                  result: IngestResult) -> None:
    """Move the temp partitions into place; an underlying with no rows loses any old file
    (a republished file may have dropped it)."""
    for und in result.rows:
        temp = result.temp_files.get(und)
        if temp is None:
            store.remove_partition(dataset.name, day, und)
        else:
            store.commit(temp, dataset.name, day, und)
