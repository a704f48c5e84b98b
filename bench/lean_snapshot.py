"""The bar to beat: a lean, hand-written Polars script for one job only, snapshot-mode monthly
MRR movements (SPEC §4.3, customer level, strict scope) of a one-currency `periods` Parquet
export with the bench files' columns (customer_id, amount as a decimal of major units,
interval, interval_count, quantity, start_date, end_date exclusive). No validation, no sources,
no error messages: what a careful analyst would write for this file, made as fast as it
reasonably gets while exact.

- Each row's MRR in integer cents, rounded once half away from zero (§3): amount × 100 ×
  quantity ÷ months(interval, count), with week = 7 ÷ 30.4375 = 112 ÷ 487 months and day =
  16 ÷ 487 months, all in integer arithmetic.
- A row is +MRR at the month of its start and −MRR at the month of its (exclusive) end when
  that end is on or before the as-of day (nothing after it counts). A row that starts and ends
  in one month nets out at every month end and is dropped before anything else.
- The events are sorted once on one 64-bit integer, the customer's hash above the month; one
  cumulative sum gives each customer's month-end MRR after each month it changed. A second,
  independent 32-bit hash checks that neighbours in one key are one customer (a collision
  stops the script rather than merging two customers). Cost grows with the rows, never with
  customers × months.
- Months from the first month with MRR > 0 on any day (§5) to the as-of month; `days` is the
  month's days or, in the as-of month, the days elapsed.

Prints the same CSV as `mrrcli movements --mode snapshot -f csv` (money in major units).

    python bench/lean_snapshot.py rows.parquet --as-of 2025-12-31 [-o out.csv]
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

import polars as pl

# interval → (numerator factor, denominator factor) of MRR = cents × quantity × n ÷ (count × d)
INTERVALS = {
    "day": (487, 16),
    "week": (487, 112),
    "month": (1, 1),
    "quarter": (1, 3),
    "year": (1, 12),
}
FLOWS = ("new", "expansion", "reactivation", "contraction", "churn")
HEADER = (
    "month,days,opening_mrr,new_mrr,expansion_mrr,reactivation_mrr,contraction_mrr,"
    "churned_mrr,net_new_mrr,closing_mrr"
)


def _month(day: pl.Expr) -> pl.Expr:
    """Months since year 0 of a date."""
    return day.dt.year().cast(pl.Int32) * 12 + day.dt.month().cast(pl.Int32) - 1


def _rows(path: Path, as_of: dt.date) -> pl.LazyFrame:
    """`_key, _check, _start, _end, mrr`: paying rows up to the as-of day, in months, with
    their MRR in cents; rows that start and end in one month left out (they net out)."""
    interval = pl.col("interval").cast(pl.Categorical)
    numerator = interval.replace_strict(
        {k: n for k, (n, _) in INTERVALS.items()}, return_dtype=pl.Int64
    )
    denominator = interval.replace_strict(
        {k: d for k, (_, d) in INTERVALS.items()}, return_dtype=pl.Int64
    )
    cents = (pl.col("amount") * 100).cast(pl.Int64)
    top = cents * pl.col("quantity").cast(pl.Int64) * numerator
    bottom = pl.col("interval_count").cast(pl.Int64) * denominator
    mrr = (2 * top + bottom) // (2 * bottom)  # half away from zero: amounts are never negative
    as_of_day = pl.lit(as_of, dtype=pl.Date)
    end = pl.col("end_date")
    in_force_end = pl.when(end <= as_of_day).then(_month(end))
    return (
        pl.scan_parquet(path)
        .select(
            "customer_id",
            "amount",
            "interval",
            "interval_count",
            "quantity",
            "start_date",
            "end_date",
        )
        .filter(pl.col("start_date") <= as_of_day)
        .select(
            pl.col("customer_id").hash(seed=0).alias("_key"),
            pl.col("customer_id").hash(seed=7).cast(pl.UInt32, wrap_numerical=True).alias("_check"),
            _month(pl.col("start_date")).alias("_start"),
            in_force_end.alias("_end"),
            mrr.alias("mrr"),
            # the first paying day (§5): a paying row of non-zero length
            pl.when(end.is_null() | (end != pl.col("start_date")))
            .then(pl.col("start_date"))
            .alias("_pays_from"),
        )
        .filter(pl.col("mrr") != 0)
    )


def movements(path: Path, as_of: dt.date) -> pl.DataFrame:
    """The movements table, money in integer cents."""
    rows = _rows(path, as_of).collect()
    first_day = rows.get_column("_pays_from").min()
    last = as_of.year * 12 + as_of.month - 1
    if first_day is None:
        return pl.DataFrame()
    assert isinstance(first_day, dt.date)
    low = first_day.year * 12 + first_day.month - 1
    bits = max((last - low).bit_length(), 1)
    mask = pl.lit((1 << 64) - (1 << bits), dtype=pl.UInt64)
    lasting = rows.lazy().filter(pl.col("_end").is_null() | (pl.col("_end") != pl.col("_start")))

    def events(position: str, sign: int) -> pl.LazyFrame:
        packed = (pl.col("_key") & mask) | (pl.col(position) - low).cast(pl.UInt64)
        frame = lasting if sign > 0 else lasting.filter(pl.col(position).is_not_null())
        return frame.select(packed.alias("_sk"), "_check", (pl.col("mrr") * sign).alias("delta"))

    ordered = pl.concat([events("_start", 1), events("_end", -1)]).sort("_sk").collect()
    del rows
    block = pl.col("_sk") & mask
    same = block == block.shift(1)
    mixed = same & (pl.col("_check") != pl.col("_check").shift(1))
    if ordered.select(mixed.any()).item():
        sys.exit("lean_snapshot: two customer ids share a 64-bit hash; use another seed")
    last_of_run = (pl.col("_sk") != pl.col("_sk").shift(-1)).fill_null(True)
    first = (block != block.shift(1)).fill_null(True)
    runs = (
        ordered.lazy()
        .with_columns(pl.col("delta").cum_sum().alias("_total"))
        .filter(last_of_run)
        .with_columns(
            ((pl.col("_sk") & pl.lit((1 << bits) - 1, dtype=pl.UInt64)).cast(pl.Int32) + low).alias(
                "_pos"
            ),
            first.alias("_new_key"),
        )
        # a customer's MRR after a month: the running total less the total before the customer
        .with_columns(
            (
                pl.col("_total")
                - pl.when(pl.col("_new_key"))
                .then(pl.col("_total").shift(1).fill_null(0))
                .forward_fill()
            ).alias("after")
        )
        .with_columns(
            pl.when(pl.col("_new_key")).then(0).otherwise(pl.col("after").shift(1)).alias("before")
        )
        .filter(pl.col("after") != pl.col("before"))
        .with_columns((block != block.shift(1)).fill_null(True).alias("_first"))
    )
    before, after = pl.col("before"), pl.col("after")
    arrives = (before == 0) & (after > 0)
    kinds = {
        "new": arrives & pl.col("_first"),
        "reactivation": arrives & ~pl.col("_first"),
        "expansion": (before > 0) & (after > before),
        "contraction": (after > 0) & (after < before),
        "churn": (before > 0) & (after == 0),
    }
    amount = (after - before).abs()
    flows = (
        runs.group_by("_pos")
        .agg(
            *(amount.filter(condition).sum().alias(kind) for kind, condition in kinds.items()),
            (after - before).sum().alias("net"),
        )
        .collect()
    )
    spine = pl.int_range(low, last + 1, dtype=pl.Int32, eager=True).alias("_pos").to_frame()
    table = (
        spine.join(flows, on="_pos", how="left")
        .fill_null(0)
        .sort("_pos")
        .with_columns(pl.col("net").cum_sum().alias("closing"))
        .with_columns((pl.col("closing") - pl.col("net")).alias("opening"))
    )
    month = pl.date(pl.col("_pos") // 12, pl.col("_pos") % 12 + 1, 1)
    days = (
        pl.when(pl.col("_pos") == last)
        .then(pl.lit(as_of.day))
        .otherwise(month.dt.month_end().dt.day())
        .cast(pl.Int64)
    )
    return table.select(
        month.dt.strftime("%Y-%m").alias("month"),
        days.alias("days"),
        "opening",
        *FLOWS,
        "net",
        "closing",
    )


def money(column: str) -> pl.Expr:
    """Integer cents as text in major units with two decimals, e.g. -1234 → -12.34."""
    cents = pl.col(column)
    whole = (cents.abs() // 100).cast(pl.String)
    part = (cents.abs() % 100).cast(pl.String).str.zfill(2)
    sign = pl.when(cents < 0).then(pl.lit("-")).otherwise(pl.lit(""))
    return pl.concat_str(sign, whole, pl.lit("."), part).alias(column)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("parquet", type=Path)
    parser.add_argument("--as-of", required=True, type=dt.date.fromisoformat)
    parser.add_argument("-o", "--output", type=Path, help="CSV path (default: stdout)")
    args = parser.parse_args()
    table = movements(args.parquet, args.as_of)
    text = table.select("month", "days", *(money(c) for c in table.columns[2:])).write_csv(
        include_header=False
    )
    text = HEADER + "\n" + text
    if args.output is None:
        sys.stdout.write(text)
    else:
        args.output.write_text(text)


if __name__ == "__main__":
    main()
