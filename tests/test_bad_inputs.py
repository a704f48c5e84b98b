"""Bad exports, as cron meets them: every one stops the run cleanly (SPEC §2.5, §7.1).

mrrcli runs unattended on exports nobody checked. It must never print a wrong number, never die
with a traceback and never leave half a report. A report command fails on the first blocking
problem: exit code 1 (2 for wrong usage), nothing on stdout, one line on stderr naming the file,
the spreadsheet row and the column, and how many rows share the problem.

Each case is a few bytes written to a file named after the case, run through
`mrrcli movements FILE --as-of 2024-12-31`. Odd inputs that are valid (a byte-order mark, a quoted
newline, CRLF, timestamps with offsets, far-future end dates) must succeed with the right months.
"""

from __future__ import annotations

import csv
import io
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mrrcli.cli import app

runner = CliRunner()
AS_OF = ("--as-of", "2024-12-31")
HEADER = b"customer_id,start_date,end_date,amount\n"
# Control characters other than tab and newline: a message carrying them (a NUL echoed from a
# binary file) corrupts the cron log it lands in.
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
# errors_handled's catch-all for an exception nobody foresaw: a bug, not a checked input.
UNFORESEEN = "--debug"


@dataclass(frozen=True)
class Bad:
    """A bad input and what its one-line error must say."""

    content: bytes | None  # None: the case builds its own path (a directory, a glob)
    row: int | None = None  # spreadsheet row the message must name
    column: str | None = None  # column the message must name
    words: tuple[str, ...] = ()  # further key words, case-insensitive
    share: int | None = None  # rows with the problem (the message says how many)
    code: int | tuple[int, ...] = 1
    args: tuple[str, ...] = ()
    absent: tuple[str, ...] = ()  # what the message must not say (it would mislead)


def rows_of(*lines: str) -> bytes:
    return ("\n".join(lines) + "\n").encode()


def big_sum_rows() -> bytes:
    """Twelve customers each inside every per-row limit, whose sum overflows 64-bit cents."""
    lines = ["customer_id,start_date,amount,quantity"]
    lines += [f"C{i:02d},2024-01-01,999999999999,9000" for i in range(12)]
    return rows_of(*lines)


BAD: dict[str, Bad] = {
    "missing_required_column": Bad(
        rows_of("customer_id,end_date,amount", "A,,10"), column="start_date", words=("missing",)
    ),
    "map_to_absent_required_header": Bad(
        rows_of("cust,start_date,amount", "A,2024-01-01,10"),
        column="customer_id",
        words=("Account",),  # the header the user asked for is named
        args=("--map", "customer_id=Account"),
    ),
    "map_to_absent_optional_header": Bad(
        # A typo in --map must not silently drop every end date (no churn: wrong numbers).
        rows_of("customer_id,start_date,Finish,amount", "A,2024-01-01,2024-02-01,10"),
        column="end_date",
        words=("Ends",),
        code=(1, 2),
        args=("--map", "end_date=Ends"),
    ),
    "map_to_absent_header_lists_headers_as_written": Bad(
        # The file's headers are listed as it writes them, not lower-cased.
        rows_of("Customer ID,Start Date,Amount", "A,2024-01-01,10"),
        column="Customer ID, Start Date, Amount",
        words=("Ends",),
        code=(1, 2),
        args=(
            *("--map", "customer_id=Customer ID", "--map", "start_date=Start Date"),
            *("--map", "end_date=Ends"),
        ),
    ),
    "map_unknown_canonical_name": Bad(
        # `enddate` is no canonical column: ignoring it would drop every end date.
        rows_of("customer_id,start_date,Ends,amount", "A,2024-01-01,2024-02-01,10"),
        words=("enddate",),
        code=2,
        args=("--map", "enddate=Ends"),
    ),
    "unparseable_date": Bad(
        HEADER + rows_of("A,2024-01-01,,10", "B,2024-13-45,,10", "C,nope,,10"),
        row=3,
        column="start_date",
        words=("2024-13-45",),
        share=2,
    ),
    "impossible_day": Bad(
        HEADER + rows_of("A,2024-02-30,,10"), row=2, column="start_date", words=("2024-02-30",)
    ),
    "unparseable_amount": Bad(
        HEADER + rows_of("A,2024-01-01,,10", "B,2024-01-01,,ten"),
        row=3,
        column="amount",
        words=("ten",),
    ),
    "nan_amount": Bad(HEADER + rows_of("A,2024-01-01,,NaN"), row=2, column="amount"),
    "negative_amount": Bad(
        HEADER + rows_of("A,2024-01-01,,10", "B,2024-01-01,,-5", "C,2024-01-01,,-7"),
        row=3,
        column="amount",
        words=("negative",),
        share=2,
    ),
    "end_before_start": Bad(
        HEADER + rows_of("A,2024-03-01,2024-02-01,10"), row=2, column="end_date"
    ),
    "unknown_interval": Bad(
        rows_of("customer_id,start_date,amount,interval", "A,2024-01-01,10,fortnight"),
        row=2,
        column="interval",
        words=("fortnight",),
    ),
    "unknown_currency": Bad(
        rows_of("customer_id,start_date,amount,currency", "A,2024-01-01,10,XYZ"),
        row=2,
        column="currency",
        words=("XYZ",),
    ),
    "several_currencies_without_fx": Bad(
        rows_of(
            "customer_id,start_date,amount,currency", "A,2024-01-01,10,USD", "B,2024-01-01,10,EUR"
        ),
        column="currency",
        words=("EUR", "USD", "--fx"),
    ),
    "interval_count_zero": Bad(
        rows_of("customer_id,start_date,amount,interval_count", "A,2024-01-01,10,0"),
        row=2,
        column="interval_count",
    ),
    "negative_quantity": Bad(
        rows_of("customer_id,start_date,amount,quantity", "A,2024-01-01,10,-1"),
        row=2,
        column="quantity",
    ),
    "discount_percent_150": Bad(
        rows_of("customer_id,start_date,amount,discount_percent", "A,2024-01-01,10,150"),
        row=2,
        column="discount_percent",
        words=("150",),
    ),
    "binary_junk": Bad(bytes(range(256)) + b"\x00\x89PNG\r\n\x1a\n\x00\x00\xff\xfe" * 8),
    "binary_with_nuls_in_header": Bad(b"\x00\x01\xff\xfe\x89PNG\x00\n\x00\x00\x07\n"),
    "utf16_export": Bad(
        # Excel's "Unicode text": UTF-16 with a byte-order mark.
        "customer_id,start_date,amount\r\nA,2024-01-01,10\r\n".encode("utf-16"),
        words=("UTF",),
    ),
    "zero_bytes": Bad(b"", words=("empty",)),
    "blank_lines_only": Bad(b"\n\n\n", words=("empty",)),
    "header_only": Bad(HEADER, words=("no data",)),
    "latin1_bytes": Bad(HEADER + b"Caf\xe9,2024-01-01,,10\n", words=("UTF-8",)),
    "mixed_delimiters": Bad(HEADER + rows_of("A,2024-01-01,,10", "B;2024-01-01;;10"), row=3),
    "ragged_row_too_many_fields": Bad(
        HEADER + rows_of("A,2024-01-01,,10", "B,2024-01-01,,10,extra,more"), row=3
    ),
    "unclosed_quote": Bad(HEADER + rows_of('A,2024-01-01,,"10', "B,2024-01-01,,10"), row=2),
    "empty_customer_id": Bad(
        HEADER + rows_of("A,2024-01-01,,10", ",2024-01-01,,10"), row=3, column="customer_id"
    ),
    "duplicated_header": Bad(
        # Two customer_id columns: which one holds the customer is a guess.
        rows_of("customer_id,customer_id,start_date,amount", "A,B,2024-01-01,10"),
        column="customer_id",
    ),
    "amount_1e15": Bad(
        HEADER + rows_of("A,2024-01-01,,1e15"), row=2, column="amount", words=("large",)
    ),
    "row_mrr_overflows": Bad(
        # Amount and quantity each under their limits; their product is no MRR in 64 bits.
        rows_of("customer_id,start_date,amount,quantity", "A,2024-01-01,999999999999,9999999"),
        row=2,
    ),
    "sum_overflows": Bad(big_sum_rows()),
    "ambiguous_day_month": Bad(
        HEADER + rows_of("A,01/02/2024,,10", "B,03/04/2024,,10"),
        column="start_date",
        words=("--date-format",),
    ),
    # The column is named as the file writes its header (the user cannot find `end_date` in
    # a file that says `Stop`), and a date is shown as a date, not as a Python repr.
    "end_before_start_mapped_header": Bad(
        rows_of("Customer,Start,Stop,Price", "A,2024-03-01,2024-02-01,10"),
        row=2,
        column="column 'Stop'",
        words=("2024-02-01",),
        args=(
            *("--map", "customer_id=Customer", "--map", "start_date=Start"),
            *("--map", "end_date=Stop", "--map", "amount=Price"),
        ),
    ),
    "invoice_line_ends_before_it_starts": Bad(
        rows_of(
            "customer_id,subscription_id,amount,period_start,period_end",
            "A,a,100,2024-03-01,2024-04-01",
            "B,b,100,2024-03-01,2024-02-01",
        ),
        row=3,
        column="column 'period_end'",
        words=("'2024-02-01'",),
        args=("--source", "invoice-lines"),
        absent=("datetime", "column 'end_date'"),
    ),
    "stripe_ended_before_start": Bad(
        rows_of(
            "id,Customer ID,Status,Amount,Interval,Currency,Start Date (UTC),Ended At (UTC)",
            "sub_1,cus_1,canceled,10.00,month,usd,2024-03-01 10:00,2024-02-01 10:00",
        ),
        row=2,
        column="column 'Ended At (UTC)'",
    ),
    "stripe_amount_named_as_written": Bad(
        rows_of(
            "id,Customer ID,Status,Amount,Interval,Currency,Start Date (UTC),Ended At (UTC)",
            "sub_1,cus_1,active,1O.00,month,usd,2024-03-01 10:00,",
        ),
        row=2,
        column="column 'Amount'",
        words=("1O.00",),
    ),
    # Numeric dates of an open order name the column as the file writes it, never an
    # internal name (a snapshot's month was named '_month_text').
    "snapshot_months_of_open_order": Bad(
        rows_of("customer_id,month,mrr", "A,01/02/2024,10", "A,01/03/2024,20"),
        column="column 'month'",
        words=("--date-format",),
        args=("--source", "snapshots"),
        absent=("_month_text",),
    ),
    "stripe_dates_of_open_order": Bad(
        rows_of(
            "id,Customer ID,Status,Amount,Interval,Currency,Start Date (UTC),Ended At (UTC)",
            "sub_1,cus_1,active,10.00,month,usd,1/5/24 10:00,",
            "sub_2,cus_2,canceled,10.00,month,usd,2/3/24 10:00,3/4/24 10:00",
        ),
        column="column 'Start Date (UTC)', 'Ended At (UTC)'",
        words=("--date-format",),
    ),
    "directory": Bad(None, words=("directory",)),
    "glob_matching_nothing": Bad(None, words=("no file",)),
}


def bad_path(case_id: str, case: Bad, folder: Path) -> Path:
    if case_id == "directory":
        path = folder / "directory.csv"
        path.mkdir()
        return path
    if case_id == "glob_matching_nothing":
        return folder / "glob_matching_nothing_*.csv"
    assert case.content is not None
    path = folder / f"{case_id}.csv"
    path.write_bytes(case.content)
    return path


def check_one_line_error(case_id: str, case: Bad, code: int, out: str, err: str) -> None:
    codes = case.code if isinstance(case.code, tuple) else (case.code,)
    assert code in codes, f"exit {code}, stdout {out[:300]!r}, stderr {err!r}"
    assert out == "", "a failed run writes nothing on stdout"
    assert "Traceback" not in err
    assert err.endswith("\n") and err.count("\n") == 1, f"not one line: {err!r}"
    assert UNFORESEEN not in err, f"an unforeseen exception, not a checked input: {err!r}"
    assert not CONTROL.search(err), f"control characters in the message: {err!r}"
    name = "glob_matching_nothing_*.csv" if case_id == "glob_matching_nothing" else case_id
    assert name in err, f"the file is not named: {err!r}"
    if case.row is not None:
        assert re.search(rf"\brow {case.row}\b", err), f"row {case.row} is not named: {err!r}"
    if case.column is not None:
        assert case.column in err, f"column {case.column} is not named: {err!r}"
    for word in case.words:
        assert word.lower() in err.lower(), f"{word!r} is not in {err!r}"
    for phrase in case.absent:
        assert phrase not in err, f"misleading: {err!r}"
    if case.share is not None:
        others = case.share - 1
        phrases = (f"{others} other row", f"{case.share} rows")
        assert any(p in err for p in phrases), f"{case.share} rows share it: {err!r}"


def invoke(args: list[str]) -> tuple[int, str, str]:
    result = runner.invoke(app, args)
    # CliRunner catches what escapes the app; an exception here is a crash, not an exit.
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"crashed: {result.exception!r}") from result.exception
    return result.exit_code, result.stdout, result.stderr


def test_there_are_at_least_25_bad_inputs() -> None:
    assert len(BAD) >= 25


@pytest.mark.parametrize("case_id", list(BAD), ids=list(BAD))
def test_bad_input_stops_with_one_line(case_id: str, in_tmp: Path) -> None:
    case = BAD[case_id]
    path = bad_path(case_id, case, in_tmp)
    code, out, err = invoke(["movements", path.name, *AS_OF, *case.args])
    check_one_line_error(case_id, case, code, out, err)


@pytest.mark.parametrize("command", ["expansion", "metrics", "customers"])
def test_every_report_command_stops_the_same_way(command: str, in_tmp: Path) -> None:
    case = BAD["negative_amount"]
    path = bad_path("negative_amount", case, in_tmp)
    code, out, err = invoke([command, path.name, *AS_OF])
    check_one_line_error("negative_amount", case, code, out, err)


# --- odd inputs that are valid -------------------------------------------------------------------


def report(text: str) -> dict[str, dict[str, str]]:
    """CSV movements by month; checks the identity and the month-to-month chain on the way."""
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows, "no rows"
    previous_closing = Decimal(0)
    for row in rows:
        money = {k: Decimal(v) for k, v in row.items() if k.endswith("_mrr")}
        assert money["opening_mrr"] == previous_closing, row["month"]
        inflow = money["new_mrr"] + money["expansion_mrr"] + money["reactivation_mrr"]
        outflow = money["contraction_mrr"] + money["churned_mrr"]
        assert money["opening_mrr"] + inflow - outflow == money["closing_mrr"], row["month"]
        assert all(v >= 0 for k, v in money.items() if k != "net_new_mrr"), row
        previous_closing = money["closing_mrr"]
    return {row["month"]: row for row in rows}


def succeed(path: Path, *args: str) -> dict[str, dict[str, str]]:
    code, out, err = invoke(["movements", path.name, *AS_OF, "--format", "csv", *args])
    assert code == 0, err
    assert "Traceback" not in err
    return report(out)


def write(folder: Path, name: str, content: bytes) -> Path:
    path = folder / name
    path.write_bytes(content)
    return path


def test_utf8_byte_order_mark_is_read(in_tmp: Path) -> None:
    path = write(in_tmp, "bom.csv", b"\xef\xbb\xbf" + HEADER + rows_of("A,2024-01-01,,10"))
    months = succeed(path)
    assert months["2024-01"]["new_mrr"] == "10.00"
    assert months["2024-12"]["closing_mrr"] == "10.00"


def test_iso_dates_mixed_with_unambiguous_day_first_dates(in_tmp: Path) -> None:
    # ISO is never ambiguous, and 13/02 and 14/02 can only be day-first: all three are read.
    path = write(
        in_tmp,
        "mixed.csv",
        HEADER + rows_of("A,2024-01-01,,10", "B,13/02/2024,,10", "C,14/02/2024,,10"),
    )
    months = succeed(path)
    assert months["2024-01"]["new_mrr"] == "10.00"
    assert months["2024-02"]["new_mrr"] == "20.00"


def test_quoted_newline_inside_a_field_is_one_row(in_tmp: Path) -> None:
    content = b'customer_id,plan_id,start_date,end_date,amount\nA,"two\nlines",2024-01-01,,10\n'
    content += b'B,"x, y",2024-02-01,2024-03-01,5\n'
    months = succeed(write(in_tmp, "quoted.csv", content))
    assert months["2024-01"]["new_mrr"] == "10.00"
    assert months["2024-02"]["new_mrr"] == "5.00"
    assert months["2024-03"]["churned_mrr"] == "5.00"


def test_crlf_line_endings(in_tmp: Path) -> None:
    content = HEADER.replace(b"\n", b"\r\n") + b"A,2024-01-01,2024-03-01,10\r\n"
    months = succeed(write(in_tmp, "crlf.csv", content))
    assert months["2024-03"]["churned_mrr"] == "10.00"
    assert months["2024-12"]["closing_mrr"] == "0.00"


@pytest.mark.parametrize(
    ("timezone", "month", "other_month"),
    [(None, "2024-02", "2024-01"), ("America/New_York", "2024-01", "2024-02")],
    ids=["utc", "new_york"],
)
def test_timestamp_offset_across_midnight(
    timezone: str | None, month: str, other_month: str, in_tmp: Path
) -> None:
    # 23:30 in New York on January 31st is 04:30 UTC on February 1st.
    path = write(in_tmp, "offset.csv", HEADER + rows_of("A,2024-01-31T23:30:00-05:00,,10"))
    months = succeed(path, *(("--timezone", timezone) if timezone else ()))
    assert months[month]["new_mrr"] == "10.00"
    assert months[month]["opening_mrr"] == "0.00"
    assert other_month not in months or months[other_month]["new_mrr"] == "0.00"


def test_end_date_9999_12_31_runs_on(in_tmp: Path) -> None:
    months = succeed(write(in_tmp, "far.csv", HEADER + rows_of("A,2024-01-01,9999-12-31,10")))
    assert list(months)[-1] == "2024-12"
    assert months["2024-12"]["closing_mrr"] == "10.00"
    assert all(m["churned_mrr"] == "0.00" for m in months.values())


def test_start_in_year_1_works_or_fails_clearly(in_tmp: Path) -> None:
    """0001-01-01 is a sentinel more often than a date: reading it or refusing it are both
    sane; crashing or printing garbage is not."""
    path = write(in_tmp, "year1.csv", HEADER + rows_of("A,0001-01-01,,10", "B,2024-06-01,,5"))
    code, out, err = invoke(["movements", path.name, *AS_OF, "--format", "csv"])
    assert "Traceback" not in err and UNFORESEEN not in err
    if code == 0:
        months = report(out)
        assert next(iter(months)) == "0001-01"
        assert list(months)[-1] == "2024-12"
        assert months["2024-06"]["new_mrr"] == "5.00"
        assert months["2024-12"]["closing_mrr"] == "15.00"
    else:
        check_one_line_error("year1", Bad(b"", row=2, column="start_date"), code, out, err)


# --- the same through a real process: what cron sees ---------------------------------------------

SUBPROCESS_CASES = ["binary_junk", "negative_amount", "ragged_row_too_many_fields"]


@pytest.mark.parametrize("case_id", SUBPROCESS_CASES, ids=SUBPROCESS_CASES)
def test_bad_input_in_a_real_process(case_id: str, tmp_path: Path) -> None:
    case = BAD[case_id]
    path = bad_path(case_id, case, tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "mrrcli", "movements", path.name, *AS_OF],
        capture_output=True,
        text=True,
        errors="backslashreplace",
        cwd=tmp_path,
        env={**os.environ, "NO_COLOR": "1"},
        check=False,
    )
    check_one_line_error(case_id, case, result.returncode, result.stdout, result.stderr)


def test_real_process_reads_a_bom_file(tmp_path: Path) -> None:
    write(tmp_path, "bom.csv", b"\xef\xbb\xbf" + HEADER + rows_of("A,2024-01-01,,10"))
    result = subprocess.run(
        [sys.executable, "-m", "mrrcli", "movements", "bom.csv", *AS_OF],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "NO_COLOR": "1"},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert report(result.stdout)["2024-12"]["closing_mrr"] == "10.00"
