"""The store read as it is by Apache Spark (local, one small JVM for the whole module).

Spark has no nanosecond timestamp type; the store keeps Massive's nanosecond precision, so a
Spark reader sets `spark.sql.legacy.parquet.nanosAsLong` and gets the time columns as int64
nanoseconds (decision 0206). Everything else — Hive partition discovery of `date` and
`underlying`, column types, row counts — must work with no other option.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pyarrow.compute as pc
import pytest
from pyspark import SparkContext
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from market.history.importer import import_shipped
from market.history.store import HistoryStore
from tests.conftest import GOOG_DAY, REPLAY_DIR, SHARED

OPTIONS = SHARED / "data" / "options_minute"
SHIPPED = [
    REPLAY_DIR / "GOOG_2015-12-24_trades.csv.gz",
    OPTIONS / "SPXW_2021-01-04_trades.csv.gz",
    OPTIONS / "SPX_2021-01-04_trades.csv.gz",
    OPTIONS / "SPXW_2021-01-05_trades.csv.gz",
    OPTIONS / "SPXW_2021-01-04_open_interest.csv.gz",
]
#: What a Spark user sets to read the store (see the README's data section).
SPARK_READ_CONF = {"spark.sql.legacy.parquet.nanosAsLong": "true"}


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> HistoryStore:
    store = HistoryStore(tmp_path_factory.mktemp("spark-store"))
    import_shipped(SHIPPED, store)
    return store


@pytest.fixture(scope="module")
def spark() -> Iterator[SparkSession]:
    builder = (
        SparkSession.builder.master("local[1]")
        .appName("tradefly-history-test")
        .config("spark.driver.memory", "512m")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "1")
        # a small, quick JVM: C1 JIT only, serial GC; no codegen or adaptive plans
        # for queries this size, and partition discovery without a Spark job
        .config("spark.driver.extraJavaOptions", "-XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xss4m")
        .config("spark.sql.codegen.wholeStage", "false")
        .config("spark.sql.adaptive.enabled", "false")
        .config("spark.sql.sources.parallelPartitionDiscovery.threshold", "1000000")
        .config("spark.sql.session.timeZone", "UTC")
    )
    for key, value in SPARK_READ_CONF.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
    _end_jvm()


def _end_jvm() -> None:
    """Stop the JVM too (`stop` leaves it running for the rest of the test run): it exits when
    its stdin closes, as pyspark's launcher arranges."""
    gateway = SparkContext._gateway
    if gateway is None:
        return
    gateway.shutdown()
    proc = gateway.proc
    if proc.stdin is not None:
        proc.stdin.close()
    proc.wait(timeout=60)
    SparkContext._gateway = None
    SparkContext._jvm = None


@pytest.fixture(scope="module")
def options(spark: SparkSession, store: HistoryStore) -> DataFrame:
    """The dataset folder as a Spark user points at it (schema inferred once per module)."""
    return spark.read.parquet(str(store.dataset_dir("options_minute")))


def test_spark_discovers_the_hive_partitions_with_their_types(options):
    types = {f.name: f.dataType for f in options.schema.fields}

    assert types["date"] == T.DateType()
    assert types["underlying"] == T.StringType()
    assert types["expiration"] == T.DateType()
    assert types["strike"] == T.DoubleType()
    assert types["volume"] == T.DoubleType()
    assert types["window_start"] == T.LongType()  # nanoseconds (nanosAsLong)


def test_spark_counts_every_partition_like_the_store(options, store):
    by_spark = {
        (r["date"], r["underlying"]): (r["n"], r["v"])
        for r in options.groupBy("date", "underlying")
        .agg(F.count("*").alias("n"), F.sum("volume").alias("v"))
        .collect()
    }
    by_store = {}
    for part in store.partitions("options_minute"):
        table = store.read("options_minute", part.day, part.underlying, ["volume"])
        assert table is not None
        by_store[(part.day, part.underlying)] = (part.rows, pc.sum(table.column("volume")).as_py())

    assert by_spark == by_store
    assert set(by_spark) == {
        (GOOG_DAY, "GOOG"),
        (date(2021, 1, 4), "SPX"),
        (date(2021, 1, 5), "SPX"),
    }  # SPX and SPXW files: one underlying
    assert by_spark[(GOOG_DAY, "GOOG")][0] == 958


def test_spark_partition_filter_and_nanosecond_times(options, store):
    first = (
        options.where((F.col("underlying") == "GOOG") & (F.col("date") == GOOG_DAY))
        .select(
            F.expr("timestamp_micros(window_start div 1000)").cast("long").alias("s"),
            "window_start",
        )
        .orderBy("window_start")
        .first()
    )
    stored = store.read("options_minute", GOOG_DAY, "GOOG", ["window_start"])
    assert stored is not None and first is not None

    expected_ns = pc.min(stored.column("window_start")).value
    assert first["window_start"] == expected_ns
    assert first["s"] * 10**9 == expected_ns  # 2015-12-24 14:30 UTC, the 09:30 open


def test_spark_reads_a_second_dataset_beside_the_first(spark, store):
    frame = spark.read.parquet(str(store.dataset_dir("open_interest")))
    rows = frame.where(F.col("underlying") == "SPX").count()

    assert rows == store.read("open_interest", date(2021, 1, 4), "SPX").num_rows == 12
