"""pandas reference: monthly snapshot-mode MRR movements, written the way an analyst would.

Reads a single-currency `periods` Parquet export and writes one CSV row per month:
month, opening, new, expansion, reactivation, contraction, churned, closing (major units).

For every month-end (or the as-of day) take the rows in force, sum MRR per customer, pivot to a
customers × months table, then compare each month with the previous one (SPEC §4.3).

Each row's MRR is amount × quantity ÷ months(interval, count) in integer cents, rounded half
away from zero once per row (SPEC §3), with months(week, n) = 7n ÷ 30.4375 = 112n ÷ 487.

    python bench/ref_pandas.py rows.parquet --as-of 2025-12-31 [-o out.csv]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

COLUMNS = ["customer_id", "amount", "interval", "interval_count", "quantity"]
DATES = ["start_date", "end_date"]
# months(interval, count) = count × MONTHS_DEN[interval] ÷ MONTHS_NUM[interval]
MONTHS_DEN = {"month": 1, "quarter": 3, "year": 12, "week": 112, "day": 16}
MONTHS_NUM = {"month": 1, "quarter": 1, "year": 1, "week": 487, "day": 487}


def load(parquet: Path) -> pd.DataFrame:
    df = pd.read_parquet(parquet, columns=COLUMNS + DATES)
    for column in DATES:
        df[column] = pd.to_datetime(df[column])
    unknown = set(df["interval"].unique()) - set(MONTHS_DEN)
    if unknown:
        raise SystemExit(f"unknown interval(s): {sorted(unknown)}")
    # amount has two decimals, so ×100 and rounding gives exact cents
    cents = (df["amount"].astype("float64") * 100).round().astype("int64")
    numerator = cents * df["quantity"] * df["interval"].map(MONTHS_NUM)
    denominator = df["interval_count"] * df["interval"].map(MONTHS_DEN)
    df["mrr"] = np.sign(numerator) * ((2 * numerator.abs() + denominator) // (2 * denominator))
    return df[["customer_id", "start_date", "end_date", "mrr"]]


def month_end_mrr(df: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """Customers × months: each customer's MRR in cents at the end of each month."""
    months = pd.period_range(df["start_date"].min(), as_of, freq="M")
    snapshots = {}
    for month in months:
        day = min(month.end_time.normalize(), as_of)
        live = (df["start_date"] <= day) & (df["end_date"].isna() | (df["end_date"] > day))
        snapshots[str(month)] = (
            df.loc[live, ["customer_id", "mrr"]].groupby("customer_id")["mrr"].sum()
        )
    long = pd.concat(snapshots, names=["month", "customer_id"])
    wide = long.unstack("month", fill_value=0)
    return wide.reindex(columns=[str(month) for month in months], fill_value=0)


def movements(mrr: pd.DataFrame) -> pd.DataFrame:
    previous = mrr.shift(1, axis=1, fill_value=0)
    had_mrr_before = (previous > 0).cummax(axis=1)
    starts = (previous == 0) & (mrr > 0)
    paying = previous > 0
    return pd.DataFrame(
        {
            "opening": previous.sum(),
            "new": mrr.where(starts & ~had_mrr_before, 0).sum(),
            "expansion": (mrr - previous).where(paying & (mrr > previous), 0).sum(),
            "reactivation": mrr.where(starts & had_mrr_before, 0).sum(),
            "contraction": (previous - mrr).where(paying & (mrr > 0) & (mrr < previous), 0).sum(),
            "churned": previous.where(paying & (mrr == 0), 0).sum(),
            "closing": mrr.sum(),
        }
    ).rename_axis("month")


def money(cents: int) -> str:
    """Integer cents as a decimal string in major units, e.g. -1234 -> -12.34."""
    sign = "-" if cents < 0 else ""
    whole, part = divmod(abs(int(cents)), 100)
    return f"{sign}{whole}.{part:02d}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("parquet", type=Path)
    parser.add_argument("--as-of", required=True, type=pd.Timestamp)
    parser.add_argument("-o", "--output", type=Path, help="CSV path (default: stdout)")
    args = parser.parse_args()
    df = load(args.parquet)
    df = df[df["start_date"] <= args.as_of]
    report = movements(month_end_mrr(df, args.as_of))
    text = report.map(money).to_csv()
    if args.output is None:
        sys.stdout.write(text)
    else:
        args.output.write_text(text)


if __name__ == "__main__":
    main()
