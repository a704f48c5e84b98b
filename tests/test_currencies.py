"""A file mixing USD, EUR, JPY and GBP with an FX table: movements to the hand-computed cent."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from mrrcli.report import Settings, load, movements


def test_four_currencies_with_fx_give_hand_computed_cents(tmp_path: Path) -> None:
    fx = tmp_path / "rates.csv"
    fx.write_text(
        "date,currency,rate\n"
        "2024-01-01,EUR,1.0850\n"
        "2024-01-01,GBP,1.2710\n"
        "2024-01-01,JPY,0.006712\n"
        "2024-02-01,EUR,1.0790\n"  # a later EUR rate: only rows starting from Feb use it
    )
    data = tmp_path / "mixed.csv"
    data.write_text(
        "customer_id,subscription_id,start_date,end_date,amount,currency,interval\n"
        # 99.99 EUR × 1.0850 = 108.489150 → 108.49 USD
        "eu,eu1,2024-01-10,,99.99,EUR,month\n"
        # 1,200 GBP a year ÷ 12 = 100 GBP × 1.2710 = 127.10 USD
        "uk,uk1,2024-01-15,,1200,GBP,year\n"
        # ¥4,980 × 0.006712 = 33.42576 → 33.43 USD
        "jp,jp1,2024-01-20,2024-03-01,4980,JPY,month\n"
        # 49.50 USD
        "us,us1,2024-01-31,,49.50,USD,month\n"
        # Feb 12: eu adds 20 EUR at the February rate: 20 × 1.0790 = 21.58 USD (expansion);
        # the January row keeps the January rate, so no FX move shows as expansion.
        "eu,eu2,2024-02-12,,20,EUR,month\n"
    )
    rows = load([str(data)], currency="USD", fx=str(fx))
    table = movements(rows, Settings(as_of=date(2024, 3, 31))).frame
    got = {
        r["month"]: (r["new_mrr"], r["expansion_mrr"], r["churned_mrr"], r["closing_mrr"])
        for r in table.to_dicts()
    }
    # January: 108.49 + 127.10 + 33.43 + 49.50 = 318.52 new.
    assert got["2024-01"] == (
        Decimal("318.52"),
        Decimal("0.00"),
        Decimal("0.00"),
        Decimal("318.52"),
    )
    # February: expansion 21.58; closing 340.10.
    assert got["2024-02"] == (
        Decimal("0.00"),
        Decimal("21.58"),
        Decimal("0.00"),
        Decimal("340.10"),
    )
    # March 1: jp churns 33.43; closing 306.67.
    assert got["2024-03"] == (
        Decimal("0.00"),
        Decimal("0.00"),
        Decimal("33.43"),
        Decimal("306.67"),
    )


@pytest.mark.parametrize(
    ("exponent", "minor", "major"),
    [
        (
            2,
            [12345, -5, 0, 9_223_372_036_854_775_807],
            ["123.45", "-0.05", "0.00", "92233720368547758.07"],
        ),
        (0, [500, -1], ["500", "-1"]),
        (3, [1_234, -1_000_001], ["1.234", "-1000.001"]),
        (4, [1, 123_456_789], ["0.0001", "12345.6789"]),
    ],
)
def test_minor_units_shown_exactly_in_major_units(
    exponent: int, minor: list[int], major: list[str]
) -> None:
    from decimal import Decimal

    import polars as pl

    from mrrcli.present.document import minor_to_major

    frame = pl.DataFrame({"amount": minor}, schema={"amount": pl.Int64})
    shown = frame.select(minor_to_major("amount", exponent)).get_column("amount")
    assert shown.dtype == pl.Decimal(38, exponent)
    assert shown.to_list() == [Decimal(v) for v in major]
