"""`--engine spark`: the parts of a run computed on Apache Spark (SPEC §13).

Every global reading decision is made once, here on the driver: the source and the header the
customer id is in (split.split_column), each file's columns and their types as mrrcli reads
them, the reading options (the FX file read once), and afterwards, over all buckets, the
reporting currency, the date order, the MRR bound and the dated-copies check (parts.joined).
Spark reads the files, numbers each file's rows as a spreadsheet shows them, and buckets the
rows by `pmod(xxhash64(customer id), buckets)`, so that a customer is whole in one bucket.
Each bucket then runs mrrcli's own pipeline and engine (`groupBy(bucket).applyInArrow`):
Arrow in; out, one Arrow table per bucket whose `data` column holds Arrow IPC streams (the
bucket's MRR rows, kept on Spark, and for each report its partial sums) and a pickled summary
of what was read. The driver adds the partials with engine.partials.combine, as a local run
in parts does: the output is the same, byte for byte.
"""

from __future__ import annotations

import io
import pickle
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, fields, replace
from datetime import date
from typing import Any

import polars as pl
import pyarrow as pa

from mrrcli import parts
from mrrcli.engine.freshness import last_event_day
from mrrcli.engine.partials import Needs, Partial, partial
from mrrcli.errors import InputError, MrrError
from mrrcli.normalize.periods import NormalizeOptions, Rows
from mrrcli.pipeline import (
    copies_found,
    file_tables,
    load_rows,
    normalize_options,
    shared_periods,
)
from mrrcli.read import remote
from mrrcli.read.european import file_delimiter
from mrrcli.read.files import (
    FILE_COLUMN,
    ROW_COLUMN,
    expand_paths,
    is_parquet,
    part_column,
    read_problem,
    scan_file,
)
from mrrcli.spark_fields import csv_schema, first_extra, stop_at_extra
from mrrcli.start import require_spark, session
from mrrcli.urls import java_message, registered
from mrrcli.vocabulary import Engine, ReadOptions, Settings, counted

BUCKET = "_bucket"
RESULT_SCHEMA = "_bucket long, name string, data binary"


@dataclass(frozen=True)
class Bucket:
    """The rows of one bucket, as read.files.RowFilter: the rows of each file are given, with
    the columns and types mrrcli reads the file with (`schemas`, decided on the driver)."""

    column: str
    frame: pl.DataFrame  # _file, _row and the columns c0, c1, … of every file
    schemas: tuple[dict[str, pl.DataType], ...]
    paths: tuple[str, ...] = ()

    def keeps(self, column: str) -> pl.Expr:
        return pl.lit(True)

    def rows(self, index: int, scan: pl.LazyFrame, column: str) -> pl.DataFrame:
        schema = self.schemas[index]
        names = [n for n in schema if n != ROW_COLUMN]
        mine = self.frame.filter(pl.col(FILE_COLUMN) == index).sort(ROW_COLUMN)
        rows = mine.select(
            pl.col(ROW_COLUMN).cast(schema[ROW_COLUMN]),
            *(pl.col(f"c{j}").cast(schema[n]).alias(n) for j, n in enumerate(names)),
        )
        if self.paths and not is_parquet(self.paths[index]) and _replaced(rows):
            # Spark decodes bytes that are not UTF-8 as U+FFFD where Polars stops.
            raise InputError(
                f"{self.paths[index]}: the file is not UTF-8 text (re-save it as UTF-8 CSV)"
            )
        return rows


def _replaced(rows: pl.DataFrame) -> bool:
    """Whether a text cell holds U+FFFD, the character a decoder puts for bytes it cannot read."""
    text = [c for c, t in rows.schema.items() if t == pl.String]
    if not text:
        return False
    found = rows.select(pl.any_horizontal(pl.col(c).str.contains("\ufffd").any() for c in text))
    return bool(found.item())


def _ipc(frame: pl.DataFrame) -> bytes:
    sink = io.BytesIO()
    frame.write_ipc_stream(sink)
    return sink.getvalue()


def _table(bucket: int, items: Sequence[tuple[str, bytes]]) -> pa.Table:
    schema = pa.schema([(BUCKET, pa.int64()), ("name", pa.string()), ("data", pa.binary())])
    columns = [[bucket] * len(items), [n for n, _ in items], [d for _, d in items]]
    return pa.Table.from_arrays(
        [pa.array(c, type=t.type) for c, t in zip(columns, schema, strict=True)], schema=schema
    )


@dataclass(frozen=True)
class Job:
    """What every bucket is handed: the decisions made once on the driver."""

    paths: tuple[str, ...]
    options: ReadOptions
    reading: NormalizeOptions
    column: str
    schemas: tuple[dict[str, pl.DataType], ...]
    tables: tuple[int, ...]
    heads: tuple[tuple[str, bytes], ...] = ()  # of the URLs read (read.remote)

    def load(self, table: pa.Table) -> pa.Table:
        """A bucket's raw rows → its MRR rows (IPC) and a summary of what was read."""
        remote.HEADS.update(self.heads)
        frame = pl.from_arrow(table)
        assert isinstance(frame, pl.DataFrame)
        bucket = int(frame.get_column(BUCKET)[0])
        try:
            piece = load_rows(
                self.paths,
                self.options,
                self.reading,
                Bucket(self.column, frame, self.schemas, self.paths),
            )
        except MrrError as error:
            return _table(bucket, [("error", pickle.dumps(error))])
        mrr = piece.frame.get_column("mrr") if piece.frame.height else pl.Series([], dtype=pl.Int64)
        summary = (
            replace(piece, frame=piece.frame.clear()),
            int(mrr.cast(pl.Int128).sum() or 0),
            int((mrr > 0).sum()),
            shared_periods(piece.frame, self.tables) if piece.frame.height else None,
            piece.frame.height > 0,
        )
        return _table(bucket, [("summary", pickle.dumps(summary)), ("rows", _ipc(piece.frame))])


def _each_bucket(
    work: Callable[[int, pl.DataFrame], list[tuple[str, bytes]]],
) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """A mapInArrow function running `work` on each bucket's MRR rows."""

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            for bucket, data in zip(
                batch.column(0).to_pylist(), batch.column(2).to_pylist(), strict=True
            ):
                frame = pl.read_ipc_stream(io.BytesIO(data))
                yield from _table(bucket, work(bucket, frame)).to_batches()

    return run


@dataclass
class SparkRows:
    """An export's MRR rows held on Spark, one IPC stream per bucket (Rows.remote)."""

    rows: Any  # the Spark DataFrame: _bucket, name = "rows", data
    paying: int

    def partials(self, settings: Settings, needs: Needs) -> list[Partial]:
        """Each bucket reduced to its partial sums on Spark, in bucket order."""

        def work(bucket: int, frame: pl.DataFrame) -> list[tuple[str, bytes]]:
            # Frames of sums as Arrow IPC; any other field (a day) pickled, under "=name".
            result = partial(frame, settings, needs)
            values = ((f.name, getattr(result, f.name)) for f in fields(Partial))
            return [
                (n, _ipc(v)) if isinstance(v, pl.DataFrame) else (f"={n}", pickle.dumps(v))
                for n, v in values
                if v is not None
            ]

        found: dict[int, dict[str, Any]] = {}
        for bucket, name, data in self._run(work):
            value = (
                pickle.loads(data) if name.startswith("=") else pl.read_ipc_stream(io.BytesIO(data))
            )
            found.setdefault(bucket, {})[name.lstrip("=")] = value
        return [Partial(**found[bucket]) for bucket in sorted(found)]

    def data_through(self, shape: str, as_of: date) -> date | None:
        """The latest event day on or before `as_of` over every bucket."""

        def work(bucket: int, frame: pl.DataFrame) -> list[tuple[str, bytes]]:
            return [("day", pickle.dumps(last_event_day(frame, shape, as_of)))]

        days = [d for *_, data in self._run(work) if (d := pickle.loads(data)) is not None]
        return max(days, default=None)

    def _run(self, work: Callable[[int, pl.DataFrame], list[tuple[str, bytes]]]) -> list[Any]:
        result = self.rows.mapInArrow(_each_bucket(work), RESULT_SCHEMA).collect()
        return [(int(r[0]), str(r[1]), bytes(r[2])) for r in result]


def _spark_file(spark: Any, path: str, delimiter: str | None, width: int | None) -> tuple[Any, int]:
    """The file as Spark reads it, columns c0, c1, … (a CSV file's `width` of them, and its
    fields beyond them: spark_fields), and the spreadsheet row of its first row."""
    if is_parquet(path):
        frame = spark.read.parquet(path)
        return frame.toDF(*[f"c{j}" for j in range(len(frame.columns))]), 1
    reader = spark.read.option("header", True).option("multiLine", True)
    reader = reader.option("sep", file_delimiter(path, delimiter)).option("escape", '"')
    if width is None:
        frame = reader.csv(path)
        return frame.toDF(*[f"c{j}" for j in range(len(frame.columns))]), 2
    return reader.schema(csv_schema(width)).csv(path), 2


def _read(
    spark: Any,
    files: Sequence[str],
    customers: Sequence[int],
    buckets: int,
    delimiter: str | None = None,
    widths: Sequence[int | None] = (),
) -> Any:
    """Every file read by Spark, columns named c0, c1, … by position, with `_file`, `_row`
    (the row as a spreadsheet shows it) and the bucket of the row's customer (the column at
    `customers[i]` of file i)."""
    from pyspark.sql import functions as F

    frames = []
    for index, path in enumerate(files):
        try:
            width = widths[index] if widths else None
            named, first = _spark_file(spark, path, delimiter, width)
        except Exception as error:  # py4j or Spark: a type Spark cannot read (nanoseconds), …
            raise InputError(f"{path}: Spark cannot read it: {java_message(error)}") from None
        customer = F.col(f"c{customers[index]}").cast("string")
        customer = F.regexp_replace(customer, r"(?U)^\s+|\s+$", "")
        customer = F.when(customer == "", None).otherwise(customer)
        frames.append(
            named.withColumn(FILE_COLUMN, F.lit(index))
            .withColumn("_first", F.lit(first))
            .withColumn("_id", F.monotonically_increasing_id())
            .withColumn("_pid", F.spark_partition_id())
            .withColumn(BUCKET, F.pmod(F.xxhash64(customer), F.lit(buckets)))
        )
    union = frames[0]
    for frame in frames[1:]:
        union = union.unionByName(frame, allowMissingColumns=True)
    # Rows are numbered within each read partition; partitions of a file follow each other.
    # Each file's partitions are numbered from 0 (the partition ids of two files are the same
    # numbers): an offset is the file's and partition's.
    counted = union.groupBy(FILE_COLUMN, "_pid").agg(F.count("*"), *first_extra(union.columns))
    counts = sorted(tuple(r) for r in counted.collect())
    offsets: dict[int, int] = {}
    running: dict[int, int] = {}
    for file, pid, count, _ in counts:
        offsets[file << 32 | pid] = running.get(file, 0)
        running[file] = offsets[file << 32 | pid] + count
    stop_at_extra(union, files, widths or [None] * len(files), counts, offsets, delimiter)
    offset = F.create_map(*[F.lit(v) for item in offsets.items() for v in item])
    key = F.shiftleft(F.col(FILE_COLUMN).cast("long"), 32).bitwiseOR(F.col("_pid").cast("long"))
    within = F.col("_id") - F.shiftleft(F.col("_pid").cast("long"), 33)
    return union.select(
        *[c for c in union.columns if c.startswith("c")],
        FILE_COLUMN,
        (offset[key] + within + F.col("_first")).alias(ROW_COLUMN),
        BUCKET,
    )


def load(paths: Sequence[str], options: ReadOptions) -> Rows:
    """An export read on Spark: the driver decides, each bucket reads and normalizes its
    customers, the MRR rows stay on Spark (Rows.remote) for the reports' partials. URLs are
    read as Spark reads them (mrrcli.urls); their heads are registered for this load only."""
    require_spark()
    if not any(remote.is_url(path) for path in paths):
        return _load(paths, options, None)
    spark = session(options.spark_master)  # a URL's files and heads are Spark's to tell
    files = registered(spark, paths)
    try:
        return _load(files, options, spark)
    finally:
        for path in files:
            remote.HEADS.pop(path, None)


def _load(paths: Sequence[str], options: ReadOptions, spark: Any) -> Rows:
    column, why = parts.split_column(paths, options)
    local = replace(options, engine=Engine.local)
    if column is None:
        url = next((path for path in paths if remote.head(path) is not None), None)
        if url is not None:
            raise InputError(
                f"{url}: this export is read whole, not on Spark ({why}): copy it here"
            )
        rows = parts.load(paths, replace(local, parts=1))
        rows.computed = f"read whole on this machine, not on Spark: {why}"
        return rows
    files = expand_paths(paths)
    schemas, customers = [], []
    for path in files:
        scan = scan_file(path, options.delimiter)
        try:  # headers checked; a CSV problem Polars meets in the first rows, as read whole
            own = part_column(path, scan, parts.Partition(0, 1, column))
            schema = dict(scan.collect_schema())
        except (pl.exceptions.PolarsError, OSError, ValueError) as error:
            raise read_problem(path, error, file_delimiter(path, options.delimiter)) from None
        schemas.append(schema)
        customers.append([n for n in schema if n != ROW_COLUMN].index(own))
    spark = spark or session(options.spark_master)
    buckets = options.buckets or 2 * spark.sparkContext.defaultParallelism
    widths = [None if is_parquet(f) else len(s) - 1 for f, s in zip(files, schemas, strict=True)]
    raw = _read(spark, files, customers, buckets, options.delimiter, widths)
    reading = normalize_options(options)
    heads = tuple((f, h) for f in files if (h := remote.head(f)) is not None)
    tables = tuple(file_tables(files))
    job = Job(tuple(files), local, reading, column, tuple(schemas), tables, heads)
    loaded, summaries = _run_load(raw, job)
    if len({s[0].currency for s in summaries}) > 1 and options.fx and not options.currency:
        # Buckets chose different reporting currencies: with rates, the export is in USD.
        job = replace(job, reading=replace(job.reading, reporting_currency="USD"))
        loaded, summaries = _run_load(raw, job)
    pieces = [s[0] for s in summaries]
    empty = Rows(frame=pl.DataFrame(), currency="", exponent=0, files=list(files))
    rows = parts.joined(pieces or [empty], sum(s[1] for s in summaries))
    problem = copies_found([s[3] for s in summaries if s[3] is not None], files)
    if problem is not None:
        raise InputError(problem)
    rows.remote = SparkRows(loaded.filter("name = 'rows'"), sum(s[2] for s in summaries))
    rows.computed = (
        f"computed on Spark ({options.spark_master}) in {buckets} buckets by customer "
        f"({counted(len(files), 'files')})"
    )
    return rows


@dataclass(frozen=True)
class Held:
    """Where a bucket's MRR rows are: on Spark (Rows.remote of the bucket's summary)."""

    bucket: int
    paying: int


def _run_load(
    raw: Any, job: Job, ordered: bool = False
) -> tuple[Any, list[tuple[Rows, int, int, Any]]]:
    """The load job: each bucket's rows read and normalized, kept on Spark (persisted); the
    summaries of the buckets that hold MRR rows, in bucket order: their Rows (the rows
    themselves left out), MRR total, paying rows and shared periods (dated copies).

    Each file's order of numeric dates is chosen from all its buckets (parts.file_orders);
    when a bucket read one in another order (or none), every bucket is read again in its
    files' orders (those that read it in it read the same), as parts.read_parts."""

    def load_bucket(table: pa.Table) -> pa.Table:  # a function of one argument, for Spark
        return job.load(table)

    loaded = raw.groupBy(BUCKET).applyInArrow(load_bucket, RESULT_SCHEMA).persist()
    found = sorted(
        (int(r[0]), str(r[1]), bytes(r[2])) for r in loaded.filter("name != 'rows'").collect()
    )
    errors = [pickle.loads(data) for _, name, data in found if name == "error"]
    pieces = [(bucket, pickle.loads(data)) for bucket, name, data in found if name != "error"]
    tallies = [t for e in errors if (t := getattr(e, "date_tally", None)) is not None]
    tallies += [summary[0].date_tally for _, summary in pieces]
    orders = parts.file_orders(tallies)
    if not ordered and any(parts.misread(t, orders) for t in tallies):
        loaded.unpersist()
        dates = replace(job.reading.dates, file_orders=tuple(sorted(orders.items())))
        return _run_load(raw, replace(job, reading=replace(job.reading, dates=dates)), True)
    # A run that stops names the currencies of the whole export (as parts.read_parts)
    told = [c for e in errors if (c := getattr(e, "currencies", None)) is not None]
    told += [summary[0].currencies for _, summary in pieces if summary[0].frame.width]
    known = tuple(sorted(set().union(*told)))
    if errors and not job.reading.currencies_known and any(c != known for c in told):
        loaded.unpersist()
        return _run_load(
            raw, replace(job, reading=replace(job.reading, currencies_known=known)), True
        )
    if errors:
        raise parts.first_problem(errors)  # the one a whole run stops at
    summaries = []
    for bucket, (piece, total, paying, shared, held) in pieces:
        if held:
            summaries.append((replace(piece, remote=Held(bucket, paying)), total, paying, shared))
    return loaded, summaries
