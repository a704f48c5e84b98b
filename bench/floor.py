"""The floor: start Python, import Polars and read the benchmark file into memory, nothing else.

Parquet is read whole (the columns mrrcli reads); CSV is parsed to the export's types (dates,
decimal amounts, integers). Prints the row count so the read cannot be skipped.

    python bench/floor.py rows.parquet|rows.csv
"""

from __future__ import annotations

import sys

import polars as pl

SCHEMA: dict[str, pl.DataType] = {
    "customer_id": pl.String(),
    "subscription_id": pl.String(),
    "plan_id": pl.String(),
    "currency": pl.String(),
    "amount": pl.Decimal(18, 2),
    "interval": pl.String(),
    "interval_count": pl.Int32(),
    "quantity": pl.Int32(),
    "start_date": pl.Date(),
    "end_date": pl.Date(),
}


def main() -> None:
    path = sys.argv[1]
    if path.endswith(".parquet"):
        frame = pl.read_parquet(path, columns=list(SCHEMA))
    else:
        frame = pl.read_csv(path, schema=SCHEMA)
    print(frame.height)


if __name__ == "__main__":
    main()
