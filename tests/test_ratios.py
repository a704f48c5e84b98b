"""Ratios and day-normalized flows are rounded exactly: the quotient of integers, to 6 places,
half away from zero (SPEC §3, §7.1), never by the binary error of a float quotient.

A float quotient gets ties wrong about half the time: 657 ÷ 640 = 1.0265625 is
1.02656250000000004 as a float and 0.0913125 is 0.09131249999999999, so a float round gives
1.026562 and 0.091312 where half away from zero gives 1.026563 and 0.091313.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
from typer.testing import CliRunner

from mrrcli.cli import app
from mrrcli.engine.ratios import rounded_quotient


def quotients(pairs: list[tuple[int, int]]) -> list[float | None]:
    frame = pl.DataFrame({"n": [n for n, _ in pairs], "d": [d for _, d in pairs]})
    return frame.select(rounded_quotient(pl.col("n"), pl.col("d"), 6)).to_series().to_list()


def test_ties_round_half_away_from_zero() -> None:
    assert quotients([(657, 640), (-657, 640), (657, -640), (1, 128), (1, 8)]) == [
        1.026563,  # 1.0265625, a tie: up
        -1.026563,  # and away from zero when negative
        -1.026563,
        0.007813,  # 1/128 = 0.0078125, a tie: up (the float round says 0.007812)
        0.125,  # exact
    ]


def test_below_half_a_millionth_is_zero_never_minus_zero() -> None:
    # -1/3,000,000 = -0.00000033…: rounds to 0, written 0.0 (not -0.0); 0/7 = 0.
    values = quotients([(-1, 3_000_000), (0, 7), (0, -7)])
    assert values == [0.0, 0.0, 0.0]
    assert all(str(v) == "0.0" for v in values)


def test_a_zero_denominator_gives_none() -> None:
    assert quotients([(5, 0), (0, 0)]) == [None, None]


def test_large_minor_amounts_do_not_overflow() -> None:
    # 10^15 minor units over 3: 333,333,333,333,333.333… → 333333333333333.33 to 6 places in
    # exact integers (the nearest float is what the report writes).
    assert quotients([(10**15, 3)]) == [333333333333333.333333]


def test_expansion_report_rounds_its_day_normalized_flow_and_rate_exactly(
    tmp_path: Path,
) -> None:
    # Customer a pays 10.00 from 2024-01-01 and 10.09 from 2024-04-10; customer b pays 6.40
    # from 2024-01-01 and 6.57 from 2024-06-05 (April and June have 30 days, May 31).
    # April: expansion 0.09; day-normalized 0.09 × 30.4375 / 30 = 0.0913125 → 0.091313.
    # June: expansion 0.17; day-normalized 0.17 × 30.4375 / 30 = 5.174375 / 30 = 0.17247916…
    # → 0.172479.
    # expansion_pct_of_opening in June: 0.17 / 16.49 = 0.010309278… → 0.010309.
    # In April, expansion_to_new has no new MRR: empty; benchmark_met empty.
    path = tmp_path / "periods.csv"
    path.write_text(
        "customer_id,subscription_id,start_date,end_date,amount\n"
        "a,a1,2024-01-01,2024-04-10,10.00\n"
        "a,a1,2024-04-10,,10.09\n"
        "b,b1,2024-01-01,2024-06-05,6.40\n"
        "b,b1,2024-06-05,,6.57\n"
    )
    result = CliRunner().invoke(
        app, ["expansion", str(path), "--as-of", "2024-06-30", "-f", "csv", "-q"]
    )
    assert result.exit_code == 0, result.stderr
    rows = {line.split(",")[0]: line.split(",") for line in result.stdout.splitlines()}
    header = rows["month"]
    april = dict(zip(header, rows["2024-04"], strict=True))
    june = dict(zip(header, rows["2024-06"], strict=True))
    assert april["expansion_mrr"] == "0.09"
    assert april["expansion_mrr_daynorm"] == "0.091313"
    assert april["expansion_to_new"] == "" and april["benchmark_met"] == ""
    assert june["expansion_mrr_daynorm"] == "0.172479"
    assert june["expansion_pct_of_opening"] == "0.010309"
    # May has no expansion: June's rate is of a 0 month, empty; May's rate is
    # (0 × 30 − 9 × 31) ÷ (9 × 31) = −1 exactly.
    may = dict(zip(header, rows["2024-05"], strict=True))
    assert may["expansion_rate"] == "-1.0"
    assert june["expansion_rate"] == ""


def test_metrics_nrr_of_a_tie_rounds_up(tmp_path: Path) -> None:
    # One customer pays 6.40 from 2024-01-01 and 6.57 from 2024-02-10: February's NRR is
    # 657 / 640 = 1.0265625 → 1.026563 (a float round gives 1.026562); its MRR growth rate
    # is (657 − 640) / 640 = 0.0265625 → 0.026563.
    path = tmp_path / "periods.csv"
    path.write_text(
        "customer_id,subscription_id,start_date,end_date,amount\n"
        "c,c1,2024-01-01,2024-02-10,6.40\n"
        "c,c1,2024-02-10,,6.57\n"
    )
    result = CliRunner().invoke(
        app, ["metrics", str(path), "--as-of", "2024-02-29", "-f", "csv", "-q"]
    )
    assert result.exit_code == 0, result.stderr
    header, _, february = (line.split(",") for line in result.stdout.splitlines())
    row = dict(zip(header, february, strict=True))
    assert row["nrr"] == "1.026563"
    assert row["mrr_growth_rate"] == "0.026563"
