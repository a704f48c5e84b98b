"""Exports read in parts by customer give the same reports as read whole (issue 5: scale).

A customer's movements depend only on its own rows, so reading the customers in parts,
classifying each part and adding up must change nothing, to the cent, in any mode or level.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from test_properties import COMBINATIONS

from mrrcli import report
from mrrcli.errors import InputError
from mrrcli.read.orders import chosen_order
from mrrcli.report import Settings, load
from mrrcli.sources import by_name
from mrrcli.vocabulary import Level, Mode, Scope
from tests.conftest import SAMPLE_CSV, SAMPLE_PARQUET

AS_OF = date(2026, 6, 30)


@pytest.fixture(scope="module")
def whole() -> report.Rows:
    return load([str(SAMPLE_CSV)])


@pytest.fixture(scope="module")
def in_parts() -> report.Rows:
    return load([str(SAMPLE_CSV)], parts=4)


def test_parts_hold_every_row_once(whole: report.Rows, in_parts: report.Rows) -> None:
    assert len(in_parts.parts) == 4
    pieces = list(in_parts.pieces())
    assert all(p.frame.height for p in pieces)
    assert sum(p.frame.height for p in pieces) == whole.frame.height
    assert in_parts.read == whole.read
    assert in_parts.paying_rows() == whole.paying_rows()
    customers = [set(p.frame.get_column("customer_id")) for p in pieces]
    assert sum(len(c) for c in customers) == len(set().union(*customers))  # no customer split


@pytest.mark.parametrize(("mode", "level", "scope"), COMBINATIONS)
def test_every_report_is_the_same_read_in_parts(
    whole: report.Rows, in_parts: report.Rows, mode: Mode, level: Level, scope: Scope
) -> None:
    settings = Settings(as_of=AS_OF, mode=mode, level=level, scope=scope)
    for build in (report.movements, report.metrics, report.all_metrics):
        assert build(in_parts, settings).frame.equals(build(whole, settings).frame), build
    split, one = report.expansion(in_parts, settings), report.expansion(whole, settings)
    assert split.frame.equals(one.frame)
    assert split.extra["top_expanding"].equals(one.extra["top_expanding"])
    assert report.customers(in_parts, settings).frame.equals(
        report.customers(whole, settings).frame
    )


def test_parquet_in_parts() -> None:
    settings = Settings(as_of=AS_OF, mode="snapshot")
    split = report.movements(load([str(SAMPLE_PARQUET)], parts=3), settings)
    assert split.frame.equals(report.movements(load([str(SAMPLE_PARQUET)]), settings).frame)


def test_large_exports_are_read_in_parts_by_the_command_line() -> None:
    command = [sys.executable, "-m", "mrrcli", "movements", str(SAMPLE_CSV)]
    command += ["--as-of", "2026-06-30", "--format", "csv"]
    small = {**os.environ, "MRRCLI_WHOLE_ROWS": "500"}
    split = subprocess.run(command, capture_output=True, text=True, env=small, check=True)
    one = subprocess.run(command, capture_output=True, text=True, check=True)
    assert split.stdout == one.stdout
    assert "read in 4 parts by customer" in split.stderr
    assert "parts" not in one.stderr


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_parts_agree_on_the_reporting_currency_with_rates(tmp_path: Path) -> None:
    data = "customer_id,start_date,amount,currency\n"
    data += "".join(f"C{i},2024-01-01,100,{'EUR' if i % 2 else 'USD'}\n" for i in range(12))
    export = write(tmp_path, "fx_rows.csv", data)
    fx = write(tmp_path, "fx.csv", "date,currency,rate\n2023-01-01,EUR,1.10\n")
    settings = Settings(as_of=date(2024, 1, 31))
    one = report.movements(load([export], fx=fx), settings)
    split = report.movements(load([export], fx=fx, parts=5), settings)
    assert split.currency == one.currency == "USD"
    assert split.frame.equals(one.frame)
    # Without rates, several currencies are an error whether read whole or in parts.
    with pytest.raises(InputError, match="several currencies"):
        load([export], parts=5)


def test_the_total_bound_holds_across_parts(tmp_path: Path) -> None:
    # Each row is within bounds; together they are not, in any one part or in all of them.
    rows = "".join(f"C{i},2024-01-01,999999999999,10\n" for i in range(6000))
    export = write(tmp_path, "huge.csv", "customer_id,start_date,amount,quantity\n" + rows)
    with pytest.raises(InputError, match="too large to add up"):
        load([export])
    with pytest.raises(InputError, match="too large to add up"):
        load([export], parts=3)


def test_each_file_spells_the_customer_header_its_own_way(tmp_path: Path) -> None:
    first = write(tmp_path, "a.csv", "Customer_ID,start_date,amount\nC1,2024-01-01,10\n")
    second = write(tmp_path, "b.csv", "customer_id ,start_date,amount\nC2,2024-01-05,20\n")
    settings = Settings(as_of=date(2024, 1, 31))
    one = report.movements(load([first, second]), settings)
    assert report.movements(load([first, second], parts=3), settings).frame.equals(one.frame)


def test_a_header_only_file_is_an_error_in_parts_too(tmp_path: Path) -> None:
    rows = write(tmp_path, "a.csv", "customer_id,start_date,amount\nC1,2024-01-01,10\n")
    empty = write(tmp_path, "b.csv", "customer_id,start_date,amount\n")
    with pytest.raises(InputError, match="no data rows"):
        load([rows, empty], parts=2)


def test_invoice_lines_are_never_split(tmp_path: Path) -> None:
    fixture = Path(__file__).parent / "fixtures" / "sources" / "stripe_invoice_lines.csv"
    split = load([str(fixture)], parts=7)
    assert not split.parts
    assert split.frame.equals(load([str(fixture)]).frame)


def test_a_broken_parquet_file_is_an_input_error_before_any_parts(tmp_path: Path) -> None:
    # Counting rows to decide on parts must not trip over a file the reader rejects properly.
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"PAR1")
    with pytest.raises(InputError, match=r"broken\.parquet"):
        load([str(broken)])


def test_a_history_table_is_read_whole_so_versions_follow_each_other(tmp_path: Path) -> None:
    # A Recurly history table: the later version of sub_1 (from 2024-02-01) moves it from
    # acct-A to acct-B. Each version holds until the next one (one subscription at 100.00), so
    # reading in parts by customer must not keep acct-A's version running in its part: closing
    # MRR is 100.00 in every split, never 200.00.
    history = write(
        tmp_path,
        "history.csv",
        "id,uuid,account_code,state,unit_amount,currency,interval_unit,interval_length,"
        "activated_at,expires_at,updated_at\n"
        "sub_1,sub_1,acct-A,active,100,USD,months,1,2024-01-01 00:00:00,,2024-01-01\n"
        "sub_1,sub_1,acct-B,active,100,USD,months,1,2024-01-01 00:00:00,,2024-02-01\n",
    )
    settings = Settings(as_of=date(2024, 3, 31))
    for count in (1, 2, 3, 5, 7):
        rows = load([history], parts=count)
        assert not rows.parts
        closing = report.movements(rows, settings).frame.get_column("closing_mrr")
        assert [str(v) for v in closing] == ["100.00", "100.00", "100.00"], count


SOURCE_DIR = Path(__file__).parent / "fixtures" / "sources"
SOURCE_FIXTURES = sorted(SOURCE_DIR.glob("*.csv"))
# An export of several tables is a folder of them, passed together.
SOURCE_SETS = sorted(p for p in SOURCE_DIR.iterdir() if p.is_dir())


def files_of(fixture: Path) -> list[str]:
    return [str(f) for f in sorted(fixture.glob("*.csv"))] if fixture.is_dir() else [str(fixture)]


@pytest.mark.parametrize(
    "fixture", SOURCE_FIXTURES + SOURCE_SETS, ids=[f.stem for f in SOURCE_FIXTURES + SOURCE_SETS]
)
def test_every_source_fixture_gives_the_same_reports_in_parts(fixture: Path) -> None:
    whole = load(files_of(fixture))
    split = load(files_of(fixture), parts=3)
    source = by_name(whole.source)
    # Split exactly when the source's declaration allows it (and the file has customers in
    # more than one part).
    assert bool(split.parts) <= (source.read_whole_because() is None)
    for mode, level, scope in COMBINATIONS:
        settings = Settings(as_of=date(2024, 12, 31), mode=mode, level=level, scope=scope)
        for build in (report.movements, report.metrics, report.all_metrics, report.customers):
            assert build(split, settings).frame.equals(build(whole, settings).frame), build
        one, other = report.expansion(split, settings), report.expansion(whole, settings)
        assert one.frame.equals(other.frame)
        assert one.extra["top_expanding"].equals(other.extra["top_expanding"])


def test_sources_that_may_be_split_are_split() -> None:
    fixtures = {f.stem: f for f in SOURCE_FIXTURES}
    splittable = [
        name
        for name, path in fixtures.items()
        if by_name(load([str(path)]).source).read_whole_because() is None
    ]
    # Zuora is read whole: a charge counts from its latest version, which may name another
    # account than its older ones.
    assert {"chargebee", "chargify", "baremetrics"} <= set(splittable)
    for name in splittable:
        assert load([str(fixtures[name])], parts=3).parts, name


def test_what_is_asked_of_spilled_parts_is_answered_without_reading_them_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # c0 is free from Jan 1 (0 MRR), c1 pays 10 from Jan 10, c2 pays 20 from Feb 5 to Mar 20,
    # c3 pays 5 from Apr 1: the first paying day is Jan 10; the last day on or before the
    # as-of date is Feb 5 (as of Mar 10), Mar 20 (as of Mar 31) and Apr 1 (as of Dec 31).
    path = tmp_path / "glance.csv"
    path.write_text(
        "customer_id,start_date,end_date,amount,interval\n"
        "c0,2024-01-01,,0,month\n"
        "c1,2024-01-10,,10,month\n"
        "c2,2024-02-05,2024-03-20,20,month\n"
        "c3,2024-04-01,,5,month\n"
    )
    rows = load([str(path)], parts=3)
    assert len(rows.parts) == 3 and all(p.spilled and p.glance for p in rows.parts)

    def no_reading(*args: object, **kwargs: object) -> None:
        raise AssertionError("a spilled part was read back")

    monkeypatch.setattr(pl, "read_ipc", no_reading)
    assert rows.paying_rows() == 3
    assert report.first_paying_day(rows) == date(2024, 1, 10)
    for as_of, last in (
        (date(2024, 3, 10), date(2024, 2, 5)),
        (date(2024, 3, 31), date(2024, 3, 20)),
        (date(2024, 12, 31), date(2024, 4, 1)),
    ):
        assert report.freshness(rows, Settings(as_of=as_of)).data_through == last


@pytest.mark.parametrize(
    ("build", "filters", "given"),
    [
        (report.movements, {}, {}),
        (report.movements, {}, {"by": "plan_id"}),
        (report.metrics, {}, {}),
        (report.expansion, {"top": 3}, {}),
        (report.cohorts, {"metric": "grr"}, {"by": "plan_id"}),
    ],
)
def test_a_split_export_read_for_one_report_keeps_only_its_partial_sums(
    monkeypatch: pytest.MonkeyPatch, build: Any, filters: dict[str, Any], given: dict[str, Any]
) -> None:
    # Each part is reduced to the report's partial sums as it is read (report.ahead): no
    # part's rows are written to disk, and the report is the one read whole.
    settings = Settings(as_of=AS_OF, mode="snapshot")

    def no_spill(*args: object, **kwargs: object) -> None:
        raise AssertionError("a part's rows were written to disk")

    early = report.ahead(build, settings, **filters)
    with monkeypatch.context() as patched:
        patched.setattr(pl.DataFrame, "write_ipc", no_spill)
        rows = load([str(SAMPLE_CSV)], parts=3, ahead=early, **given)
        split = build(rows, settings, **filters)
    assert len(rows.parts) == 3 and all(p.early is not None for p in rows.parts)
    assert rows.early is None and rows.glance is None  # each part's own, not the export's
    assert split.frame.equals(build(load([str(SAMPLE_CSV)], **given), settings, **filters).frame)
    # Asking these rows for another report is an error, never a silently empty report.
    with pytest.raises(RuntimeError, match="read for one report"):
        report.customers(rows, settings)
    with pytest.raises(RuntimeError, match="read for one report"):
        build(rows, Settings(as_of=date(2026, 5, 31)), **filters)


def numeric_dates(
    tmp_path: Path, evidence: str, day_first: bool, name: str = "numeric.csv", who: str = "C"
) -> str:
    """An export of numeric dates where only C0's start (`evidence`) has a field above 12;
    C7's row is repeated with its dates written without leading zeros (a duplicate row).
    (`who`: the customer ids' prefix.)"""
    rows = [f"{who}0,{evidence},,10"]
    for i in range(1, 40):
        day, month = 1 + i % 9, 2
        start = f"{day:02d}/{month:02d}/2024" if day_first else f"{month:02d}/{day:02d}/2024"
        end = "01/03/2024" if day_first else "03/01/2024"  # 1 March
        rows.append(f"{who}{i},{start},{end},{10 + i}")
    again = "8/2/2024,1/3/2024" if day_first else "2/8/2024,3/1/2024"
    rows.append(f"{who}7,{again},17")
    return write(tmp_path, name, "customer_id,start_date,end_date,amount\n" + "\n".join(rows))


@pytest.mark.parametrize(("evidence", "day_first"), [("25/01/2024", True), ("01/25/2024", False)])
def test_parts_without_a_day_above_12_read_dates_in_the_order_the_others_show(
    tmp_path: Path, evidence: str, day_first: bool
) -> None:
    from mrrcli.parts import Partition
    from mrrcli.pipeline import load_rows, normalize_options
    from mrrcli.vocabulary import ReadOptions

    export = numeric_dates(tmp_path, evidence, day_first)
    settings = Settings(as_of=date(2024, 6, 30))
    one = load([export])
    assert one.duplicates == 1
    assert {f: chosen_order(t) for f, t in one.date_tally.items()} == {
        0: "dmy" if day_first else "mdy"
    }
    for count in (2, 3, 7):
        # Read alone, some part cannot tell the order (the run used to stop there).
        options = ReadOptions(parts=count)
        reading = normalize_options(options)
        alone = []
        for index in range(count):
            try:
                load_rows([export], options, reading, Partition(index, count, "customer_id"))
                alone.append(None)
            except InputError as problem:
                alone.append("could be day-first or month-first" in str(problem))
        assert True in alone and None in alone, alone
        split = load([export], parts=count)
        assert split.duplicates == 1  # read as dates, as the whole file reads them
        assert report.movements(split, settings).frame.equals(report.movements(one, settings).frame)
        starts = pl.concat(p.frame for p in split.pieces()).filter(pl.col("customer_id") == "C5")
        assert starts.get_column("start_date").to_list() == [date(2024, 2, 6)]


def test_numeric_dates_no_part_tells_are_an_error_in_parts_too(tmp_path: Path) -> None:
    export = numeric_dates(tmp_path, "03/01/2024", True)
    message = "could be day-first or month-first"
    with pytest.raises(InputError, match=message):
        load([export])
    for count in (2, 3):
        with pytest.raises(InputError, match=message):
            load([export], parts=count)


def test_each_file_tells_its_own_date_order_in_parts_too(tmp_path: Path) -> None:
    # Read whole, each file's numeric dates are read in the order its own values show: a
    # file that shows none is an error, even beside a day-first file, in parts too.
    told = numeric_dates(tmp_path, "25/01/2024", True)
    silent = write(
        tmp_path, "silent.csv", "customer_id,start_date,end_date,amount\nD1,03/01/2024,,10\n"
    )
    for count in (None, 3):
        with pytest.raises(InputError, match="could be day-first or month-first"):
            load([told, silent], parts=count)


def told_by_one(tmp_path: Path, name: str, prefix: str, day_first: bool) -> str:
    """A file of numeric dates whose order only its first customer's start (25 January) tells:
    {prefix}0 pays 10 from 25 Jan 2024; {prefix}1..{prefix}12 pay 10 each from 1..12 February
    to 1 March (no day above 12)."""

    def written(day: int, month: int) -> str:
        return f"{day:02d}/{month:02d}/2024" if day_first else f"{month:02d}/{day:02d}/2024"

    rows = [f"{prefix}0,{written(25, 1)},,10"]
    rows += [f"{prefix}{i},{written(i, 2)},{written(1, 3)},10" for i in range(1, 13)]
    return write(tmp_path, name, "customer_id,start_date,end_date,amount\n" + "\n".join(rows))


def test_each_file_read_in_its_own_order_in_parts(tmp_path: Path) -> None:
    # A day-first file and a month-first one, each telling its order in one customer only:
    # read whole, each file is read in its own order; in parts, a part that holds only
    # customers without a day above 12 must read each file in that file's order too.
    # By hand, each file: new 10 in January; new 12 × 10 = 120 in February (1..12 Feb);
    # all 12 churn on 1 March (120). Both files: Jan new 20 → 20; Feb new 240 → 260;
    # Mar churn 240 → 20.
    files = [
        told_by_one(tmp_path, "day_first.csv", "D", True),
        told_by_one(tmp_path, "month_first.csv", "M", False),
    ]
    expected = [
        ("2024-01", "0.00", "20.00", "0.00", "20.00"),
        ("2024-02", "20.00", "240.00", "0.00", "260.00"),
        ("2024-03", "260.00", "0.00", "240.00", "20.00"),
    ]
    settings = Settings(as_of=date(2024, 3, 31))
    for count in (None, 2, 3, 7):
        frame = report.movements(load(files, parts=count), settings).frame
        got = frame.select("month", "opening_mrr", "new_mrr", "churned_mrr", "closing_mrr")
        assert [tuple(str(v) for v in row) for row in got.rows()] == expected, count


def test_a_part_that_tells_the_order_and_stops_later_stops_the_run_as_whole(
    tmp_path: Path,
) -> None:
    # Only C0 tells that the dates are day-first, and C0's amount cannot be read: read whole,
    # the dates read day-first and the run stops at that amount (row 2). In parts, C0's part
    # stops at its amount, and the parts of the others must not stop the run at their open
    # order instead: the file's order is told by all its parts.
    lines = Path(told_by_one(tmp_path, "told.csv", "C", True)).read_text().splitlines()
    lines[1] = lines[1].replace(",10", ",abc")
    export = write(tmp_path, "told_bad.csv", "\n".join(lines))
    message = f"{export}, row 2, column 'amount': cannot read 'abc' as an amount"
    for count in (None, 2, 3, 7):
        with pytest.raises(InputError) as stopped:
            load([export], parts=count)
        assert str(stopped.value) == message, count


def test_dates_that_no_order_reads_stop_parts_where_the_whole_file_stops(tmp_path: Path) -> None:
    # C0 starts 25/01/2024 (day-first only), X starts 01/25/2024 (month-first only): over the
    # whole file each of the two orders fails one value, and the first of them, month-first,
    # is kept, so the run stops at C0's '25/01/2024' (row 2). A part holding only C0 would
    # read day-first, one holding only X month-first: the file's order, not theirs, decides.
    lines = Path(told_by_one(tmp_path, "told.csv", "C", True)).read_text().splitlines()
    export = write(tmp_path, "both.csv", "\n".join([*lines, "X,01/25/2024,,7"]))
    message = f"{export}, row 2, column 'start_date': cannot read '25/01/2024' as a date"
    for count in (None, 2, 3, 7):
        with pytest.raises(InputError, match=message):
            load([export], parts=count)


def test_a_step_some_parts_skip_does_not_put_a_later_problem_first(tmp_path: Path) -> None:
    # A0 (row 2) pays in CHF, for which --fx has no rate; X1 (row 32) in 'XYZ', no currency
    # at all. Read whole, the currencies are checked before rates are looked up: the run
    # stops at row 32. In parts, X1's part stops at that check; A0's part has nothing to
    # check there, and its missing rate must not count as met before it (it used to, the
    # check not being counted as a step in a part with no unknown currency).
    rows = ["A0,2024-01-01,10,CHF"]
    rows += [f"C{i},2024-01-01,10,{'USD' if i % 2 else 'EUR'}" for i in range(1, 30)]
    rows.append("X1,2024-02-01,10,XYZ")
    export = write(
        tmp_path, "steps.csv", "customer_id,start_date,amount,currency\n" + "\n".join(rows)
    )
    fx = write(tmp_path, "fx.csv", "date,currency,rate\n2023-01-01,EUR,1.10\n")
    message = f"{export}, row 32, column 'currency': unknown currency 'XYZ' (expected an ISO"
    for count in (None, 2, 3, 7):
        with pytest.raises(InputError) as stopped:
            load([export], parts=count, fx=fx, currency="USD")
        assert str(stopped.value).startswith(message), (count, str(stopped.value))


def test_each_file_of_an_export_in_parts_is_read_in_its_own_order(tmp_path: Path) -> None:
    # Read whole, a.csv is day-first (A0 starts 25/01/2024) and b.csv month-first (B0 starts
    # 01/25/2024), each told by one customer's row: every part reads each file's rows in that
    # file's order, also a part whose own rows of a file show none. B5 starts 02/06/2024,
    # month-first: 6 February; A5 starts 06/02/2024, day-first: 6 February.
    first = numeric_dates(tmp_path, "25/01/2024", True, "a.csv", "A")
    second = numeric_dates(tmp_path, "01/25/2024", False, "b.csv", "B")
    settings = Settings(as_of=date(2024, 6, 30))
    one = load([first, second])
    assert {f: chosen_order(t) for f, t in one.date_tally.items()} == {0: "dmy", 1: "mdy"}
    assert one.duplicates == 2
    for count in (2, 3, 7):
        split = load([first, second], parts=count)
        assert split.duplicates == 2
        assert report.movements(split, settings).frame.equals(report.movements(one, settings).frame)
        rows = pl.concat(p.frame for p in split.pieces())
        fifth = rows.filter(pl.col("customer_id").is_in(["A5", "B5"])).sort("customer_id")
        assert fifth.get_column("start_date").to_list() == [date(2024, 2, 6)] * 2


def test_a_run_in_parts_says_what_it_does() -> None:
    told: list[str] = []
    load([str(SAMPLE_CSV)], parts=3, progress=told.append)
    assert told == [
        "splitting 1 file into 3 parts by customer …",
        "reading part 1 of 3 …",
        "reading part 2 of 3 …",
        "reading part 3 of 3 …",
    ]
    told.clear()
    load([str(SAMPLE_CSV)], progress=told.append)
    assert told == []  # read whole: the spinner keeps saying "reading …"


def few_currencies(tmp_path: Path) -> str:
    """C1..C30 pay in USD, E1 in EUR (row 32), N1 names no currency (row 33)."""
    rows = [f"C{i},2024-01-01,10,USD" for i in range(1, 31)]
    rows += ["E1,2024-01-01,10,EUR", "N1,2024-02-01,10,"]
    return write(tmp_path, "few.csv", "customer_id,start_date,amount,currency\n" + "\n".join(rows))


def test_a_run_in_parts_that_stops_names_the_currencies_of_the_whole_export(
    tmp_path: Path,
) -> None:
    # Read whole, N1's row (33) lacks a currency while the others have EUR and USD. A part
    # holding N1 without E1 (or without any other row) must say the same, not "while other
    # rows have USD" nor pass N1 as USD and stop at "several currencies" instead.
    export = few_currencies(tmp_path)
    message = (
        f"{export}, row 33, column 'currency': no currency, while other rows have EUR, USD; "
        "give --currency for rows without one"
    )
    for count in (None, 2, 3, 7):
        with pytest.raises(InputError) as stopped:
            load([export], parts=count)
        assert str(stopped.value) == message, count
    # Reported in EUR without rates: the export holds GBP and USD (C1..C30 USD, G1 GBP), not
    # "USD, not the reporting currency EUR" as a part holding USD alone would say.
    rows = [f"C{i},2024-01-01,10,USD" for i in range(1, 31)] + ["G1,2024-01-01,10,GBP"]
    export = write(
        tmp_path, "two.csv", "customer_id,start_date,amount,currency\n" + "\n".join(rows)
    )
    for count in (None, 2, 3, 7):
        with pytest.raises(InputError, match=r"holds several currencies \(GBP, USD\) and no --fx"):
            load([export], parts=count, currency="EUR")


def test_the_note_counts_the_parts_asked_for_though_some_are_empty(tmp_path: Path) -> None:
    # Two customers in three parts: one part at least holds no customer, and the run still
    # says it was read in 3 parts (it said "1 part" when both customers fell in one).
    rows_written = "C1,2024-01-01,10\nC2,2024-02-01,20\n"
    export = write(tmp_path, "two.csv", "customer_id,start_date,amount\n" + rows_written)
    rows = load([export], parts=3)
    assert len(rows.parts) <= 2
    assert rows.computed == "read in 3 parts by customer (1 file)"


def test_a_row_read_as_one_field_names_the_delimiter_in_parts_too(tmp_path: Path) -> None:
    # Row 4 (header row 1) was written with ';': read with ',' it is one field. A whole run
    # names the --delimiter that reads it; a part said "start_date is empty" instead.
    rows = ["C1,2024-01-01,,10", "C2,2024-01-01,,20", "C3;2024-01-01;;30", "C4,2024-02-01,,x"]
    export = write(
        tmp_path, "mixed.csv", "customer_id,start_date,end_date,amount\n" + "\n".join(rows)
    )
    expected = (
        f"{export}, row 4: 1 field where the header has 4 (separated by ','): is it separated "
        "by ';'? --delimiter ';' reads it"
    )
    for count in (None, 2, 3):
        with pytest.raises(InputError) as stopped:
            load([export], parts=count)
        assert str(stopped.value) == expected, count


def test_blank_lines_are_no_rows_whole_and_in_parts(tmp_path: Path) -> None:
    # A file ending in an empty line, and a line of spaces inside: Polars read each as a row
    # of empty cells and the run stopped at "customer_id is empty". By hand: C1 10 and C2 20
    # from January, C3 5 from February: Jan new 30 → 30; Feb new 5 → 35.
    text = "customer_id,start_date,end_date,amount\nC1,2024-01-01,,10\n   \nC2,2024-01-05,,20\n"
    export = write(tmp_path, "blank.csv", text + "C3,2024-02-01,,5\n\n")
    settings = Settings(as_of=date(2024, 2, 29))
    for count in (None, 2, 3):
        rows = load([export], parts=count)
        assert rows.read == 3, count
        table = report.movements(rows, settings).frame
        got = [(r["month"], r["new_mrr"], r["closing_mrr"]) for r in table.to_dicts()]
        assert [(m, str(n), str(c)) for m, n, c in got] == [
            ("2024-01", "30.00", "30.00"),
            ("2024-02", "5.00", "35.00"),
        ], count
