"""SPEC §13 on one machine: an export split in one streaming pass and reduced one part at a time
gives the same bytes as read whole, for every report, shape and source; and what --parts and
--engine say when they cannot do what was asked."""

from __future__ import annotations

import csv
import sys
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_parts import SOURCE_FIXTURES
from test_properties import COMBINATIONS, Dataset, datasets
from typer.testing import CliRunner

from mrrcli import report
from mrrcli.cli import app
from mrrcli.parts import Partition, split_files
from mrrcli.present.formats import render_text
from mrrcli.present.output import report_document
from mrrcli.present.terminal import Terminal
from mrrcli.read.files import scan_file
from mrrcli.report import Settings, load
from tests.conftest import SAMPLE_CSV

COUNTS = (1, 2, 3, 7)


def rendered(rows: report.Rows, settings_: Settings) -> list[str]:
    """Every report of the rows as CSV and JSON text: what a user gets, byte for byte."""
    reports = [
        report.movements(rows, settings_),
        report.expansion(rows, settings_),
        report.metrics(rows, settings_),
        report.customers(rows, settings_),
    ]
    return [render_text(report_document(r), fmt) for r in reports for fmt in ("csv", "json")]


def write_dataset(data: Dataset, path: Path) -> str:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["customer_id", "subscription_id", "start_date", "end_date", "amount"])
        for row in data.rows:
            end = "" if row.end_date is None else row.end_date.isoformat()
            amount = f"{row.mrr // 100}.{row.mrr % 100:02d}"
            writer.writerow([row.customer_id, row.subscription_id, row.start_date, end, amount])
    return str(path)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=datasets(), combination=st.sampled_from(COMBINATIONS))
def test_split_runs_equal_the_whole_run_byte_for_byte(
    tmp_path_factory: pytest.TempPathFactory, data: Dataset, combination: tuple[str, str, str]
) -> None:
    export = write_dataset(data, tmp_path_factory.mktemp("split") / "export.csv")
    mode, level, scope = combination
    settings_ = Settings(as_of=data.as_of, mode=mode, level=level, scope=scope)  # type: ignore[arg-type]
    whole = rendered(load([export]), settings_)
    for count in COUNTS:
        rows = load([export], parts=count)
        # Parts without customers are left out: never more parts than customers.
        assert len(rows.parts) <= len({row.customer_id for row in data.rows})
        assert rendered(rows, settings_) == whole, count


@pytest.mark.parametrize("fixture", SOURCE_FIXTURES, ids=[f.stem for f in SOURCE_FIXTURES])
def test_every_source_fixture_is_the_same_split_byte_for_byte(fixture: Path) -> None:
    settings_ = Settings(as_of=date(2024, 12, 31))
    whole = rendered(load([str(fixture)]), settings_)
    for count in COUNTS[1:]:
        assert rendered(load([str(fixture)], parts=count), settings_) == whole, count


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
