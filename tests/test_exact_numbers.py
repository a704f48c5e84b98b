"""Numbers read exactly as written, one rounding per row (SPEC §2.5, §3; issue 11).

Every expected value is worked out by hand in a comment:

    mrr = (amount × quantity × (1 − discount_percent/100) − discount_amount) ÷ months

months: month → 1, year → 12, week → 7 ÷ 30.4375, day → 1 ÷ 30.4375; the result, in the
reporting currency, is rounded once, half away from zero, to the cent.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from mrrcli.cli import app
from mrrcli.errors import InputError
from mrrcli.report import load

runner = CliRunner()
PRICE = "customer_id,start_date,amount,quantity\n"


def write(folder: Path, text: str, name: str = "export.csv") -> str:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def mrr_of(folder: Path, text: str, **options: object) -> list[int]:
    """The `mrr` column (cents) of each row of a periods CSV, in file order."""
    rows = load([write(folder, text)], **options)  # type: ignore[arg-type]
    return rows.frame.sort("_row").get_column("mrr").to_list()


def movements(folder: Path, text: str, *args: str) -> tuple[int, list[dict[str, str]], str]:
    """`mrrcli movements --format csv` of a periods CSV as of 2024-01-31: exit code, rows,
    stderr."""
    path = write(folder, text)
    result = runner.invoke(app, ["movements", path, "--as-of", "2024-01-31", "-f", "csv", *args])
    return result.exit_code, list(csv.DictReader(io.StringIO(result.stdout))), result.stderr


# --- 1. numbers are never rounded before the one rounding ------------------------------------


@pytest.mark.parametrize(
    ("amount", "quantity", "closing"),
    [
        # 0.0012345 × 100,000 = 123.45 exactly (cut to 6 places it was 0.001234 → 123.40)
        ("0.0012345", "100000", "123.45"),
        # 1000 × 1.0005 = 1000.50 (quantity cut to 3 places was 1.000 → 1000.00)
        ("1000", "1.0005", "1000.50"),
        # 0.0000125 × 8,000,000 = 100.00 (amount cut to 0.000012 → 96.00)
        ("0.0000125", "8000000", "100.00"),
        # 0.00000049 × 1,000,000 = 0.49 (amount cut to 0.000000 → 0: the customer vanished)
        ("0.00000049", "1000000", "0.49"),
        # Stripe's 12 decimal places: 0.000000000001 × 10^12 seats = 1.00
        ("0.000000000001", "1000000000000", "1.00"),
    ],
)
def test_the_cli_reads_prices_and_quantities_as_written(
    tmp_path: Path, amount: str, quantity: str, closing: str
) -> None:
    code, rows, err = movements(tmp_path, PRICE + f"A,2024-01-01,{amount},{quantity}\n")
    assert code == 0, err
    assert [(r["month"], r["new_mrr"], r["closing_mrr"]) for r in rows] == [
        ("2024-01", closing, closing)
    ]


def test_many_decimal_places_in_each_column_of_the_formula(tmp_path: Path) -> None:
    header = "customer_id,start_date,amount,quantity,interval,discount_percent\n"
    text = header + (
        # 1200 yearly, 12.345001% off: 1200 × 0.87654999 ÷ 12 = 87.654999 → 87.65 (the
        # percentage cut to 4 places, 12.3450, gave 87.655 → 87.66)
        "A,2024-01-01,1200,1,year,12.345001\n"
        # 100 weekly: 100 × 30.4375 ÷ 7 = 434.8214… → 434.82
        "B,2024-01-01,100,1,week,\n"
        # 0.000000000001 × 10^12 daily: 1 × 30.4375 = 30.4375 → 30.44
        "C,2024-01-01,0.000000000001,1000000000000,day,\n"
        # 0.0000001 × 7,000,000 = 0.70 weekly, 50.5% off: 0.7 × 0.495 × 30.4375 ÷ 7
        # = 0.34650 × 4.348214… = 1.5066562… → 1.51
        "D,2024-01-01,0.0000001,7000000,week,50.5\n"
    )
    assert mrr_of(tmp_path, text) == [8765, 43482, 3044, 151]


def test_a_half_cent_of_an_exact_product_rounds_away_from_zero(tmp_path: Path) -> None:
    # 0.0000125 × 1,000,000 = 12.5 minor units (--amount-unit minor, USD) = 0.125 USD: a half
    # cent, exactly, so 0.13 (12.5 → 13 cents)
    text = PRICE + "A,2024-01-01,0.0000125,1000000\n"
    assert mrr_of(tmp_path, text, amount_unit="minor") == [13]


def test_an_fx_rate_multiplies_the_exact_price(tmp_path: Path) -> None:
    # 0.0012345 × 100,000 = 123.45 EUR at 1.1 USD per EUR = 135.795 USD exactly: half a cent,
    # away from zero → 135.80 (an inexact product just under it would give 135.79)
    fx = write(tmp_path, "date,currency,rate\n2023-12-01,EUR,1.1\n", "fx.csv")
    text = "customer_id,start_date,amount,quantity,currency\nA,2024-01-01,0.0012345,100000,EUR\n"
    assert mrr_of(tmp_path, text, fx=fx, currency="USD") == [13580]


def test_parquet_floats_are_read_as_their_shortest_decimal(tmp_path: Path) -> None:
    # A float64 amount 0.0000125 is the decimal 0.0000125 as Python prints it (1.25e-05):
    # × 8,000,000 = 100.00; a Decimal(38, 12) amount 0.000000000001 × 10^12 = 1.00; a float
    # quantity 1.0005 × 1000 = 1000.50.
    frame = pl.DataFrame(
        {
            "customer_id": ["A", "B", "C"],
            "start_date": [date(2024, 1, 1)] * 3,
            "amount": [0.0000125, 0.000000000001, 1000.0],
            "exact": pl.Series(
                [Decimal("0"), Decimal("0.000000000001"), Decimal("0")], dtype=pl.Decimal(38, 12)
            ),
            "quantity": [8_000_000.0, 1e12, 1.0005],
        }
    )
    floats = tmp_path / "floats.parquet"
    frame.drop("exact").write_parquet(floats)
    assert load([str(floats)]).frame.sort("_row").get_column("mrr").to_list() == [
        10000,
        100,
        100050,
    ]
    decimals = tmp_path / "decimals.parquet"
    frame.filter(pl.col("customer_id") == "B").drop("amount").rename(
        {"exact": "amount"}
    ).write_parquet(decimals)
    assert load([str(decimals)]).frame.get_column("mrr").to_list() == [100]


def test_a_value_with_more_digits_than_the_arithmetic_holds_is_unreadable(tmp_path: Path) -> None:
    # 39 significant digits do not fit in a 128-bit integer: the row is named, never rounded.
    text = PRICE + "A,2024-01-01,1.00000000000000000000000000000000000001,1\n"
    with pytest.raises(InputError, match=r"row 2.*amount.*cannot read"):
        load([write(tmp_path, text)])


# --- 2. no limit on a quantity, only on what the arithmetic can hold ---------------------------


def test_twenty_five_million_seats(tmp_path: Path) -> None:
    # 0.0001 × 25,000,000 = 2,500.00 (refused before as "implausibly large")
    code, rows, err = movements(tmp_path, PRICE + "A,2024-01-01,0.0001,25000000\n")
    assert code == 0, err
    assert rows[0]["closing_mrr"] == "2500.00"


def test_a_quantity_of_ten_to_the_fifteen(tmp_path: Path) -> None:
    # 0.000001 × 10^15 = 1,000,000,000.00 a month: large, and exact
    assert mrr_of(tmp_path, PRICE + "A,2024-01-01,0.000001,1000000000000000\n") == [10**11]


def test_an_overflow_of_the_exact_arithmetic_names_file_row_and_column(tmp_path: Path) -> None:
    # 10^9 × 10^30 = 10^39 dollars: 10^41 cents does not fit in 128 bits (2^127 ≈ 1.7 × 10^38)
    text = PRICE + "A,2024-01-01,10,1\nB,2024-01-01,1000000000,1" + "0" * 30 + "\n"
    code, rows, err = movements(tmp_path, text)
    assert code == 1 and rows == []
    assert err.count("\n") == 1, err
    assert "export.csv" in err and "row 3" in err and "quantity" in err and "overflow" in err


def test_a_row_beyond_the_64_bit_sums_is_an_overflow_naming_the_row(tmp_path: Path) -> None:
    # 999,999,999,999 × 9,999,999 ≈ 10^19 dollars = 10^21 cents: exact in 128 bits, but more
    # than the 2^62 ≈ 4.6 × 10^18 cents the reports can add up
    text = PRICE + "A,2024-01-01,999999999999,9999999\n"
    code, _, err = movements(tmp_path, text)
    assert code == 1
    assert "row 2" in err and "amount" in err and "overflow" in err


# --- 3. a discount larger than the price ------------------------------------------------------

DISCOUNTS = (
    "customer_id,start_date,amount,quantity,discount_amount,status\n"
    "A,2024-01-01,10,2,25,active\n"  # 10 × 2 − 25 = −5: more discount than price → 0
    "B,2024-01-01,10,1,,active\n"  # 10 → 10.00
    "C,2024-01-01,0,1,,active\n"  # a zero amount → 0 (counted apart)
    "D,2024-01-01,5,1,5.01,active\n"  # 5 − 5.01 = −0.01 → 0
    "E,2024-01-01,5,1,5,active\n"  # 5 − 5 = 0: a full discount, not more → 0 (counted apart)
    "F,2024-01-01,5,1,9,trialing\n"  # a trial: 0 as a trial, not as a discount
)


def test_a_discount_larger_than_the_price_is_zero_never_negative(tmp_path: Path) -> None:
    rows = load([write(tmp_path, DISCOUNTS)])
    assert rows.frame.sort("_row").get_column("mrr").to_list() == [0, 1000, 0, 0, 0, 0]
    # A and D: discount above the price; C and E at 0 otherwise; F a trial
    assert (rows.over_discount_rows, rows.zero_rows, rows.trial_rows) == (2, 2, 1)
    assert rows.paying_rows() == 1


def test_reports_count_rows_with_a_discount_larger_than_the_price(tmp_path: Path) -> None:
    code, rows, err = movements(tmp_path, DISCOUNTS)
    assert code == 0, err
    # only B pays: 10.00
    assert rows[0]["closing_mrr"] == "10.00"
    assert "2 rows have a discount larger than the price (counted as 0 MRR)" in err
    assert "2 rows carry 0 MRR (zero amount or full discount)" in err
    assert err.count("\n") == 1, err  # one line, with the other counts


# A Stripe Dashboard export: `incomplete` and `incomplete_expired` never paid (EXPORTS.md).
UNPAID = (
    "id,Customer ID,Status,Amount,Quantity,Interval,Currency,Start Date (UTC),Ended At (UTC)\n"
    "sub_1,cus_1,active,10.00,2,month,usd,2024-01-05 10:00,\n"  # 10.00 × 2 = 20.00
    "sub_2,cus_2,incomplete,30.00,1,month,usd,2024-01-06 10:00,\n"  # never paid: 0
    "sub_3,cus_3,incomplete_expired,40.00,1,month,usd,2024-01-07 10:00,\n"  # never paid: 0
    "sub_4,cus_4,active,0,1,month,usd,2024-01-08 10:00,\n"  # a zero amount: 0
)


def test_rows_whose_status_never_paid_are_counted_for_that_reason(tmp_path: Path) -> None:
    code, rows, err = movements(tmp_path, UNPAID, "--max-age", "0")
    assert code == 0, err
    # only cus_1 pays: 20.00
    assert rows[0]["closing_mrr"] == "20.00"
    # sub_2 and sub_3 carry no MRR because of their status, not a zero amount or discount;
    # sub_4 alone has a zero amount
    assert "2 rows whose status never paid count as 0 MRR" in err
    assert "1 row carries 0 MRR (zero amount or full discount)" in err


def test_read_in_parts_the_count_is_the_same(tmp_path: Path) -> None:
    path = write(tmp_path, DISCOUNTS)
    assert load([path], parts=3).over_discount_rows == load([path]).over_discount_rows == 2


def test_validate_warns_about_each_row_with_its_file_row_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, DISCOUNTS)
    result = runner.invoke(app, ["validate", path, "-f", "csv"])
    assert result.exit_code == 0, result.stderr  # a warning, not an error
    problems = list(csv.DictReader(io.StringIO(result.stdout)))
    larger = [p for p in problems if "larger than the price" in p["problem"]]
    # rows 2 (A) and 5 (D), under discount_amount
    assert [(p["severity"], p["rows"], p["column"], p["count"]) for p in larger] == [
        ("warning", "2, 5", "discount_amount", "2")
    ]
    # They are not listed again among the rows at 0 MRR (C and E: rows 4 and 6).
    zero = [p for p in problems if p["problem"].startswith("carries 0 MRR")]
    assert [p["rows"] for p in zero] == ["4, 6"]
    # 6 read; B is the one used; set aside: C and E at 0, A and D discounted away, F a trial
    assert "6 rows read; 1 used" in result.stderr
    assert "2 rows with a discount larger than the price" in result.stderr


# --- 4. duplicate rows judged on the values as read ------------------------------------------

DUPLICATES = (
    "customer_id,subscription_id,start_date,amount,quantity,currency,note\n"
    "A,a1,2024-01-01,10,1,USD,x\n"  # row 2: 10.00
    " A ,a1 ,2024-01-01,10.00,1.0, usd,x\n"  # row 3: row 2 again (spaces, 10.00, 1.0, usd)
    "a,a1,2024-01-01,10,1,USD,x\n"  # row 4: another customer (ids keep their case): 10.00
    "B,b1,2024-01-01,1e1,1,USD,x\n"  # row 5: 10.00
    "B,b1,2024-01-01,010,1,USD,x\n"  # row 6: row 5 again (1e1 = 010 = 10)
    "B,b1,2024-01-01,10,1,USD,y\n"  # row 7: differs in a column of its own (note): 10.00
    "C,c1,2024-01-01,10.5,1,USD,x\n"  # row 8: 10.50
    "C,c1,2024-01-01,10.05,1,USD,x\n"  # row 9: another amount: 10.05
)


def test_numbers_are_compared_by_value_and_ids_without_spaces(tmp_path: Path) -> None:
    rows = load([write(tmp_path, DUPLICATES)])
    # rows 3 and 6 repeat rows 2 and 5
    assert (rows.read, rows.duplicates) == (8, 2)
    assert rows.frame.sort("_row").get_column("_row").to_list() == [2, 4, 5, 7, 8, 9]
    # A 10 + a 10 + B 10 + B 10 + C 10.50 + C 10.05 = 60.55
    assert rows.frame.get_column("mrr").sum() == 6055


def test_keep_duplicates_counts_every_row_as_given(tmp_path: Path) -> None:
    rows = load([write(tmp_path, DUPLICATES)], keep_duplicates=True)
    # all eight rows: 60.55 + row 3's 10.00 + row 6's 10.00 = 80.55
    assert (rows.duplicates, rows.frame.height) == (0, 8)
    assert rows.frame.get_column("mrr").sum() == 8055


def test_the_cli_says_how_many_duplicates_it_counted_once(tmp_path: Path) -> None:
    code, rows, err = movements(tmp_path, DUPLICATES)
    assert code == 0, err
    # customers A, a, B and C: 10 + 10 + 20 + 20.55 = 60.55
    assert rows[0]["closing_mrr"] == "60.55"
    assert "2 duplicate rows counted once (--keep-duplicates counts them)" in err
    code, rows, err = movements(tmp_path, DUPLICATES, "--keep-duplicates")
    assert rows[0]["closing_mrr"] == "80.55" and "duplicate" not in err


def test_validate_names_the_repeated_rows(tmp_path: Path) -> None:
    result = runner.invoke(app, ["validate", write(tmp_path, DUPLICATES), "-f", "csv"])
    assert result.exit_code == 0, result.stderr
    problems = list(csv.DictReader(io.StringIO(result.stdout)))
    same = [p for p in problems if "earlier row" in p["problem"]]
    assert [(p["severity"], p["rows"], p["count"]) for p in same] == [("warning", "3, 6", "2")]


def test_duplicates_are_the_same_read_whole_or_in_parts(tmp_path: Path) -> None:
    path = write(tmp_path, DUPLICATES)
    whole, split = load([path]), load([path], parts=3)
    assert split.duplicates == whole.duplicates == 2
    assert sum(p.frame.get_column("mrr").sum() for p in split.pieces()) == 6055


def test_a_parquet_export_and_its_csv_copy_are_one_export(tmp_path: Path) -> None:
    # The Parquet file holds 10.00 as a Decimal, the CSV copy writes 10: one row of 10.00
    parquet = tmp_path / "export.parquet"
    pl.DataFrame(
        {
            "customer_id": ["A"],
            "start_date": ["2024-01-01"],
            "amount": pl.Series([Decimal("10.00")], dtype=pl.Decimal(18, 2)),
        }
    ).write_parquet(parquet)
    copy = write(tmp_path, "customer_id,start_date,amount\nA,2024-01-01,10\n", "copy.csv")
    rows = load([str(parquet), copy])
    assert (rows.read, rows.duplicates) == (2, 1)
    assert rows.frame.get_column("mrr").to_list() == [1000]


def test_invoice_line_deductions_are_not_cut_to_six_places(tmp_path: Path) -> None:
    # A monthly line of 10.005 with a discount of 0.0000001: net 10.0049999 → 10.00 (half away
    # from zero needs ≥ 10.005). Cut to 6 places the discount was 0, the net 10.005 → 10.01.
    text = (
        "customer_id,subscription_id,period_start,period_end,amount,discount_amount\n"
        "A,a1,2024-01-01,2024-02-01,10.005,0.0000001\n"
    )
    code, rows, _ = movements(tmp_path, text, "--source", "invoice-lines", "--amount-unit", "major")
    assert code == 0
    assert rows[0]["new_mrr"] == "10.00"
