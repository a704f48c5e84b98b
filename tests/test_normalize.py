"""Billing amounts → MRR in integer minor units (SPEC §3), through `report.load`.

Every expected value is worked out by hand in a comment: months(interval, count) is
month → count, quarter → 3·count, year → 12·count, week → 7·count ÷ 30.4375,
day → count ÷ 30.4375, and each row is rounded once, half away from zero, to the minor unit.
"""

from __future__ import annotations

from datetime import date
from fractions import Fraction
from pathlib import Path

import pytest

from mrrcli.errors import InputError
from mrrcli.report import load

HEADER = "customer_id,start_date,amount,interval,interval_count\n"


def write(tmp_path: Path, text: str, name: str = "periods.csv") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def mrr_of(tmp_path: Path, text: str, **options: object) -> list[int]:
    """The `mrr` column (minor units) of each row of a periods CSV, in file order."""
    rows = load([write(tmp_path, text)], **options)  # type: ignore[arg-type]
    return rows.frame.sort("_row").get_column("mrr").to_list()


def one_row(amount: str, interval: str = "", count: str = "") -> str:
    return HEADER + f"c1,2024-01-01,{amount},{interval},{count}\n"


# --- intervals --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "interval", "count", "cents"),
    [
        # month: 100 ÷ 1 = 100.00
        ("100", "month", "", 10000),
        ("100", "months", "", 10000),
        ("100", "monthly", "", 10000),
        ("100", "Month", "", 10000),
        # no interval at all: month is the default
        ("100", "", "", 10000),
        # month × 3 (quarterly): 300 ÷ 3 = 100.00
        ("300", "month", "3", 10000),
        # quarter: 300 ÷ 3 = 100.00; quarter × 2: 300 ÷ 6 = 50.00
        ("300", "quarter", "", 10000),
        ("300", "quarters", "", 10000),
        ("300", "quarterly", "", 10000),
        ("300", "quarter", "2", 5000),
        # year: 1200 ÷ 12 = 100.00; year × 2: 2400 ÷ 24 = 100.00
        ("1200", "year", "", 10000),
        ("1200", "years", "", 10000),
        ("1200", "yearly", "", 10000),
        ("2400", "year", "2", 10000),
        # week: 7 ÷ (7 ÷ 30.4375) = 30.4375 → 30.44
        ("7", "week", "", 3044),
        ("7", "weeks", "", 3044),
        ("7", "weekly", "", 3044),
        # week × 2: 14 ÷ (14 ÷ 30.4375) = 30.4375 → 30.44
        ("14", "week", "2", 3044),
        # week: 10 × 30.4375 ÷ 7 = 43.482142… → 43.48
        ("10", "week", "", 4348),
        # day: 1 ÷ (1 ÷ 30.4375) = 30.4375 → 30.44; 2 ÷ (1 ÷ 30.4375) = 60.875 → 60.88
        ("1", "day", "", 3044),
        ("1", "days", "", 3044),
        ("1", "daily", "", 3044),
        ("2", "day", "", 6088),
        # day × 2: 1 ÷ (2 ÷ 30.4375) = 15.21875 → 15.22
        ("1", "day", "2", 1522),
    ],
)
def test_interval_and_count(
    tmp_path: Path, amount: str, interval: str, count: str, cents: int
) -> None:
    assert mrr_of(tmp_path, one_row(amount, interval, count)) == [cents]


def test_unknown_interval_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, one_row("100", "fortnight"))
    with pytest.raises(InputError) as error:
        load([path])
    message = str(error.value)
    assert "row 2" in message
    assert "'interval'" in message
    assert "fortnight" in message


def test_days_per_month_30(tmp_path: Path) -> None:
    text = (
        HEADER
        + "c1,2024-01-01,1,day,\n"  # 1 ÷ (1 ÷ 30) = 30.00
        + "c2,2024-01-01,7,week,\n"  # 7 ÷ (7 ÷ 30) = 30.00
        + "c3,2024-01-01,10,week,\n"  # 10 × 30 ÷ 7 = 42.857142… → 42.86
        + "c4,2024-01-01,1200,year,\n"  # year is 12 months whatever the day count: 100.00
    )
    assert mrr_of(tmp_path, text, days_per_month=Fraction(30)) == [3000, 3000, 4286, 10000]


# --- quantity and discounts -------------------------------------------------------------------

DISCOUNT_HEADER = (
    "customer_id,start_date,amount,interval,quantity,discount_percent,discount_amount\n"
)


def test_quantity(tmp_path: Path) -> None:
    text = (
        DISCOUNT_HEADER
        + "c1,2024-01-01,10,month,3,,\n"  # 10 × 3 = 30.00
        + "c2,2024-01-01,10,month,,,\n"  # no quantity: 1 unit → 10.00
        + "c3,2024-01-01,1200,year,2.5,,\n"  # 1200 × 2.5 ÷ 12 = 250.00
        + "c4,2024-01-01,10,month,0,,\n"  # no seats: 0
    )
    assert mrr_of(tmp_path, text) == [3000, 1000, 25000, 0]


def test_discount_percent(tmp_path: Path) -> None:
    text = (
        DISCOUNT_HEADER
        + "c1,2024-01-01,100,month,,25,\n"  # 100 × (1 − 0.25) = 75.00
        + "c2,2024-01-01,20,month,5,10,\n"  # 20 × 5 × 0.9 = 90.00
        + "c3,2024-01-01,99.99,month,,12.5,\n"  # 99.99 × 0.875 = 87.49125 → 87.49
    )
    assert mrr_of(tmp_path, text) == [7500, 9000, 8749]


def test_discount_amount_is_per_interval(tmp_path: Path) -> None:
    text = (
        DISCOUNT_HEADER
        + "c1,2024-01-01,100,month,,,15\n"  # 100 − 15 = 85.00
        + "c2,2024-01-01,1200,year,,,120\n"  # (1200 − 120) ÷ 12 = 90.00, not 100 − 120
        + "c3,2024-01-01,30,month,4,,20\n"  # 30 × 4 − 20 = 100.00 (once per interval, not seat)
    )
    assert mrr_of(tmp_path, text) == [8500, 9000, 10000]


def test_discount_amount_applies_after_percent(tmp_path: Path) -> None:
    # (1200 × 2 × (1 − 0.10) − 120) ÷ 12 = (2160 − 120) ÷ 12 = 170.00;
    # the other order would give (2400 − 120) × 0.9 ÷ 12 = 171.00.
    text = DISCOUNT_HEADER + "c1,2024-01-01,1200,year,2,10,120\n"
    assert mrr_of(tmp_path, text) == [17000]


def test_discount_larger_than_price_is_zero(tmp_path: Path) -> None:
    text = (
        DISCOUNT_HEADER
        + "c1,2024-01-01,50,month,,,80\n"  # 50 − 80 < 0 → 0, never negative
        + "c2,2024-01-01,100,month,,100,\n"  # 100% discount → 0
        + "c3,2024-01-01,100,month,,50,50\n"  # 100 × 0.5 − 50 = 0
    )
    assert mrr_of(tmp_path, text) == [0, 0, 0]


# --- statuses and zero amounts ----------------------------------------------------------------


@pytest.mark.parametrize(
    "status", ["trialing", "in_trial", "trial", "In Trial", "TRIALING", "in-trial"]
)
def test_trial_status_is_zero(tmp_path: Path, status: str) -> None:
    text = f"customer_id,start_date,amount,status\nc1,2024-01-01,100,{status}\n"
    assert mrr_of(tmp_path, text) == [0]


@pytest.mark.parametrize("status", ["active", "past_due", "", "canceled"])
def test_other_statuses_keep_their_mrr(tmp_path: Path, status: str) -> None:
    text = f"customer_id,start_date,amount,status\nc1,2024-01-01,100,{status}\n"
    assert mrr_of(tmp_path, text) == [10000]


def test_trial_and_zero_rows_are_counted(tmp_path: Path) -> None:
    text = (
        "customer_id,start_date,amount,status\n"
        "c1,2024-01-01,100,trialing\n"
        "c2,2024-01-01,0,active\n"
        "c3,2024-01-01,0.00,active\n"
        "c4,2024-01-01,100,active\n"
    )
    rows = load([write(tmp_path, text)])
    assert rows.frame.sort("_row").get_column("mrr").to_list() == [0, 0, 0, 10000]
    assert rows.trial_rows == 1
    assert rows.zero_rows == 2


# --- columns that already hold the MRR --------------------------------------------------------


@pytest.mark.parametrize("column", ["monthly_amount", "mrr"])
def test_monthly_amount_and_mrr_columns_ignore_interval_quantity_discount(
    tmp_path: Path, column: str
) -> None:
    text = (
        f"customer_id,start_date,{column},interval,interval_count,quantity,"
        "discount_percent,discount_amount\n"
        # The value is the row's whole MRR: 250.00, whatever the other columns say.
        "c1,2024-01-01,250,year,2,3,10,5\n"
        "c2,2024-01-01,99.99,week,,,,\n"
    )
    assert mrr_of(tmp_path, text) == [25000, 9999]


# --- rounding ---------------------------------------------------------------------------------


def test_half_cent_rounds_away_from_zero(tmp_path: Path) -> None:
    text = (
        HEADER
        # 1200.06 ÷ 12 = 100.005 → 100.01 (half-to-even would give 100.00)
        + "c1,2024-01-01,1200.06,year,\n"
        # weekly 42: 42 × 30.4375 ÷ 7 = 182.625 → 182.63 (half-to-even would give 182.62)
        + "c2,2024-01-01,42,week,\n"
        # weekly 14: 14 × 30.4375 ÷ 7 = 60.875 → 60.88
        + "c3,2024-01-01,14,week,\n"
        # 1200.05 ÷ 12 = 100.004166… → 100.00 (below the half)
        + "c4,2024-01-01,1200.05,year,\n"
        # 0.30 ÷ 12 = 0.025 → 0.03
        + "c5,2024-01-01,0.30,year,\n"
    )
    assert mrr_of(tmp_path, text) == [10001, 18263, 6088, 10000, 3]


def test_rounded_once_per_row_not_per_step(tmp_path: Path) -> None:
    # 33.335 × 3 seats ÷ 3 months = 33.335 → 33.34.
    # 10.005 × 3 seats = 30.015 → 30.02; rounding the unit price first would give
    # 10.01 × 3 = 30.03.
    text = (
        "customer_id,start_date,amount,interval,interval_count,quantity\n"
        "c1,2024-01-01,33.335,month,3,3\n"
        "c2,2024-01-01,10.005,month,,3\n"
    )
    assert mrr_of(tmp_path, text) == [3334, 3002]


# --- amount units and currencies --------------------------------------------------------------


def test_amount_unit_minor_usd(tmp_path: Path) -> None:
    text = (
        "customer_id,start_date,amount,interval,currency\n"
        "c1,2024-01-01,12345,month,usd\n"  # 12345 cents = 123.45 a month
        "c2,2024-01-01,120006,year,USD\n"  # 1200.06 ÷ 12 = 100.005 → 100.01
    )
    rows = load([write(tmp_path, text)], amount_unit="minor")
    assert rows.currency == "USD"
    assert rows.exponent == 2
    assert rows.frame.sort("_row").get_column("mrr").to_list() == [12345, 10001]


def test_amount_unit_minor_jpy_has_no_decimals(tmp_path: Path) -> None:
    text = (
        "customer_id,start_date,amount,interval,currency\n"
        "c1,2024-01-01,1200,month,JPY\n"  # JPY exponent 0: 1200 minor = ¥1200 a month
        "c2,2024-01-01,10000,year,JPY\n"  # ¥10000 ÷ 12 = 833.33… → ¥833
        "c3,2024-01-01,30,year,JPY\n"  # ¥30 ÷ 12 = 2.5 → ¥3 (half away from zero)
    )
    rows = load([write(tmp_path, text)], amount_unit="minor")
    assert rows.currency == "JPY"
    assert rows.exponent == 0
    assert rows.frame.sort("_row").get_column("mrr").to_list() == [1200, 833, 3]


def test_amount_unit_major_jpy(tmp_path: Path) -> None:
    # Major units in JPY: ¥10000 a year ÷ 12 = 833.33… → ¥833 (minor unit = 1 yen).
    text = "customer_id,start_date,amount,interval,currency\nc1,2024-01-01,10000,year,JPY\n"
    assert mrr_of(tmp_path, text) == [833]


def test_amount_unit_minor_kwd_has_three_decimals(tmp_path: Path) -> None:
    text = (
        "customer_id,start_date,amount,interval,currency\n"
        "c1,2024-01-01,12345,month,KWD\n"  # 12345 fils = 12.345 KWD a month → 12345 fils
        "c2,2024-01-01,1000,year,KWD\n"  # 1.000 KWD ÷ 12 = 0.083333… → 0.083 → 83 fils
        "c3,2024-01-01,18,year,KWD\n"  # 0.018 ÷ 12 = 0.0015 → 0.002 → 2 fils
    )
    rows = load([write(tmp_path, text)], amount_unit="minor")
    assert rows.currency == "KWD"
    assert rows.exponent == 3
    assert rows.frame.sort("_row").get_column("mrr").to_list() == [12345, 83, 2]


def test_rows_without_currency_default_to_usd(tmp_path: Path) -> None:
    rows = load([write(tmp_path, "customer_id,start_date,amount\nc1,2024-01-01,10\n")])
    assert rows.currency == "USD"
    assert rows.exponent == 2
    assert rows.frame.get_column("mrr").to_list() == [1000]


def test_rows_without_currency_are_in_the_given_currency(tmp_path: Path) -> None:
    # --currency JPY: ¥1000 a year ÷ 12 = 83.33… → ¥83
    text = "customer_id,start_date,amount,interval\nc1,2024-01-01,1000,year\n"
    rows = load([write(tmp_path, text)], currency="JPY")
    assert rows.currency == "JPY"
    assert rows.frame.get_column("mrr").to_list() == [83]


def test_only_currency_in_the_data_is_the_reporting_currency(tmp_path: Path) -> None:
    text = "customer_id,start_date,amount,currency\nc1,2024-01-01,10,eur\nc2,2024-01-01,5,EUR\n"
    rows = load([write(tmp_path, text)])
    assert rows.currency == "EUR"
    assert rows.frame.sort("_row").get_column("mrr").to_list() == [1000, 500]


def test_several_currencies_without_fx_is_an_error_naming_them(tmp_path: Path) -> None:
    text = (
        "customer_id,start_date,amount,currency\n"
        "c1,2024-01-01,10,USD\n"
        "c2,2024-01-01,10,eur\n"
        "c3,2024-01-01,10,GBP\n"
    )
    path = write(tmp_path, text)
    with pytest.raises(InputError) as error:
        load([path])
    message = str(error.value)
    for code in ("USD", "EUR", "GBP"):
        assert code in message
    assert "--fx" in message
    # A reporting currency does not make the other currencies addable either.
    with pytest.raises(InputError, match="EUR"):
        load([path], currency="USD")


def test_fx_converts_at_latest_rate_on_or_before_start(tmp_path: Path) -> None:
    fx = write(
        tmp_path,
        "date,currency,rate\n"
        "2024-01-01,EUR,1.10\n"
        "2024-03-01,EUR,1.20\n"
        "2024-04-01,EUR,1.30\n"
        "2024-01-01,GBP,2\n",
        "rates.csv",
    )
    text = (
        "customer_id,start_date,amount,interval,currency\n"
        "c1,2024-01-01,100,month,USD\n"  # already USD: 100.00
        "c2,2024-03-15,100,month,EUR\n"  # rate of 2024-03-01: 100 × 1.20 = 120.00
        "c3,2024-04-01,100,month,EUR\n"  # rate of that very day: 100 × 1.30 = 130.00
        "c4,2024-02-29,100,month,EUR\n"  # rate of 2024-01-01: 100 × 1.10 = 110.00
        # GBP 1200.06 a year ÷ 12 = 100.005 GBP × 2 = 200.01 exactly; rounding in GBP first
        # would give 100.01 × 2 = 200.02.
        "c5,2024-05-01,1200.06,year,GBP\n"
        # 33.33 EUR × 1.30 = 43.329 → 43.33
        "c6,2024-06-01,33.33,month,EUR\n"
    )
    rows = load([write(tmp_path, text)], currency="USD", fx=fx)
    assert rows.currency == "USD"
    assert rows.frame.sort("_row").get_column("mrr").to_list() == [
        10000,
        12000,
        13000,
        11000,
        20001,
        4333,
    ]


def test_fx_with_minor_units_of_each_currency(tmp_path: Path) -> None:
    fx = write(
        tmp_path, "date,currency,rate\n2024-01-01,JPY,0.0067\n2024-01-01,KWD,3.25\n", "fx.csv"
    )
    text = (
        "customer_id,start_date,amount,currency\n"
        "c1,2024-01-01,1000,JPY\n"  # ¥1000 (exponent 0) × 0.0067 = 6.70 USD
        "c2,2024-01-01,1000,KWD\n"  # 1000 fils = 1.000 KWD × 3.25 = 3.25 USD
        "c3,2024-01-01,1000,USD\n"  # 1000 cents = 10.00 USD
    )
    rows = load([write(tmp_path, text)], amount_unit="minor", currency="USD", fx=fx)
    assert rows.frame.sort("_row").get_column("mrr").to_list() == [670, 325, 1000]


def test_fx_into_a_zero_decimal_currency(tmp_path: Path) -> None:
    fx = write(tmp_path, "date,currency,rate\n2024-01-01,USD,150.5\n", "fx.csv")
    text = "customer_id,start_date,amount,currency\nc1,2024-01-01,10,USD\nc2,2024-01-01,1000,JPY\n"
    rows = load([write(tmp_path, text)], currency="JPY", fx=fx)
    assert rows.currency == "JPY"
    # $10 × 150.5 = ¥1505; ¥1000 stays ¥1000
    assert rows.frame.sort("_row").get_column("mrr").to_list() == [1505, 1000]


def test_fx_without_a_rate_before_start_is_an_error(tmp_path: Path) -> None:
    fx = write(tmp_path, "date,currency,rate\n2024-03-01,EUR,1.2\n", "rates.csv")
    text = (
        "customer_id,start_date,amount,currency\n"
        "c1,2024-01-01,100,USD\n"
        "c2,2024-02-15,100,EUR\n"  # no EUR rate on or before 2024-02-15
    )
    path = write(tmp_path, text)
    with pytest.raises(InputError) as error:
        load([path], currency="USD", fx=fx)
    message = str(error.value)
    assert path in message
    assert "row 3" in message
    assert "'currency'" in message
    assert "EUR" in message


def test_unknown_currency_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, "customer_id,start_date,amount,currency\nc1,2024-01-01,10,XYZ\n")
    with pytest.raises(InputError) as error:
        load([path])
    message = str(error.value)
    assert "row 2" in message
    assert "'currency'" in message
    assert "XYZ" in message


# --- bad values -------------------------------------------------------------------------------


def test_negative_amount_is_an_error(tmp_path: Path) -> None:
    text = "customer_id,start_date,amount\nc1,2024-01-01,10\nc2,2024-01-01,-5\n"
    path = write(tmp_path, text)
    with pytest.raises(InputError) as error:
        load([path])
    message = str(error.value)
    assert message.startswith(path)
    assert "row 3" in message
    assert "'amount'" in message
    assert "negative" in message


def test_end_before_start_is_an_error(tmp_path: Path) -> None:
    text = "customer_id,start_date,end_date,amount\nc1,2024-02-01,2024-01-01,10\n"
    with pytest.raises(InputError) as error:
        load([write(tmp_path, text)])
    message = str(error.value)
    assert "row 2" in message
    assert "'end_date'" in message


def test_amount_with_thousands_separator(tmp_path: Path) -> None:
    # "1,200.00" as a spreadsheet writes it, a year: 1200 ÷ 12 = 100.00
    text = 'customer_id,start_date,amount,interval\nc1,2024-01-01,"1,200.00",year\n'
    assert mrr_of(tmp_path, text) == [10000]


# Typed Parquet columns are read with their own decimal places; the MRR must be the same cents
# as the same values read from text.
TYPED_CASES = [
    # amount, quantity, interval, count, discount_percent, expected MRR in cents
    ("29.99", 3, "month", 1, None, 8997),
    ("100.00", 1, "week", 2, None, 21741),  # 100 × 30.4375 / 14 = 217.4107…
    ("1200.00", 7, "year", 1, "12.5", 61250),
    ("0.05", 1, "day", 1, None, 152),  # 0.05 × 30.4375 = 1.5219 → 152 cents
    ("99999999.99", 9999, "week", 1, None, None),  # large
]


@pytest.mark.parametrize(
    ("amount", "quantity", "interval", "count", "percent", "cents"), TYPED_CASES
)
def test_typed_parquet_columns_give_the_same_cents_as_text(
    tmp_path: Path,
    amount: str,
    quantity: int,
    interval: str,
    count: int,
    percent: str | None,
    cents: int | None,
) -> None:
    from decimal import Decimal

    import polars as pl

    header = "customer_id,start_date,amount,quantity,interval,interval_count,discount_percent"
    text = f"{header}\nc1,2024-01-01,{amount},{quantity},{interval},{count},{percent or ''}\n"
    from_text = mrr_of(tmp_path, text)
    typed = pl.DataFrame(
        {
            "customer_id": ["c1"],
            "start_date": [date(2024, 1, 1)],
            "amount": pl.Series([Decimal(amount)], dtype=pl.Decimal(18, 2)),
            "quantity": pl.Series([quantity], dtype=pl.Int32),
            "interval": [interval],
            "interval_count": pl.Series([count], dtype=pl.Int32),
            "discount_percent": pl.Series(
                [Decimal(percent) if percent else None], dtype=pl.Decimal(5, 1)
            ),
        }
    )
    path = tmp_path / "typed.parquet"
    typed.write_parquet(path)
    from_parquet = load([str(path)]).frame.get_column("mrr").to_list()
    assert from_parquet == from_text
    exact = (
        Fraction(amount)
        * quantity
        * (1 - Fraction(percent or 0) / 100)
        / (
            count
            * {"day": Fraction(48, 1461), "week": Fraction(336, 1461), "month": 1, "year": 12}[
                interval
            ]
        )
        * 100
    )
    rounded = int(exact + Fraction(1, 2))  # half away from zero (positive)
    assert from_parquet == [rounded]
    if cents is not None:
        assert rounded == cents
