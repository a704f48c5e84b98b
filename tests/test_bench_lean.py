"""bench/lean_snapshot.py, the lean Polars script issue 15 measures mrrcli against, gives the
same cents as `mrrcli movements --mode snapshot`: on a hand-computed export and on a random one."""

from __future__ import annotations

import random
import subprocess
import sys
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import polars as pl
from typer.testing import CliRunner

from mrrcli.cli import app
from mrrcli.present.terminal import Terminal

LEAN = Path(__file__).resolve().parent.parent / "bench" / "lean_snapshot.py"
SCHEMA = {
    "customer_id": pl.String,
    "subscription_id": pl.String,
    "plan_id": pl.String,
    "currency": pl.String,
    "amount": pl.Decimal(18, 2),
    "interval": pl.String,
    "interval_count": pl.Int32,
    "quantity": pl.Int32,
    "start_date": pl.Date,
    "end_date": pl.Date,
}


def write_export(path: Path, rows: list[tuple[object, ...]]) -> Path:
    """(customer, amount, interval, count, quantity, start, end) rows as a bench-style Parquet."""
    records = [
        {
            "customer_id": c,
            "subscription_id": f"sub_{c}_{i}",
            "plan_id": str(interval),
            "currency": "USD",
            "amount": Decimal(str(amount)),
            "interval": interval,
            "interval_count": count,
            "quantity": quantity,
            "start_date": start,
            "end_date": end,
        }
        for i, (c, amount, interval, count, quantity, start, end) in enumerate(rows)
    ]
    pl.DataFrame(records, schema=SCHEMA).write_parquet(path)
    return path


def lean(path: Path, as_of: str) -> str:
    done = subprocess.run(
        [sys.executable, str(LEAN), str(path), "--as-of", as_of],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def mrrcli(path: Path, as_of: str) -> str:
    args = ["movements", str(path), "--mode", "snapshot", "--as-of", as_of, "-f", "csv", "-q"]
    result = CliRunner().invoke(app, args, obj=Terminal())
    assert result.exit_code == 0, result.stderr
    return result.stdout


def test_lean_script_by_hand(tmp_path: Path) -> None:
    d = date
    export = write_export(
        tmp_path / "hand.parquet",
        [
            ("c1", "10.00", "month", 1, 1, d(2026, 1, 10), d(2026, 2, 20)),
            ("c1", "25.00", "month", 1, 1, d(2026, 2, 20), d(2026, 3, 5)),
            ("c1", "20.00", "month", 1, 1, d(2026, 3, 5), None),
            ("c2", "120.00", "year", 1, 2, d(2026, 1, 5), d(2026, 3, 1)),
            ("c3", "7.00", "week", 1, 1, d(2026, 2, 3), d(2026, 2, 25)),
            ("c3", "7.00", "week", 1, 1, d(2026, 3, 1), None),
            ("c4", "30.00", "quarter", 1, 1, d(2026, 1, 31), d(2026, 2, 1)),
            ("c4", "30.00", "quarter", 1, 1, d(2026, 3, 10), None),
            ("c5", "1.00", "day", 1, 1, d(2026, 3, 15), None),
            ("c5", "99.00", "month", 1, 1, d(2026, 3, 16), None),
        ],
    )
    # By hand, in cents, month-end MRR (March: the as-of day, 15 days):
    #   c1: 1000 (Jan 31), 2500 (Feb 28), 2000 (Mar 15)
    #   c2: 12000 × 2 ÷ 12 = 2000 at Jan and Feb ends (ends Mar 1, exclusive), 0 in March
    #   c3: the February row never meets a month end; March 700 × 487 ÷ 112 = 3043.75 → 3044
    #   c4: 3000 ÷ 3 = 1000 at Jan 31 (its only day), 0 at Feb 28, 1000 again in March
    #   c5: 100 × 487 ÷ 16 = 3043.75 → 3044 from the as-of day; the Mar 16 row is after it
    # Jan: new 1000 + 2000 + 1000 = 4000; closing 4000
    # Feb: expansion 1500 (c1), churn 1000 (c4); net 500; closing 4500
    # Mar: new 3044 + 3044 = 6088, reactivation 1000 (c4), contraction 500 (c1),
    #      churn 2000 (c2); net 4588; closing 9088 = 2000 + 3044 + 1000 + 3044
    expected = (
        "month,days,opening_mrr,new_mrr,expansion_mrr,reactivation_mrr,contraction_mrr,"
        "churned_mrr,net_new_mrr,closing_mrr\n"
        "2026-01,31,0.00,40.00,0.00,0.00,0.00,0.00,40.00,40.00\n"
        "2026-02,28,40.00,0.00,15.00,0.00,0.00,10.00,5.00,45.00\n"
        "2026-03,15,45.00,60.88,0.00,10.00,5.00,20.00,45.88,90.88\n"
    )
    assert lean(export, "2026-03-15") == expected
    assert mrrcli(export, "2026-03-15") == expected


def random_rows(seed: int, customers: int) -> list[tuple[object, ...]]:
    """Subscriptions with plan changes, gaps, returns, same-month and same-day rows."""
    rng = random.Random(seed)
    intervals = ["day", "week", "month", "quarter", "year"]
    rows: list[tuple[object, ...]] = []
    for c in range(customers):
        for _ in range(rng.randint(1, 3)):
            day = date(2024, 1, 1) + timedelta(days=rng.randint(0, 700))
            for _ in range(rng.randint(1, 4)):
                length = rng.choice([0, 1, 3, 20, 31, 45, 90, 200, 400])
                end = None if rng.random() < 0.15 else day + timedelta(days=length)
                cents = rng.choice([0, 1, 99, 1000, 4999, 12345, 100000])
                rows.append(
                    (
                        f"cus_{c}",
                        f"{cents // 100}.{cents % 100:02d}",
                        rng.choice(intervals),
                        rng.randint(1, 3),
                        rng.randint(0, 5),
                        day,
                        end,
                    )
                )
                if end is None:
                    break
                day = end + timedelta(days=rng.choice([0, 0, 0, 10, 60]))
    return rows


def test_lean_script_equals_mrrcli_on_random_exports(tmp_path: Path) -> None:
    for seed, as_of in ((1, "2025-12-31"), (2, "2025-06-15"), (3, "2024-09-30")):
        export = write_export(tmp_path / f"random_{seed}.parquet", random_rows(seed, 300))
        expected = mrrcli(export, as_of)
        assert expected.count("\n") > 5  # months with movements, not an empty report
        assert lean(export, as_of) == expected
