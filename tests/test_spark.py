"""`--engine spark` (SPEC §13) in `local[2]`: the same bytes as a local run.

One Spark session for the module (a JVM starts slowly): every test reuses it. These tests run
wherever pyspark is installed (the dev extra installs it, so CI runs them) and Java is present.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import polars as pl

# Spark runs in CI, never skipped there: `make test` installs the spark extra (pyspark) with the
# dev extra, so a missing pyspark is a broken set-up and fails here. Java 17 is on the project's
# machines; only a machine without Java skips.
import pyspark  # noqa: F401
import pytest
from test_parts import few_currencies, numeric_dates, told_by_one
from test_scale import rendered

from mrrcli.errors import InputError
from mrrcli.report import Settings, load
from tests.conftest import SAMPLE_CSV

if shutil.which("java") is None:
    pytest.skip("no Java on this machine", allow_module_level=True)

MASTER = "local[2]"


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    from mrrcli.spark import session

    started = session(MASTER)
    # Small read partitions, so that one file is read as several partitions and the rows
    # must be numbered across them.
    started.conf.set("spark.sql.files.maxPartitionBytes", "16384")
    started.conf.set("spark.sql.shuffle.partitions", "4")
    yield started
    started.stop()


def test_the_sample_on_spark_is_the_local_run(spark: Any) -> None:
    settings = Settings(as_of=date(2026, 6, 30))
    local = load([str(SAMPLE_CSV)])
    on_spark = load([str(SAMPLE_CSV)], engine="spark", spark_master=MASTER, buckets=3)
    assert on_spark.remote is not None
    assert (on_spark.read, on_spark.paying_rows()) == (local.read, local.paying_rows())
    assert rendered(on_spark, settings) == rendered(local, settings)


def generated(
    tmp_path: Path, sizes: tuple[int, int] = (3000, 3000), groups: tuple[int, int] = (500, 500)
) -> list[str]:
    """Two Parquet files of 3,000 rows each (or `sizes`; typed columns, row groups of 500
    rows or `groups`), 400 customers; customer ids with spaces around them in the second file."""
    start = date(2023, 1, 1)
    paths = []
    for index, n in enumerate(sizes):
        frame = pl.DataFrame(
            {
                "customer_id": [
                    f" c{(i * 7 + index) % 400} " if index else f"c{(i * 7) % 400}"
                    for i in range(n)
                ],
                "subscription_id": [f"s{i % 900}-{index}" for i in range(n)],
                "start_date": [start + timedelta(days=(i * 13) % 700) for i in range(n)],
                "end_date": [
                    None if i % 5 == 0 else start + timedelta(days=(i * 13) % 700 + 30 + i % 90)
                    for i in range(n)
                ],
                "amount": [float(10 + i % 250) for i in range(n)],
            }
        )
        path = tmp_path / f"export-{index}.parquet"
        frame.write_parquet(path, row_group_size=groups[index])
        paths.append(str(path))
    return paths


def test_a_generated_export_in_several_buckets_is_the_local_run(spark: Any, tmp_path: Path) -> None:
    paths = generated(tmp_path)
    settings = Settings(as_of=date(2025, 3, 31), mode="snapshot")
    local = load(paths)
    on_spark = load(paths, engine="spark", spark_master=MASTER, buckets=5)
    assert len(on_spark.parts) == 5  # 400 customers fill every bucket
    assert rendered(on_spark, settings) == rendered(local, settings)


def test_rows_are_numbered_across_read_partitions(spark: Any, tmp_path: Path) -> None:
    from mrrcli.spark import _read

    paths = generated(tmp_path)
    assert spark.read.parquet(paths[0]).rdd.getNumPartitions() > 1
    read = _read(spark, paths, [0, 0], 5).select("_file", "_row", "c0", "c1").collect()
    # Each Parquet file's rows are numbered 1, 2, … as polars numbers them.
    expected = {
        (index, *row)
        for index, path in enumerate(paths)
        for row in pl.read_parquet(path, row_index_name="_row", row_index_offset=1)
        .select("_row", "customer_id", "subscription_id")
        .iter_rows()
    }
    assert len(read) == 6000
    assert {tuple(r) for r in read} == expected


def test_rows_are_numbered_in_files_of_different_sizes(spark: Any, tmp_path: Path) -> None:
    # Each file's read partitions are numbered from 0: with files whose first partitions hold
    # different numbers of rows, an offset kept by partition alone numbered the second file's
    # later partitions from the first file's counts (rows missing or twice).
    from mrrcli.spark import _read

    paths = generated(tmp_path, (3000, 3000), (500, 200))
    first = [
        spark.read.parquet(p).rdd.mapPartitions(lambda rows: [sum(1 for _ in rows)]).collect()
        for p in paths
    ]
    assert len(first[0]) > 1 and len(first[1]) > 1 and first[0][0] != first[1][0], first
    read = _read(spark, paths, [0, 0], 3).select("_file", "_row").collect()
    numbered = sorted(tuple(r) for r in read)
    assert numbered == [(0, i) for i in range(1, 3001)] + [(1, i) for i in range(1, 3001)]


def test_a_bad_row_names_the_same_file_and_row_on_spark(spark: Any, tmp_path: Path) -> None:
    # Row 5 as a spreadsheet shows it (the header is row 1) holds the bad amount.
    export = tmp_path / "bad.csv"
    export.write_text(
        "customer_id,start_date,amount\nC1,2024-01-01,10\nC2,2024-01-01,20\n"
        "C3,2024-01-01,30\nC4,2024-01-01,ten\n"
    )
    with pytest.raises(InputError) as local:
        load([str(export)])
    with pytest.raises(InputError) as on_spark:
        load([str(export)], engine="spark", spark_master=MASTER, buckets=2)
    assert "row 5" in str(local.value)
    assert str(on_spark.value) == str(local.value)


def test_segments_by_period_on_spark_are_the_local_run(spark: Any) -> None:
    # Segment sums (and their per-segment TTM and period retention) travel in each bucket's
    # partial: by month, quarter and year the frames are those of the local run.
    from mrrcli.report import metrics, movements
    from mrrcli.vocabulary import Period

    local = load([str(SAMPLE_CSV)], by="plan_id")
    on_spark = load([str(SAMPLE_CSV)], by="plan_id", engine="spark", spark_master=MASTER, buckets=3)
    for period in Period:
        settings = Settings(as_of=date(2026, 6, 30), period=period)
        for build in (movements, metrics):
            assert build(on_spark, settings).frame.equals(build(local, settings).frame)


def test_cohorts_by_plan_on_spark_is_the_local_run(spark: Any) -> None:
    from mrrcli.report import cohorts

    local = load([str(SAMPLE_CSV)], by="plan_id")
    on_spark = load([str(SAMPLE_CSV)], by="plan_id", engine="spark", spark_master=MASTER, buckets=3)
    for level in ("customer", "subscription"):
        settings = Settings(as_of=date(2026, 6, 17), level=level)  # type: ignore[arg-type]
        frame = cohorts(on_spark, settings).frame
        assert "segment" in frame.columns and frame.height > 400
        assert frame.equals(cohorts(local, settings).frame)


def test_buckets_without_a_day_above_12_read_dates_in_the_order_the_others_show(
    spark: Any, tmp_path: Path
) -> None:
    # Only one customer's dates show that they are day-first: the buckets of the others are
    # read again in that order, as the whole file reads them (the run used to stop there).
    export = numeric_dates(tmp_path, "25/01/2024", True)
    settings = Settings(as_of=date(2024, 6, 30))
    local = load([export])
    on_spark = load([export], engine="spark", spark_master=MASTER, buckets=3)
    assert on_spark.duplicates == local.duplicates == 1
    assert rendered(on_spark, settings) == rendered(local, settings)
    # Two files, each in its own order (the second month-first), each told by one customer.
    other = numeric_dates(tmp_path, "01/25/2024", False, "b.csv", "B")
    local = load([export, other])
    on_spark = load([export, other], engine="spark", spark_master=MASTER, buckets=3)
    assert rendered(on_spark, settings) == rendered(local, settings)
    silent = numeric_dates(tmp_path, "03/01/2024", True)
    with pytest.raises(InputError, match="could be day-first or month-first"):
        load([silent], engine="spark", spark_master=MASTER, buckets=3)


def test_buckets_read_each_file_in_its_own_order(spark: Any, tmp_path: Path) -> None:
    # A day-first file and a month-first one, each telling its order in one customer only
    # (test_parts.told_by_one): each bucket reads each file in that file's order, as a local
    # run (whole or in parts) does.
    files = [
        told_by_one(tmp_path, "day_first.csv", "D", True),
        told_by_one(tmp_path, "month_first.csv", "M", False),
    ]
    settings = Settings(as_of=date(2024, 3, 31))
    local = load(files)
    on_spark = load(files, engine="spark", spark_master=MASTER, buckets=3)
    assert rendered(on_spark, settings) == rendered(local, settings)
    lines = Path(files[0]).read_text().splitlines()
    lines[1] = lines[1].replace(",10", ",abc")  # the one customer that tells the order
    bad = tmp_path / "told_bad.csv"
    bad.write_text("\n".join(lines))
    with pytest.raises(InputError, match=r"row 2, column 'amount': cannot read 'abc'"):
        load([str(bad)], engine="spark", spark_master=MASTER, buckets=3)


def test_buckets_that_stop_name_the_currencies_of_the_whole_export(
    spark: Any, tmp_path: Path
) -> None:
    export = few_currencies(tmp_path)  # N1 (row 33) names no currency; others EUR, USD
    with pytest.raises(
        InputError, match="row 33, column 'currency': no currency, while other rows have EUR, USD;"
    ):
        load([export], engine="spark", spark_master=MASTER, buckets=3)


# --- URLs: whatever the user's Spark can read (here file://; s3a://, hdfs://, … alike) --------


def test_a_url_is_read_on_spark_as_the_local_file(spark: Any, tmp_path: Path) -> None:
    # The driver learns each file's header and types from Spark (read.remote), never from the
    # file itself: the reports are those of the local run of the same files.
    paths = generated(tmp_path)
    settings = Settings(as_of=date(2025, 3, 31))
    # The same, but for the files' names (JSON's meta): file:///tmp/…/export-0.parquet.
    local = [
        r.replace(str(tmp_path), f"file://{tmp_path}") for r in rendered(load(paths), settings)
    ]
    pattern = f"file://{tmp_path}/export-*.parquet"
    on_spark = load([pattern], engine="spark", spark_master=MASTER, buckets=4)
    assert on_spark.files == [f"file://{p}" for p in paths]
    assert rendered(on_spark, settings) == local
    csv_url = f"file://{SAMPLE_CSV}"
    sample = Settings(as_of=date(2026, 6, 30))
    on_spark = load([csv_url], engine="spark", spark_master=MASTER, buckets=3)
    assert on_spark.files == [csv_url]  # named as the user wrote it
    local = [r.replace(str(SAMPLE_CSV), csv_url) for r in rendered(load([str(SAMPLE_CSV)]), sample)]
    assert rendered(on_spark, sample) == local


def test_a_bad_row_of_a_url_is_named_as_in_the_local_file(spark: Any, tmp_path: Path) -> None:
    # Row 3 as a spreadsheet shows it (the header is row 1) holds an end before its start.
    export = tmp_path / "bad.csv"
    export.write_text(
        "customer_id;start_date;end_date;amount\nC1;2024-01-01;;10\nC2;2024-03-01;2024-02-01;20\n"
    )
    with pytest.raises(InputError) as local:
        load([str(export)])
    url = f"file://{export}"
    with pytest.raises(InputError) as on_spark:
        load([url], engine="spark", spark_master=MASTER, buckets=2)
    assert "row 3" in str(local.value)
    assert str(on_spark.value) == str(local.value).replace(str(export), url)


def test_urls_that_name_no_file_are_one_line(spark: Any, tmp_path: Path) -> None:
    (tmp_path / "folder").mkdir()
    said = {
        f"file://{tmp_path}/none-*.csv": "no file matches this pattern",
        f"file://{tmp_path}/none.csv": "no such file",
        f"file://{tmp_path}/folder": "is a directory, not a file",
        "nosuch://bucket/export.csv": 'Spark cannot read it: No FileSystem for scheme "nosuch"',
    }
    for url, problem in said.items():
        with pytest.raises(InputError) as raised:
            load([url], engine="spark", spark_master=MASTER, buckets=2)
        assert str(raised.value) == f"{url}: {problem}"


def test_a_url_of_an_export_read_whole_says_to_copy_it(spark: Any) -> None:
    # Invoice lines are turned into periods across customers: such an export is read whole on
    # this machine, which cannot read a URL's rows.
    lines = Path(__file__).parent / "fixtures" / "sources" / "stripe_invoice_lines.csv"
    url = f"file://{lines}"
    with pytest.raises(InputError, match=r"this export is read whole, not on Spark \(stripe-"):
        load([url], engine="spark", spark_master=MASTER, buckets=2)


def test_a_url_without_spark_says_so() -> None:
    url = f"file://{SAMPLE_CSV}"
    with pytest.raises(InputError) as raised:
        load([url])
    assert (
        str(raised.value)
        == f"{url}: a URL is read with --engine spark only (or copy the file here)"
    )


def test_a_spark_run_says_only_mrrcli_s_lines_on_stderr(tmp_path: Path) -> None:
    # A real command line (its own JVM): the JVM's start (log4j's profile, Java's warnings,
    # "Setting default log level") goes to a log in TMPDIR, removed at exit, so that a cron
    # job mails nothing but mrrcli's notes. stdout is the local run's.
    import os
    import subprocess
    import sys

    args = ["movements", f"file://{SAMPLE_CSV}", "--as-of", "2026-06-30", "-f", "csv"]
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    command = [sys.executable, "-m", "mrrcli", *args]
    local = subprocess.run(
        [*command[:4], str(SAMPLE_CSV), *args[2:]], capture_output=True, text=True, env=env
    )
    spark = subprocess.run(
        [*command, "--engine", "spark", "--spark-master", MASTER, "--buckets", "3"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert (local.returncode, spark.returncode) == (0, 0), spark.stderr
    assert spark.stdout == local.stdout
    assert spark.stderr.splitlines() == [
        "mrrcli: computed on Spark (local[2]) in 3 buckets by customer (1 file)",
        local.stderr.splitlines()[-1],  # what was read: "mrrcli: 1,740 rows read, …"
    ]
    assert not [name for name in os.listdir(tmp_path) if name.startswith("mrrcli-spark-")]


def test_a_row_of_too_many_fields_is_the_local_run_s_line_on_spark(
    spark: Any, tmp_path: Path
) -> None:
    # Row 4 as a spreadsheet shows it (header row 1) has 5 fields under a header of 4: the
    # driver met it reading the file's first rows and stopped with a Polars traceback.
    export = tmp_path / "ragged.csv"
    export.write_text(
        "customer_id,start_date,end_date,amount\nC1,2024-01-01,,10\nC2,2024-01-01,,20\n"
        "C3,2024-01-01,,30,extra\nC4,2024-01-01,,40\n"
    )
    with pytest.raises(InputError) as local:
        load([str(export)])
    with pytest.raises(InputError) as on_spark:
        load([str(export)], engine="spark", spark_master=MASTER, buckets=2)
    assert str(local.value) == (
        f"{export}, row 4: 5 fields where the header has 4 (separated by ','; check quoting, "
        "or give --delimiter)"
    )
    assert str(on_spark.value) == str(local.value)
    # The same file as a URL: the driver reads its head (said "cannot read it as CSV").
    url = f"file://{export}"
    with pytest.raises(InputError) as on_spark:
        load([url], engine="spark", spark_master=MASTER, buckets=2)
    assert str(on_spark.value) == str(local.value).replace(str(export), url)


def test_a_parquet_type_spark_cannot_read_is_one_line(spark: Any, tmp_path: Path) -> None:
    # Timestamps in nanoseconds (pyarrow's own unit) are read locally; Spark refuses them
    # (an AnalysisException and its traceback): one line naming the file instead.
    import pyarrow as pa
    import pyarrow.parquet as pq

    export = tmp_path / "nanos.parquet"
    stamps = pa.array([1_704_067_200_000_000_000, 1_706_745_600_000_000_000], pa.timestamp("ns"))
    pq.write_table(
        pa.table({"customer_id": ["C1", "C2"], "start_date": stamps, "amount": [10, 20]}), export
    )
    assert load([str(export)]).read == 2  # read locally (1 Jan and 1 Feb 2024)
    with pytest.raises(InputError) as on_spark:
        load([str(export)], engine="spark", spark_master=MASTER, buckets=2)
    said = str(on_spark.value)
    assert said.startswith(f"{export}: Spark cannot read it: ") and "\n" not in said
    assert "NANOS" in said


def test_a_quoted_empty_amount_is_empty_whole_in_parts_and_on_spark(
    spark: Any, tmp_path: Path
) -> None:
    # Row 3 (header row 1) has a quoted empty amount `""`; Polars read it as text, counted 0
    # MRR, while Spark reads it as empty and stopped. Both now stop at row 3: an empty amount
    # is bad input (SPEC §2.5), as an unquoted empty one (,,) or one of spaces ("  ") is.
    for amount in ('""', '"  "'):
        export = tmp_path / "quoted.csv"
        export.write_text(
            "customer_id,start_date,end_date,amount\n"
            f'C1,2024-01-01,,10\n"C2","2024-01-01","",{amount}\nC3,2024-01-01,,30\n'
        )
        expected = f"{export}, row 3, column 'amount': the amount is empty"
        for given in ({}, {"parts": 2}, {"engine": "spark", "spark_master": MASTER, "buckets": 2}):
            with pytest.raises(InputError) as stopped:
                load([str(export)], **given)
            assert str(stopped.value) == expected, (amount, given)


def test_a_url_not_in_utf8_or_empty_stops_as_the_local_file(spark: Any, tmp_path: Path) -> None:
    # Latin-1 "café" on row 12, past the head the driver reads: Spark decodes it as U+FFFD
    # and the run counted it; a local run stops. An empty file: the local run's words.
    rows = [f"C{i},basic,2024-01-01,10" for i in range(1, 80)]
    rows[10] = "C11,caf\xe9,2024-01-01,10"
    latin = tmp_path / "latin.csv"
    latin.write_bytes(("customer_id,plan,start_date,amount\n" + "\n".join(rows)).encode("latin-1"))
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    for export in (latin, empty):
        with pytest.raises(InputError) as local:
            load([str(export)])
        url = f"file://{export}"
        with pytest.raises(InputError) as on_spark:
            load([url], engine="spark", spark_master=MASTER, buckets=2)
        assert str(on_spark.value) == str(local.value).replace(str(export), url)
    assert str(local.value).endswith("the file is empty (0 bytes); was the export complete?")


def test_a_row_of_more_fields_past_the_head_stops_as_the_local_file(
    spark: Any, tmp_path: Path
) -> None:
    # Row 101 (header row 1) writes 1,000.00 unquoted: 5 fields under a header of 4. The
    # driver reads a URL's first 64 lines only, and Spark dropped the extra field: C100
    # counted 1.00 MRR instead of stopping.
    rows = [f"C{i},2024-01-01,,10" for i in range(1, 150)]
    rows[99] = "C100,2024-01-01,,1,000.00"
    export = tmp_path / "thousands.csv"
    export.write_text("customer_id,start_date,end_date,amount\n" + "\n".join(rows) + "\n")
    with pytest.raises(InputError) as local:
        load([str(export)])
    assert str(local.value) == (
        f"{export}, row 101: 5 fields where the header has 4 (separated by ','; check quoting, "
        "or give --delimiter)"
    )
    url = f"file://{export}"
    with pytest.raises(InputError) as on_spark:
        load([url], engine="spark", spark_master=MASTER, buckets=2)
    assert str(on_spark.value) == str(local.value).replace(str(export), url)
