"""Duplicate rows judged on the dates their date columns are read as (SPEC §2.5, settled).

A date column is compared by the date each value is read as (a timestamp converted to
--timezone and cut to a date, as every reading of it is), so `2024-03-01` and
`2024-03-01T00:00:00Z` are one start date, like `10` and `10.00` are one amount. Expected
values are worked out by hand in comments.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

import mrrcli.read.duplicates as duplicates
from mrrcli.cli import app
from mrrcli.report import load

runner = CliRunner()
HEADER = "customer_id,subscription_id,start_date,end_date,amount\n"


def write(folder: Path, text: str, name: str = "export.csv") -> str:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return str(path)


@pytest.fixture(params=["few", "many"])
def both_ways(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each test runs with its dates read per distinct value ("few", a column of days) and
    read for the candidate rows only ("many", a column of timestamps): the same answers."""
    if request.param == "many":
        monkeypatch.setattr(duplicates, "_MANY_DATES", 0)
    return str(request.param)


def test_a_date_and_its_midnight_timestamp_are_one_row(tmp_path: Path, both_ways: str) -> None:
    path = write(
        tmp_path,
        HEADER + "A,a1,2024-03-01,,10\n"  # row 2
        "A,a1,2024-03-01T00:00:00Z,,10\n"  # row 3: row 2 exported again, as a timestamp
        "B,b1,2024-03-15,,20\n",  # row 4
    )
    result = runner.invoke(app, ["movements", path, "--as-of", "2024-03-31", "-f", "csv"])
    assert result.exit_code == 0, result.stderr
    # March: A 10.00 once + B 20.00 = 30.00 new MRR and closing MRR (40.00 with row 3)
    assert result.stdout.splitlines()[1] == (
        "2024-03,31,0.00,30.00,0.00,0.00,0.00,0.00,30.00,30.00"
    )
    assert "1 duplicate row counted once (--keep-duplicates counts it)" in result.stderr
    kept = runner.invoke(
        app, ["movements", path, "--as-of", "2024-03-31", "-f", "csv", "--keep-duplicates"]
    )
    # --keep-duplicates: 10 + 10 + 20 = 40.00
    assert kept.stdout.splitlines()[1].endswith(",40.00,40.00")
    assert "duplicate" not in kept.stderr


def test_spaces_and_notations_of_one_day_are_one_row(tmp_path: Path, both_ways: str) -> None:
    rows = load(
        [
            write(
                tmp_path,
                HEADER + "A,a1,2024-03-01,2024-04-01,10\n"  # row 2
                "A,a1, 2024-03-01 ,2024-04-01 00:00,10.00\n"  # row 3: row 2 again
                "A,a1,2024-03-01 00:00:00,2024-04-01T00:00:00+00:00,1e1\n"  # row 4: again
                "A,a1,2024-03-02,2024-04-01,10\n",  # row 5: another start day
            )
        ]
    )
    # rows 3 and 4 repeat row 2; row 5 starts a day later
    assert rows.duplicates == 2
    assert sorted(rows.frame.get_column("_row").to_list()) == [2, 5]


def test_day_first_dates_are_compared_in_the_order_the_file_tells(
    tmp_path: Path, both_ways: str
) -> None:
    rows = load(
        [
            write(
                tmp_path,
                HEADER + "A,a1,01/03/2024,,10\n"  # row 2: 1 March (31/03 makes it day-first)
                "A,a1,2024-03-01,,10\n"  # row 3: 1 March again, in ISO: a duplicate
                "A,a1,2024-01-03,,10\n"  # row 4: 3 January, as month-first would read row 2
                "B,b1,31/03/2024,,20\n",  # row 5: only day-first reads it
            )
        ]
    )
    assert rows.duplicates == 1
    assert sorted(rows.frame.get_column("_row").to_list()) == [2, 4, 5]
    # A from 3 January (row 4) and 1 March (row 2): 10 + 10; B 20 from 31 March
    starts = dict(zip(rows.frame["_row"], rows.frame["start_date"], strict=True))
    assert starts == {2: date(2024, 3, 1), 4: date(2024, 1, 3), 5: date(2024, 3, 31)}
    assert rows.frame.get_column("mrr").sum() == 4000


def test_timestamps_are_compared_by_the_day_they_fall_on_in_the_reporting_zone(
    tmp_path: Path, both_ways: str
) -> None:
    path = write(
        tmp_path,
        HEADER + "A,a1,2024-03-01T10:00:00+02:00,,10\n"  # row 2: 08:00 UTC on 1 March
        "A,a1,2024-03-01T20:00:00Z,,10\n"  # row 3: 20:00 UTC on 1 March
        "A,a1,2024-03-01T23:30:00-01:00,,10\n",  # row 4: 00:30 UTC on 2 March
    )
    # In UTC rows 2 and 3 fall on 1 March (one row), row 4 on 2 March: 1 duplicate
    utc = load([path])
    assert utc.duplicates == 1
    assert sorted(utc.frame.get_column("_row").to_list()) == [2, 4]
    # In Tokyo (UTC+9): row 2 is 17:00 on 1 March, row 3 05:00 and row 4 09:30 on 2 March:
    # rows 3 and 4 are one row
    tokyo = load([path], timezone="Asia/Tokyo")
    assert tokyo.duplicates == 1
    assert sorted(tokyo.frame.get_column("_row").to_list()) == [2, 3]


def test_an_unreadable_date_stops_the_run_naming_its_row(tmp_path: Path, both_ways: str) -> None:
    path = write(
        tmp_path,
        HEADER + "A,a1,2024-03-01,,10\n"  # row 2
        "A,a1,2024-13-45,,10\n"  # row 3: no month 13, compared as written
        "A,a1,2024-13-45,,10\n",  # row 4: row 3 again, as written: a duplicate
    )
    result = runner.invoke(app, ["movements", path, "--as-of", "2024-03-31", "-f", "csv"])
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        f"mrrcli: error: {path}, row 3, column 'start_date': cannot read '2024-13-45' as a "
        "date (expected e.g. 2024-01-31)"
    )


def test_ambiguous_numeric_dates_are_compared_as_written(tmp_path: Path) -> None:
    # Nothing tells whether 01/03/2024 is day- or month-first: not compared with 2024-03-01
    # (which it may not be), and the normal reading asks for --date-format.
    path = write(tmp_path, HEADER + "A,a1,01/03/2024,,10\nA,a1,2024-03-01,,10\n")
    result = runner.invoke(app, ["movements", path, "--as-of", "2024-03-31", "-f", "csv"])
    assert result.exit_code == 1
    assert "day-first or month-first" in result.stderr and "--date-format" in result.stderr
    assert "duplicate" not in result.stderr


def test_a_snapshot_month_is_compared_as_its_month(tmp_path: Path, both_ways: str) -> None:
    path = write(
        tmp_path,
        "customer_id,month,mrr\n"
        "A,2024-03,10\n"  # row 2: March
        "A,2024-03-01,10.00\n"  # row 3: March again
        "A,2024-04-30,10\n",  # row 4: April
    )
    rows = load([path], source="snapshots")
    # row 3 repeats row 2: A 10.00 in March and in April
    assert rows.duplicates == 1
    assert rows.frame.get_column("mrr").to_list() == [1000, 1000]


def test_typed_dates_and_a_split_run_judge_duplicates_the_same(tmp_path: Path) -> None:
    parquet = tmp_path / "export.parquet"
    pl.DataFrame(
        {
            "customer_id": ["A", "A", "B", "C", "C"],
            "start_date": [date(2024, 3, d) for d in (1, 1, 5, 9, 10)],
            "amount": ["10", "10.0", "20", "30", "30"],
        }
    ).write_parquet(parquet)
    whole, split = load([str(parquet)]), load([str(parquet)], parts=2)
    # row 2 repeats row 1 (A, 1 March, 10 = 10.0); C's rows start on different days
    assert whole.duplicates == split.duplicates == 1
    # A 10 + B 20 + C 30 + C 30 = 90.00
    assert sum(p.frame.get_column("mrr").sum() for p in split.pieces()) == 9000
    assert whole.frame.get_column("mrr").sum() == 9000


def test_a_split_run_drops_the_same_rows(tmp_path: Path, both_ways: str) -> None:
    lines = [HEADER.strip()]
    # 40 customers, each with a row and the same row again in another notation, and a row
    # of its own a day later: 40 duplicates, 80 rows kept
    for n in range(40):
        lines += [
            f"c{n},s{n},2024-03-01,2024-05-01,{n + 1}",
            f"c{n},s{n},2024-03-01T00:00:00Z,2024-05-01 00:00,{n + 1}.00",
            f"c{n},s{n},2024-03-02,,{n + 1}",
        ]
    path = write(tmp_path, "\n".join(lines) + "\n")
    whole, split = load([path]), load([path], parts=3)
    assert whole.duplicates == split.duplicates == 40
    # every customer: (n + 1) twice: 2 × (1 + … + 40) = 2 × 820 = 1,640.00
    assert whole.frame.get_column("mrr").sum() == 164_000
    assert sum(p.frame.get_column("mrr").sum() for p in split.pieces()) == 164_000
    cli = ["movements", path, "--as-of", "2024-05-31", "-f", "csv"]
    assert runner.invoke(app, cli).stdout == runner.invoke(app, [*cli, "--parts", "3"]).stdout


def test_an_invoice_line_is_compared_by_its_days_in_both_zones(
    tmp_path: Path, both_ways: str
) -> None:
    # Generic invoice lines declare no zone: a line's length is measured on the days its
    # offsets show (the billing zone), and its start and end placed in --timezone.
    path = write(
        tmp_path,
        "customer_id,subscription_id,period_start,period_end,amount\n"
        # row 2: 1 March 15:00 in New York; billed 1 March → 1 April (one month)
        "A,a1,2024-03-01T20:00:00Z,2024-04-01T20:00:00Z,30\n"
        # row 3: 1 March 17:00 in New York, billed the same days: row 2 again
        "A,a1,2024-03-01T22:00:00Z,2024-04-01T22:00:00Z,30.00\n"
        # row 4: 1 March 18:00 in New York too, but billed from 2 March (its own offset):
        # another line
        "A,a1,2024-03-02T01:00:00+02:00,2024-04-01T20:00:00Z,30\n",
    )
    rows = load([path], source="invoice-lines", timezone="America/New_York")
    assert rows.duplicates == 1
    assert sorted(rows.frame.get_column("_row").to_list()) == [2, 4]


def test_files_are_read_in_their_own_order_of_numeric_dates(tmp_path: Path, both_ways: str) -> None:
    day_first = write(
        tmp_path, HEADER + "A,a1,01/03/2024,,10\nB,b1,31/03/2024,,5\n", "day_first.csv"
    )
    month_first = write(
        tmp_path, HEADER + "A,a1,03/01/2024,,10\nC,c1,12/31/2024,,5\n", "month_first.csv"
    )
    rows = load([day_first, month_first])
    # 01/03/2024 day-first and 03/01/2024 month-first are both 1 March: A's row once;
    # A 10 + B 5 + C 5 = 20.00
    assert rows.duplicates == 1
    assert rows.frame.get_column("mrr").sum() == 2000


def test_typed_timestamps_are_compared_by_their_day(tmp_path: Path, both_ways: str) -> None:
    parquet = tmp_path / "export.parquet"
    pl.DataFrame(
        {
            "customer_id": ["A", "A", "A"],
            "start_date": pl.Series(
                [
                    datetime(2024, 3, 1, 8, 0),  # row 1: 1 March 08:00 UTC (17:00 in Tokyo)
                    datetime(2024, 3, 1, 20, 0),  # row 2: 1 March 20:00 UTC (2 March in Tokyo)
                    datetime(2024, 3, 2, 1, 0),  # row 3: 2 March 01:00 UTC (10:00 in Tokyo)
                ],
                dtype=pl.Datetime("us", "UTC"),
            ),
            "amount": ["10", "10", "10"],
        }
    ).write_parquet(parquet)
    # (A Parquet file's rows count from 1: it has no header line.) UTC: rows 1 and 2 are one
    # row; Tokyo: rows 2 and 3 are
    utc, tokyo = load([str(parquet)]), load([str(parquet)], timezone="Asia/Tokyo")
    assert sorted(utc.frame.get_column("_row").to_list()) == [1, 3]
    assert sorted(tokyo.frame.get_column("_row").to_list()) == [1, 2]
