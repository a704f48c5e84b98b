"""QA of a run in slices (mrrcli.batches, SPEC §13): one Parquet file read for one report as
slices of consecutive rows must give the bytes, notes, errors and exit codes of the whole run.

Each case is a small hand-made Parquet export whose rows sit in known slices (`--parts N` on
R rows: slices of ceil(R / N) consecutive rows), run whole and in slices through the command
line; the expected figures are worked out by hand in the comments."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import polars as pl
from typer.testing import CliRunner

from mrrcli.cli import app
from mrrcli.present.terminal import Terminal
from tests.conftest import SAMPLE_PARQUET

AS_OF = ["--as-of", "2024-06-30", "--max-age", "0", "-f", "csv"]
MOVEMENTS_HEADER = (
    "month,days,opening_mrr,new_mrr,expansion_mrr,reactivation_mrr,contraction_mrr,"
    "churned_mrr,net_new_mrr,closing_mrr"
)


def mrrcli(*args: str) -> tuple[int, str, str]:
    """Exit code, stdout and stderr of one command line."""
    done = CliRunner().invoke(app, list(args), obj=Terminal(color=False))
    return done.exit_code, done.stdout, done.stderr


def parquet(tmp_path: Path, columns: dict[str, list[str | None]]) -> str:
    path = tmp_path / "export.parquet"
    pl.DataFrame(columns, schema=dict.fromkeys(columns, pl.String)).write_parquet(path)
    return str(path)


def without_how(stderr: str) -> str:
    """stderr but the line that tells how the run was computed (whole, in parts, slices)."""
    return "".join(line for line in stderr.splitlines(keepends=True) if "read in" not in line)


def same_as_whole(path: str, *args: str, parts: int, command: str = "movements") -> str:
    """The stdout of a run in `parts`, checked equal (stdout, notes, exit code) to the whole
    run's; its how-computed line is returned with it, for the case to check the path taken."""
    whole = mrrcli(command, path, *args, "--parts", "1")
    split = mrrcli(command, path, *args, "--parts", str(parts))
    assert split[0] == whole[0]
    assert split[1] == whole[1]
    assert without_how(split[2]) == without_how(whole[2])
    return split[1]


def test_an_fx_rate_is_one_per_subscription_across_slices(tmp_path: Path) -> None:
    # Subscription s1 of customer a pays 100 EUR a month from Jan 1, 120 EUR from Mar 1. One
    # rate per subscription, that of its first paying day (SPEC §3): Jan 1, 1.1 USD per EUR,
    # for both rows, so 110.00 USD then 120 × 1.1 = 132.00 USD (expansion 22.00). In 2 slices
    # the March row is alone in slice 2: read alone, its subscription's first paying day was
    # Mar 1 (rate 1.2, 144.00 USD, expansion 34.00).
    fx = tmp_path / "rates.csv"
    fx.write_text("date,currency,rate\n2024-01-01,EUR,1.1\n2024-03-01,EUR,1.2\n")
    path = parquet(
        tmp_path,
        {
            "customer_id": ["a", "a"],
            "subscription_id": ["s1", "s1"],
            "start_date": ["2024-01-01", "2024-03-01"],
            "end_date": ["2024-03-01", None],
            "amount": ["100", "120"],
            "currency": ["EUR", "EUR"],
            "interval": ["month", "month"],
        },
    )
    args = [*AS_OF, "--fx", str(fx), "--currency", "USD"]
    assert same_as_whole(path, *args, parts=2) == "\n".join(
        [
            MOVEMENTS_HEADER,
            "2024-01,31,0.00,110.00,0.00,0.00,0.00,0.00,110.00,110.00",
            "2024-02,29,110.00,0.00,0.00,0.00,0.00,0.00,0.00,110.00",
            "2024-03,31,110.00,0.00,22.00,0.00,0.00,0.00,22.00,132.00",
            "2024-04,30,132.00,0.00,0.00,0.00,0.00,0.00,0.00,132.00",
            "2024-05,31,132.00,0.00,0.00,0.00,0.00,0.00,0.00,132.00",
            "2024-06,30,132.00,0.00,0.00,0.00,0.00,0.00,0.00,132.00",
            "",
        ]
    )


def _no_file_over_2000_bytes() -> None:
    resource.setrlimit(resource.RLIMIT_FSIZE, (2000, 2000))


def test_slices_that_cannot_be_written_aside_are_read_as_before(tmp_path: Path) -> None:
    # A TMPDIR where no file may pass 2,000 bytes (as a full disk: "File too large" where a
    # full one says "No space left on device"): the numbers of a slice (about 40 bytes a row,
    # 580 rows a slice here) cannot be written. The report is still the whole run's, as
    # before slices: read in parts by customer, each part filtered out of the file itself
    # when the split cannot be written either; stderr says why it was slow; nothing is left.
    args = ["movements", str(SAMPLE_PARQUET), "--as-of", "2026-06-30", "--max-age", "0"]
    command = [sys.executable, "-m", "mrrcli", *args, "-f", "csv"]
    environment = {**os.environ, "TMPDIR": str(tmp_path)}
    whole = subprocess.run(command, capture_output=True, text=True, env=environment, check=True)
    split = subprocess.run(
        [*command, "--parts", "3"],
        capture_output=True,
        text=True,
        env=environment,
        preexec_fn=_no_file_over_2000_bytes,
        check=False,
    )
    assert (split.returncode, split.stdout) == (0, whole.stdout)
    assert split.stderr.splitlines()[0] == (
        f"mrrcli: read in 3 parts by customer (1 file); {SAMPLE_PARQUET} could not be split in "
        f"{tmp_path} (File too large), so each part read the whole file (allow TMPDIR about "
        "60 bytes a row)"
    )
    assert os.listdir(tmp_path) == []


def test_an_amount_is_read_alike_whatever_the_decimal_places_of_other_rows(
    tmp_path: Path,
) -> None:
    # Row 1's amount, 99,999,999,999 (11 digits), was read at the column's most decimal
    # places: 28, those of row 4. 11 + 28 = 39 digits pass the 38 that an exact number may
    # hold, so a whole run stopped at row 1 ("cannot read '99999999999' as an amount"),
    # where a run in slices (row 4 in the other slice), or in parts by customer, read it.
    # Each amount is now read at its own places: the MRR on Jan 1 is
    # 99,999,999,999 + 20 + 30 + 0.1234567890123456789012345678 = 100,000,000,049.12.
    path = parquet(
        tmp_path,
        {
            "customer_id": ["a", "b", "c", "d"],
            "start_date": ["2024-01-01"] * 4,
            "amount": ["99999999999", "20", "30", "0.1234567890123456789012345678"],
        },
    )
    shown = same_as_whole(path, *AS_OF, parts=2).splitlines()
    assert shown[1] == (
        "2024-01,31,0.00,100000000049.12,0.00,0.00,0.00,0.00,100000000049.12,100000000049.12"
    )
    assert len(shown) == 7  # the header and January to June


def test_a_number_reads_the_same_beside_any_other_values() -> None:
    # What a value reads as may not depend on the rows beside it (a part or a slice holds
    # some of them): each value below is read alone, beside one of 28 decimal places, one of
    # 6 and one with an exponent. By hand: 99999999999 (11 digits); 33 ones (33 digits,
    # 39 at 6 places: it was unread beside 0.123456, "implausibly large" alone); $1,200.50
    # is 1200.5; 1 followed by 40 zeros after the point is 1 (its trailing zeros dropped);
    # 37 ones after the point pass the 36 places a value may have: not read.
    from mrrcli.read.numbers import scale_column, with_numbers

    values = ["99999999999", "1" * 33, "$1,200.50", "1." + "0" * 40, "0." + "1" * 37]
    expected = [Decimal("99999999999"), Decimal("1" * 33), Decimal("1200.5"), Decimal(1), None]
    for beside in ([], ["0.1234567890123456789012345678"], ["0.123456"], ["1e3"]):
        for value, number in zip(values, expected, strict=True):
            read = with_numbers(pl.DataFrame({"a": [value, *beside]}), {"a": "m"})
            mantissa, scale = read.select("m", scale_column("m")).row(0)
            got = None if mantissa is None else Decimal(f"{mantissa}e{-scale}")  # exact
            assert got == number, (value, beside)


def test_a_customer_spread_over_every_slice(tmp_path: Path) -> None:
    # 6 rows in 3 slices of 2 rows; customer a has a row in each slice, c in two. By hand
    # (customer level, monthly prices):
    # Jan: a 100 and b 50 start: new 150, closing 150.
    # Feb: c 30 starts: new 30, closing 180.
    # Mar: a's s1 goes 100 → 150 (row 3, slice 2): expansion 50, closing 230.
    # Apr: c ends on Apr 1: churn 30, closing 200.
    # May: a adds s4 at 20 (slice 3): expansion 20; c back at 40 on May 10 (slice 3):
    #      reactivation 40; closing 260. Jun: no change, 260.
    path = parquet(
        tmp_path,
        {
            "customer_id": ["a", "b", "a", "c", "a", "c"],
            "subscription_id": ["s1", "s2", "s1", "s3", "s4", "s5"],
            "start_date": [
                "2024-01-01",
                "2024-01-15",
                "2024-03-01",
                "2024-02-01",
                "2024-05-01",
                "2024-05-10",
            ],
            "end_date": ["2024-03-01", None, None, "2024-04-01", None, None],
            "amount": ["100", "50", "150", "30", "20", "40"],
            "currency": ["USD"] * 6,
            "interval": ["month"] * 6,
        },
    )
    assert same_as_whole(path, *AS_OF, parts=3) == "\n".join(
        [
            MOVEMENTS_HEADER,
            "2024-01,31,0.00,150.00,0.00,0.00,0.00,0.00,150.00,150.00",
            "2024-02,29,150.00,30.00,0.00,0.00,0.00,0.00,30.00,180.00",
            "2024-03,31,180.00,0.00,50.00,0.00,0.00,0.00,50.00,230.00",
            "2024-04,30,230.00,0.00,0.00,0.00,0.00,30.00,-30.00,200.00",
            "2024-05,31,200.00,0.00,20.00,40.00,0.00,0.00,60.00,260.00",
            "2024-06,30,260.00,0.00,0.00,0.00,0.00,0.00,0.00,260.00",
            "",
        ]
    )
    _, _, told = mrrcli("movements", path, *AS_OF, "--parts", "3")
    assert told == (
        "mrrcli: read in 3 parts by customer (1 file, read once in 3 slices of its rows)\n"
        "mrrcli: 6 rows read, 6 carry MRR\n"
    )


def test_subscriptions_in_two_slices_with_a_trial_a_duplicate_and_a_zero_row(
    tmp_path: Path,
) -> None:
    # 7 rows in 2 slices (rows 1-4, 5-7). Subscription level, by hand:
    # x/s1: 60 a month from Jan 1, in trial until Feb 1 (row 1), 45 from Apr 1 (row 5, the
    #   other slice); y/s2: 0 from Jan 10 (row 2), 15 from Mar 1 (row 6, the other slice);
    # y/s3: 25 from Feb 1 (row 3; row 4 repeats it in the same slice: counted once);
    # z/s9: 1,200 a year (100 a month) for May only (row 7).
    # Nothing pays in January: the report starts in February.
    # Feb: x/s1 60 and y/s3 25 start paying: new 85, closing 85.
    # Mar: y/s2 goes 0 → 15, its first MRR: new 15, closing 100.
    # Apr: x/s1 60 → 45: contraction 15, closing 85.
    # May: z/s9 new 100, closing 185. Jun: z/s9 ends Jun 1: churn 100, closing 85.
    # Rows: 7 read, 1 duplicate; paying: rows 1 (from its trial's end), 3, 5, 6, 7 = 5;
    # 1 row at 0 MRR (row 2). (Row 1 pays once its trial ends: no trial row at 0 MRR, which
    # a trial status makes.)
    path = parquet(
        tmp_path,
        {
            "customer_id": ["x", "y", "y", "y", "x", "y", "z"],
            "subscription_id": ["s1", "s2", "s3", "s3", "s1", "s2", "s9"],
            "start_date": [
                "2024-01-01",
                "2024-01-10",
                "2024-02-01",
                "2024-02-01",
                "2024-04-01",
                "2024-03-01",
                "2024-05-01",
            ],
            "end_date": ["2024-04-01", "2024-03-01", None, None, None, None, "2024-06-01"],
            "trial_end": ["2024-02-01", None, None, None, None, None, None],
            "amount": ["60", "0", "25", "25", "45", "15", "1200"],
            "interval": ["month"] * 6 + ["year"],
        },
    )
    args = [*AS_OF, "--level", "subscription"]
    assert same_as_whole(path, *args, parts=2) == "\n".join(
        [
            MOVEMENTS_HEADER,
            "2024-02,29,0.00,85.00,0.00,0.00,0.00,0.00,85.00,85.00",
            "2024-03,31,85.00,15.00,0.00,0.00,0.00,0.00,15.00,100.00",
            "2024-04,30,100.00,0.00,0.00,0.00,15.00,0.00,-15.00,85.00",
            "2024-05,31,85.00,100.00,0.00,0.00,0.00,0.00,100.00,185.00",
            "2024-06,30,185.00,0.00,0.00,0.00,0.00,100.00,-100.00,85.00",
            "",
        ]
    )
    _, _, told = mrrcli("movements", path, *args, "--parts", "2")
    assert told == (
        "mrrcli: read in 2 parts by customer (1 file, read once in 2 slices of its rows)\n"
        "mrrcli: 7 rows read, 5 carry MRR; 1 duplicate row counted once (--keep-duplicates "
        "counts it); 1 row carries 0 MRR (zero amount or full discount)\n"
    )


def test_a_row_repeated_in_another_slice_is_counted_once(tmp_path: Path) -> None:
    # Row 4 repeats row 1 (ids with spaces, the currency in lower case: they read alike), in
    # the other of 2 slices; a slice cannot see it, so the export is read in parts by
    # customer. By hand: a 100 from Jan 1 (once), b 50 from Feb 1, c 20 from Mar 1:
    # Jan new 100; Feb new 50 (150); Mar new 20 (170); 4 rows read, 1 duplicate.
    path = parquet(
        tmp_path,
        {
            "customer_id": ["a", "b", "c", " a "],
            "subscription_id": ["s1", "s2", "s3", "s1 "],
            "start_date": ["2024-01-01", "2024-02-01", "2024-03-01", "2024-01-01"],
            "amount": ["100", "50", "20", "100.00"],
            "currency": ["USD", "USD", "USD", "usd"],
        },
    )
    shown = same_as_whole(path, *AS_OF, parts=2).splitlines()
    assert shown[1:4] == [
        "2024-01,31,0.00,100.00,0.00,0.00,0.00,0.00,100.00,100.00",
        "2024-02,29,100.00,50.00,0.00,0.00,0.00,0.00,50.00,150.00",
        "2024-03,31,150.00,20.00,0.00,0.00,0.00,0.00,20.00,170.00",
    ]
    _, _, told = mrrcli("movements", path, *AS_OF, "--parts", "2")
    assert told == (
        "mrrcli: read in 2 parts by customer (1 file)\n"
        "mrrcli: 4 rows read, 3 carry MRR; 1 duplicate row counted once (--keep-duplicates "
        "counts it)\n"
    )


def test_the_first_bad_row_is_the_whole_runs_in_any_slice(tmp_path: Path) -> None:
    # Row 6 (in the last slice) has no customer, row 1 (in the first) an amount that is no
    # number. A whole run stops at the first check some row fails: "customer_id is empty"
    # comes before the amounts are read, so it names row 6, not row 1. A run in 2, 3 or 7
    # slices says that very line, with exit 1 and nothing on stdout.
    path = parquet(
        tmp_path,
        {
            "customer_id": ["a", "b", "c", "d", "e", None],
            "start_date": ["2024-01-01"] * 6,
            "amount": ["ten", "20", "30", "40", "50", "60"],
        },
    )
    whole = mrrcli("movements", path, *AS_OF)
    assert whole == (
        1,
        "",
        f"mrrcli: error: {path}, row 6, column 'customer_id': customer_id is empty\n",
    )
    for parts in ("2", "3", "7"):
        assert mrrcli("movements", path, *AS_OF, "--parts", parts) == whole


def test_every_sliced_report_and_the_others_equal_the_whole_run() -> None:
    # The sample (1,740 rows, typed Date and Decimal columns) in 4 slices: movements,
    # metrics, cohorts and expansion are computed from the slices; customers (every change
    # with its ids) is read in parts by customer. Each equals the whole run, at both levels.
    for command in ("movements", "metrics", "cohorts", "expansion", "customers"):
        for level in ("customer", "subscription"):
            args = ["--as-of", "2026-06-30", "--max-age", "0", "-f", "csv", "--level", level]
            same_as_whole(str(SAMPLE_PARQUET), *args, parts=4, command=command)
