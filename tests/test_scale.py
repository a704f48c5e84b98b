"""SPEC §13 on one machine: an export split in one streaming pass and reduced one part at a time
gives the same bytes as read whole, for every report, shape and source; and what --parts and
--engine say when they cannot do what was asked."""

from __future__ import annotations

import csv
import gc
import os
import sys
import tempfile
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_parts import SOURCE_FIXTURES, SOURCE_SETS, files_of
from test_properties import COMBINATIONS, Dataset, datasets
from typer.testing import CliRunner

from mrrcli import parts, report, split
from mrrcli.cli import app
from mrrcli.errors import InputError
from mrrcli.present.formats import render_text
from mrrcli.present.output import report_document
from mrrcli.present.terminal import Terminal
from mrrcli.read.files import scan_file
from mrrcli.report import Settings, load
from mrrcli.split import Partition, split_files
from tests.conftest import SAMPLE_CSV

COUNTS = (1, 2, 3, 7)
# The reports the command line reads a split export for (report.ahead), each with the
# position of its CSV in `rendered`.
ONE_REPORT = (
    (0, report.movements),
    (2, report.expansion),
    (4, report.metrics),
    (10, report.cohorts),
)


def rendered(rows: report.Rows, settings_: Settings) -> list[str]:
    """Every report of the rows as CSV and JSON text: what a user gets, byte for byte (by
    segment when the rows were read with --by; cohorts, which take no --by, only without)."""
    reports = [
        report.movements(rows, settings_),
        report.expansion(rows, settings_),
        report.metrics(rows, settings_),
        report.all_metrics(rows, settings_),
        report.customers(rows, settings_),
    ]
    if rows.by is None:
        reports.append(report.cohorts(rows, settings_))  # its CSV and JSON hold every metric
    return [render_text(report_document(r), fmt) for r in reports for fmt in ("csv", "json")]


def write_dataset(data: Dataset, path: Path) -> str:
    """The rows as a CSV export; each subscription on one of two plans (for --by plan_id)."""
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        header = ["customer_id", "subscription_id", "plan_id", "start_date", "end_date"]
        writer.writerow([*header, "amount"])
        for row in data.rows:
            end = "" if row.end_date is None else row.end_date.isoformat()
            amount = f"{row.mrr // 100}.{row.mrr % 100:02d}"
            plan = "gold" if row.subscription_id.endswith(("s0", "x")) else "silver"
            writer.writerow(
                [row.customer_id, row.subscription_id, plan, row.start_date, end, amount]
            )
    return str(path)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=datasets(),
    combination=st.sampled_from(COMBINATIONS),
    by=st.sampled_from([None, "plan_id"]),
    parquet=st.booleans(),
    one=st.integers(0, len(ONE_REPORT) - 1),
)
def test_split_runs_equal_the_whole_run_byte_for_byte(
    tmp_path_factory: pytest.TempPathFactory,
    data: Dataset,
    combination: tuple[str, str, str],
    by: str | None,
    parquet: bool,
    one: int,
) -> None:
    export = write_dataset(data, tmp_path_factory.mktemp("split") / "export.csv")
    if parquet:
        # The same rows as Parquet: typed columns, split by the same streaming pass.
        frame = pl.read_csv(export, infer_schema=False)
        export = export.replace(".csv", ".parquet")
        frame.write_parquet(export)
    mode, level, scope = combination
    settings_ = Settings(as_of=data.as_of, mode=mode, level=level, scope=scope)  # type: ignore[arg-type]
    whole = rendered(load([export], by=by), settings_)
    for count in COUNTS:
        rows = load([export], parts=count, by=by)
        # Parts without customers are left out: never more parts than customers.
        assert len(rows.parts) <= len({row.customer_id for row in data.rows})
        assert rendered(rows, settings_) == whole, count
        # Read for one report (as the command line reads it): each part reduced to that
        # report's partial sums as it is read, its rows let go.
        position, build = ONE_REPORT[one if by is None else one % 3]
        early = load([export], parts=count, by=by, ahead=report.ahead(build, settings_))
        assert render_text(report_document(build(early, settings_)), "csv") == whole[position]


@pytest.mark.parametrize(
    "fixture", SOURCE_FIXTURES + SOURCE_SETS, ids=[f.stem for f in SOURCE_FIXTURES + SOURCE_SETS]
)
def test_every_source_fixture_is_the_same_split_byte_for_byte(fixture: Path) -> None:
    settings_ = Settings(as_of=date(2024, 12, 31))
    whole = rendered(load(files_of(fixture)), settings_)
    for count in COUNTS[1:]:
        assert rendered(load(files_of(fixture), parts=count), settings_) == whole, count


def test_typed_parquet_columns_come_back_from_the_split_as_they_were(tmp_path: Path) -> None:
    # The split writes Parquet parts: Categorical ids, a Decimal amount, an unsigned
    # quantity and zoned timestamps are read back with their types and values. c1: 12.50 × 2
    # from Jan 1 (10:00 in New York is still Jan 1 in UTC); c2: 30.00 from Feb 1, ended Mar 1.
    export = str(tmp_path / "typed.parquet")
    zone = pl.Datetime("us", "America/New_York")
    pl.DataFrame(
        {
            "customer_id": pl.Series(["c1", "c2"], dtype=pl.Categorical),
            "amount": pl.Series([Decimal("12.50"), Decimal("30")], dtype=pl.Decimal(10, 2)),
            "quantity": pl.Series([2, 1], dtype=pl.UInt8),
            "start_date": pl.Series(
                [datetime(2024, 1, 1, 10), datetime(2024, 2, 1, 10)], dtype=zone
            ),
            "end_date": pl.Series([None, datetime(2024, 3, 1, 10)], dtype=zone),
        }
    ).write_parquet(export)
    split = tmp_path / "split"
    partitions = [Partition(i, 2, "customer_id", str(split)) for i in range(2)]
    split_files([export], partitions[0], str(split))
    parts = [p.rows(0, scan_file(export), "customer_id") for p in partitions]
    back = pl.concat(parts).sort("_row")
    assert back.schema["amount"] == pl.Decimal(10, 2)
    assert back.schema["quantity"] == pl.UInt8
    assert back.schema["start_date"] == zone
    assert back.get_column("customer_id").cast(pl.String).to_list() == ["c1", "c2"]
    assert back.get_column("amount").to_list() == [Decimal("12.50"), Decimal("30.00")]
    settings_ = Settings(as_of=date(2024, 3, 31))
    whole = report.movements(load([export]), settings_).frame
    assert report.movements(load([export], parts=2), settings_).frame.equals(whole)
    # Jan: new 25.00; Feb: new 30.00; Mar: churn 30.00
    zero, c1, c2 = Decimal("0.00"), Decimal("25.00"), Decimal("30.00")
    assert whole.select("new_mrr", "churned_mrr").rows() == [(c1, zero), (c2, zero), (zero, c2)]


def test_the_streaming_split_writes_each_customer_to_one_part(tmp_path: Path) -> None:
    # 5 rows, 3 customers; C1 has rows 2 and 4 (spreadsheet rows: the header is row 1).
    export = tmp_path / "e.csv"
    export.write_text(
        "customer_id,start_date,amount\n"
        "C1,2024-01-01,10\n C2 ,2024-01-01,20\nC1,2024-02-01,30\nC3,2024-01-01,40\n"
        "C2,2024-03-01,50\n"
    )
    split = tmp_path / "split"
    partitions = [Partition(i, 3, "customer_id", str(split)) for i in range(3)]
    split_files([str(export)], partitions[0], str(split))
    assert (split / "file0" / "done").exists()
    held: dict[str, set[int]] = {}
    total = 0
    for partition in partitions:
        scan = partition.rows(0, scan_file(str(export)), "customer_id")
        total += scan.height
        for customer, row in scan.select("customer_id", "_row").iter_rows():
            held.setdefault(customer.strip(), set()).add(row)
    # Every row once, and " C2 " (spaces around it) in the same part as C2.
    assert total == 5
    assert held == {"C1": {2, 4}, "C2": {3, 6}, "C3": {5}}
    # The parts on disk hold what filtering the whole file by the same hash keeps.
    for partition in partitions:
        filtered = Partition(partition.index, 3, "customer_id").rows(
            0, scan_file(str(export)), "customer_id"
        )
        assert partition.rows(0, scan_file(str(export)), "customer_id").equals(filtered)
    # A part removed once read is read again, should it be, from the file itself; a part
    # that no customer falls in stays empty.
    for partition in partitions:
        before = partition.rows(0, scan_file(str(export)), "customer_id")
        partition.remove()
        assert not (split / "file0" / f"_part={partition.index}").exists()
        assert partition.rows(0, scan_file(str(export)), "customer_id").equals(before)
    empty = Partition(0, 50, "customer_id", str(tmp_path / "fifty"))
    split_files([str(export)], empty, str(tmp_path / "fifty"))
    unused = next(
        Partition(i, 50, "customer_id", str(tmp_path / "fifty"))
        for i in range(50)
        if not (tmp_path / "fifty" / "file0" / f"_part={i}").exists()
    )
    unused.remove()
    assert unused.rows(0, scan_file(str(export)), "customer_id").height == 0


def test_a_part_read_leaves_the_disk_before_the_next_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Year-first dates read alike in any order: each part's split files are removed as soon
    # as it is read, so the disk holds one copy of the data (the split, or what is left of
    # it, and the parts' rows written aside), never both whole.
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    on_disk: list[list[int]] = []

    def told(message: str) -> None:
        if message.startswith("reading part"):
            folders = tmp_path.glob("mrrcli-split-*/file0/_part=*")
            on_disk.append(sorted(int(f.name.split("=")[1]) for f in folders if f.is_dir()))

    load([str(SAMPLE_CSV)], parts=3, progress=told)
    assert on_disk == [[0, 1, 2], [1, 2], [2]]


def run(args: list[str]) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, args, obj=Terminal())
    return result.exit_code, result.stdout, result.stderr


def test_parts_on_the_command_line() -> None:
    args = ["movements", str(SAMPLE_CSV), "--as-of", "2026-06-30", "-f", "csv"]
    code, whole, _ = run(args)
    split_code, split, notes = run([*args, "--parts", "5"])
    assert (code, split_code) == (0, 0)
    assert split == whole
    assert "read in 5 parts by customer" in notes


def test_an_export_that_cannot_be_split_says_why() -> None:
    fixture = Path(__file__).parent / "fixtures" / "sources" / "stripe_invoice_lines.csv"
    code, _, notes = run(["movements", str(fixture), "--as-of", "2024-12-31", "--parts", "3"])
    assert code == 0
    assert "read whole, not in 3 parts: stripe-invoice-lines: invoice-lines are turned" in notes


def test_spark_without_pyspark_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyspark", None)  # import pyspark fails
    code, out, err = run(["movements", str(SAMPLE_CSV), "--engine", "spark"])
    assert (code, out) == (1, "")
    assert err == (
        "mrrcli: error: --engine spark needs pyspark: pip install 'mrrcli[spark]' "
        "(or pip install pyspark)\n"
    )


def test_spark_without_java_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("pyspark")
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.delenv("JAVA_HOME", raising=False)
    code, _, err = run(["movements", str(SAMPLE_CSV), "--engine", "spark"])
    assert code == 1
    assert err.count("\n") == 1
    assert "needs Java 17 or later" in err


BAD_ROWS = (
    # Spreadsheet rows 42-45 (the header is row 1, C0-C39 are rows 2-41). Split in 2, C6 and
    # C8 are in part 0 and C5 and C7 in part 1 (in 3: C8, C6, C5 and C7; in 7: C5 and C8
    # together, C6, C7), so a part can meet a bad amount before any part meets a bad date.
    "C5,2024-13-01,10\nC6,2024-01-01,abc\nC7,2024-99-01,10\nC8,2024-01-01,xyz\n"
)


@pytest.mark.parametrize(
    ("bad", "expected"),
    [
        # Dates are checked before amounts: the first bad date (row 42) and the other one
        # (row 44), though rows 43 and 45 have bad amounts.
        (
            BAD_ROWS,
            "row 42, column 'start_date': cannot read '2024-13-01' as a date (expected e.g. "
            "2024-01-31) (1 other row has the same problem)",
        ),
        # Only the amounts bad: the first is row 43 (C6), the other row 45 (C8).
        (
            BAD_ROWS.replace("2024-13-01", "2024-01-01").replace("2024-99-01", "2024-01-01"),
            "row 43, column 'amount': cannot read 'abc' as an amount (1 other row has the same "
            "problem)",
        ),
    ],
)
def test_a_split_run_stops_at_the_problem_a_whole_run_stops_at(
    tmp_path: Path, bad: str, expected: str
) -> None:
    export = tmp_path / "bad.csv"
    good = "".join(f"C{i},2024-01-01,10\n" for i in range(40))
    export.write_text("customer_id,start_date,amount\n" + good + bad)
    for count in COUNTS:
        with pytest.raises(InputError) as raised:
            load([str(export)], parts=count)
        assert str(raised.value) == f"{export}, {expected}", count
    code, out, err = run(["movements", str(export), "--as-of", "2024-12-31", "--parts", "7"])
    assert (code, out, err) == (1, "", f"mrrcli: error: {export}, {expected}\n")


def test_the_threshold_follows_the_memory_available(monkeypatch: pytest.MonkeyPatch) -> None:
    # sample_data/subscriptions.csv: 1,741 lines (under 1 MB, so the estimate counts them
    # all, the header too) of 13 columns, each row taking 160 + 13 × 20 = 420 bytes read
    # whole: 1,741 × 420 = 731,220 bytes.
    assert split.rows_and_bytes([str(SAMPLE_CSV)]) == (1741, 731_220)
    options = report.ReadOptions()
    # A fifth of 4 MiB (4,194,304 // 5 = 838,860 bytes) holds it whole; a fifth of 1 MiB
    # (1,048,576 // 5 = 209,715 bytes) does not: 731,220 / 209,715 = 3.49, so 4 parts.
    monkeypatch.setattr(split, "available_memory", lambda: 4 << 20)
    assert split.part_count([str(SAMPLE_CSV)], options) == 1
    monkeypatch.setattr(split, "available_memory", lambda: 1 << 20)
    assert split.part_count([str(SAMPLE_CSV)], options) == 4
    # MRRCLI_WHOLE_ROWS (whole_rows) gives the threshold in rows instead: 1,741 / 500 = 3.5,
    # so 4 parts.
    assert split.part_count([str(SAMPLE_CSV)], replace(options, whole_rows=500)) == 4


def test_spilled_files_go_to_tmpdir_and_are_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spill = tmp_path / "tmp"
    spill.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spill))  # what TMPDIR sets
    # While the rows are held, their parts' rows are on disk under TMPDIR, and only there.
    rows = load([str(SAMPLE_CSV)], parts=3)
    held = [p.spilled for p in rows.parts]
    assert len(held) == 3
    assert all(path is not None and path.startswith(str(spill)) for path in held)
    assert all(os.path.exists(str(path)) for path in held)
    del rows
    gc.collect()
    assert list(spill.iterdir()) == []
    # A bad input, and an interrupt (Ctrl-C) in the middle of the parts, leave nothing.
    export = tmp_path / "bad.csv"
    export.write_text("customer_id,start_date,amount\n" + BAD_ROWS)
    with pytest.raises(InputError):
        load([str(export)], parts=3)
    assert list(spill.iterdir()) == []
    calls: list[int] = []
    real = parts.load_rows

    def interrupted(*args: object, **kwargs: object) -> report.Rows:
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(parts, "load_rows", interrupted)
    with pytest.raises(KeyboardInterrupt):
        load([str(SAMPLE_CSV)], parts=3)
    assert len(calls) == 2
    assert list(spill.iterdir()) == []


def test_a_process_started_while_stderr_is_sent_to_a_log_writes_there(tmp_path: Path) -> None:
    # How the JVM of --engine spark is kept quiet (mrrcli.start): a child started meanwhile
    # writes its stderr to the log, and after it, this process's stderr is its own again.
    # A log that cannot be written leaves stderr alone.
    import subprocess

    from mrrcli.start import _stderr_to

    log = tmp_path / "spark.log"
    with _stderr_to(str(log)):
        subprocess.run([sys.executable, "-c", "import sys; sys.stderr.write('chatter')"])
    assert log.read_text() == "chatter"
    with _stderr_to(str(tmp_path / "no" / "such" / "dir.log")):
        pass
    os.write(2, b"")  # descriptor 2 is still open
