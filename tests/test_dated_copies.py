"""Dated copies of one export passed together stop the run (issue 12 item 3): the same
subscription period in two files would be counted twice. Files that are parts of one export
(split by month, by customer) or different tables of it keep working."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from mrrcli import report
from mrrcli.cli import app
from mrrcli.errors import ExitCode
from mrrcli.pipeline import dated_copies
from mrrcli.report import Settings, load
from tests.conftest import FIXTURES, SAMPLE_CSV

runner = CliRunner()
AS_OF = ("--as-of", "2026-06-30")
CUT = "2026-05-31"


def sample() -> pl.DataFrame:
    return pl.read_csv(SAMPLE_CSV, infer_schema=False)


def as_exported_on(frame: pl.DataFrame, day: str) -> pl.DataFrame:
    """The subscription list as it was on `day`: what had started; what ended later was open
    (and active) then."""
    later = pl.col("end_date") > day
    return frame.filter(pl.col("start_date") <= day).with_columns(
        pl.when(later).then(None).otherwise(pl.col("end_date")).alias("end_date"),
        pl.when(later).then(pl.lit("active")).otherwise(pl.col("status")).alias("status"),
    )


@pytest.fixture
def dated(tmp_path: Path) -> tuple[str, str]:
    older, newer = tmp_path / "billing-2026-05-31.csv", tmp_path / "billing-2026-06-30.csv"
    as_exported_on(sample(), CUT).write_csv(older)
    sample().write_csv(newer)
    return str(older), str(newer)


def changed_between_copies() -> int:
    """The periods the two copies tell differently: started by May 31, ended after it (open
    in the older copy). Counted here from the sample file itself, not by mrrcli."""
    frame = sample()
    return frame.filter((pl.col("start_date") <= CUT) & (pl.col("end_date") > CUT)).height


def test_two_dated_copies_stop_the_run_naming_both_files(dated: tuple[str, str]) -> None:
    older, newer = dated
    result = runner.invoke(app, ["movements", older, newer, *AS_OF])
    assert result.exit_code == ExitCode.DATA_ERROR
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    n = changed_between_copies()
    assert n > 0
    assert f"{older} and {newer} both hold {n:,} subscription periods" in result.stderr
    assert "dated copies of one export would count them twice" in result.stderr


def test_the_same_error_read_in_parts(dated: tuple[str, str]) -> None:
    whole = runner.invoke(app, ["movements", *dated, *AS_OF])
    split = runner.invoke(app, ["movements", *dated, *AS_OF], env={"MRRCLI_WHOLE_ROWS": "500"})
    assert split.exit_code == whole.exit_code == ExitCode.DATA_ERROR
    assert split.stderr == whole.stderr


def test_three_copies_are_all_named(dated: tuple[str, str], tmp_path: Path) -> None:
    oldest = tmp_path / "billing-2026-04-30.csv"
    as_exported_on(sample(), "2026-04-30").write_csv(oldest)
    result = runner.invoke(app, ["check", str(oldest), *dated, *AS_OF, "-r", "nrr>=1"])
    assert result.exit_code == ExitCode.DATA_ERROR
    assert f"{oldest}, {dated[0]} and {dated[1]} both hold" in result.stderr


def test_validate_lists_the_copies_as_an_error(dated: tuple[str, str]) -> None:
    result = runner.invoke(app, ["validate", *dated, "-f", "csv"])
    assert result.exit_code == ExitCode.DATA_ERROR
    assert "dated copies of one export would count them twice" in result.stdout


def test_an_export_split_into_files_of_distinct_rows_still_works(tmp_path: Path) -> None:
    frame = sample()
    by_year = [tmp_path / f"periods-{y}.csv" for y in ("2024", "2025", "2026")]
    for path, year in zip(by_year, ("2024", "2025", "2026"), strict=True):
        frame.filter(pl.col("start_date").str.starts_with(year)).write_csv(path)
    by_customer = [tmp_path / "even.csv", tmp_path / "odd.csv"]
    number = pl.col("customer_id").str.slice(4).cast(pl.Int32)
    frame.filter(number % 2 == 0).write_csv(by_customer[0])
    frame.filter(number % 2 == 1).write_csv(by_customer[1])
    whole = runner.invoke(app, ["metrics", str(SAMPLE_CSV), *AS_OF, "-f", "csv"])
    for files in (by_year, by_customer):
        split = runner.invoke(app, ["metrics", *map(str, files), *AS_OF, "-f", "csv"])
        assert split.exit_code == 0, split.stderr
        assert split.stdout == whole.stdout


def test_invoice_lines_split_by_month_still_work(tmp_path: Path) -> None:
    lines = pl.read_csv(FIXTURES / "sources" / "stripe_invoice_lines.csv", infer_schema=False)
    months = lines.get_column("period_start").str.slice(0, 7).unique().sort().to_list()
    assert len(months) > 1
    files = []
    for month in months:
        path = tmp_path / f"lines-{month}.csv"
        lines.filter(pl.col("period_start").str.starts_with(month)).write_csv(path)
        files.append(str(path))
    settings = Settings(as_of=date(2024, 12, 31))
    fixture = str(FIXTURES / "sources" / "stripe_invoice_lines.csv")
    one = report.customers(load([fixture]), settings)
    assert report.customers(load(files), settings).frame.equals(one.frame)


def test_the_stripe_lookup_pair_still_works() -> None:
    lookups = FIXTURES / "lookups"
    rows = load([str(lookups / "stripe_lines.csv"), str(lookups / "stripe_invoices.csv")])
    assert rows.frame.height > 0


def test_files_of_different_tables_are_never_compared(tmp_path: Path) -> None:
    # A multi-table export: a subscription row and an add-on row of the same subscription
    # and start, in files with different headers. Same headers: dated copies.
    subscriptions = tmp_path / "subscriptions.csv"
    subscriptions.write_text("customer_id,subscription_id,start_date,plan\nC1,S1,2024-01-01,x\n")
    addons = tmp_path / "addons.csv"
    addons.write_text("customer_id,subscription_id,start_date,addon\nC1,S1,2024-01-01,y\n")
    copy = tmp_path / "subscriptions-copy.csv"
    copy.write_text(subscriptions.read_text())
    rows = pl.DataFrame(
        {
            "customer_id": ["C1", "C1"],
            "subscription_id": ["S1", "S1"],
            "plan_id": [None, None],
            "start_date": [date(2024, 1, 1)] * 2,
            "_file": [0, 1],
            "_row": [2, 2],
        },
        schema_overrides={"_file": pl.UInt16, "_row": pl.UInt32},
    )
    assert dated_copies([rows], [str(subscriptions), str(addons)]) is None
    problem = dated_copies([rows], [str(subscriptions), str(copy)])
    # Two items of one subscription on different plans, starting together, are two periods.
    items = rows.with_columns(pl.Series("plan_id", ["seats", "storage"]))
    assert dated_copies([items], [str(subscriptions), str(copy)]) is None
    assert problem is not None and "both hold 1 subscription period (same customer" in problem
    assert f"({subscriptions} row 2, {copy} row 2)" in problem


def test_rows_repeated_within_one_file_are_still_counted_once(tmp_path: Path) -> None:
    export = tmp_path / "export.csv"
    export.write_text(
        "customer_id,start_date,amount\nC1,2024-01-01,10\nC1,2024-01-01,10\nC2,2024-01-05,20\n"
    )
    result = runner.invoke(app, ["movements", str(export), "--as-of", "2024-01-31"])
    assert result.exit_code == 0
    # C1 10 + C2 20 = 30.00 of new MRR, the repeated row counted once.
    assert result.stdout.splitlines()[1].split(",")[3] == "30.00"
    assert "1 duplicate row counted once" in result.stderr


def test_a_single_file_is_never_checked() -> None:
    assert dated_copies([pl.DataFrame()], [str(SAMPLE_CSV)]) is None
