"""An N-times copy of a Parquet export, in one streaming pass (Polars' sink_parquet): copy k
(1..N) has `_k` appended to every id column, so the copies are distinct customers and
subscriptions with the same amounts and dates. Every report of the copy is therefore N times
the original's sums and counts (rates, ratios and averages unchanged), which checks a run on
a file too large to check any other way.

    python bench/replicate.py /tmp/scale-10m/rows_10m_usd.parquet \\
        /tmp/scale-100m/rows_100m_usd.parquet --copies 10

gen_periods.py takes about 2 hours for 100M rows; this takes minutes.
"""

from __future__ import annotations

import argparse
import os
import time

import polars as pl
import pyarrow.parquet as pq

# Columns that identify a customer, a subscription, an item or a document: suffixed in each
# copy. (plan_id, currency and the like are shared by the copies, as in a larger company.)
ID_COLUMNS = (
    "customer_id",
    "subscription_id",
    "subscription_item_id",
    "invoice_id",
    "line_item_id",
    "id",
)


def replicate(source: str, target: str, copies: int, ids: list[str] | None = None) -> int:
    """Write `copies` copies of `source` to `target` and return the number of rows written."""
    scan = pl.scan_parquet(source)
    names = scan.collect_schema().names()
    chosen = [c for c in (ids if ids is not None else ID_COLUMNS) if c in names]
    if not chosen:
        raise SystemExit(f"{source}: none of the id columns {', '.join(ID_COLUMNS)}")
    copied = [
        scan.with_columns(pl.col(c).cast(pl.String) + f"_{k}" for c in chosen)
        for k in range(1, copies + 1)
    ]
    meta = pq.ParquetFile(source).metadata
    group = max(meta.num_rows // max(meta.num_row_groups, 1), 1)
    os.makedirs(os.path.dirname(os.path.abspath(target)), exist_ok=True)
    pl.concat(copied).sink_parquet(target, compression="zstd", row_group_size=group)
    return int(pq.ParquetFile(target).metadata.num_rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source")
    parser.add_argument("target")
    parser.add_argument("--copies", type=int, default=10)
    parser.add_argument("--ids", help="comma-separated id columns (default: the known ones)")
    args = parser.parse_args()
    started = time.perf_counter()
    ids = args.ids.split(",") if args.ids else None
    rows = replicate(args.source, args.target, args.copies, ids)
    print(f"{args.target}: {rows:,} rows in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
