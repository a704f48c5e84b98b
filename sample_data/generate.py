"""Generate a deterministic synthetic SaaS subscription billing export ("periods" shape).

Usage: ``python sample_data/generate.py`` rewrites ``subscriptions.csv`` and
``subscriptions.parquet`` next to this file. Same seed -> byte-identical output.
"""

from __future__ import annotations

import csv
import math
import random
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path

import polars as pl

SEED = 20240101
N_CUSTOMERS = 400
FIRST_SIGNUP = date(2024, 1, 1)
LAST_SIGNUP = date(2026, 5, 31)
DATA_END = date(2026, 6, 30)  # no start_date / end_date after this day
OUT_DIR = Path(__file__).resolve().parent

COLUMNS = [
    "customer_id", "subscription_id", "plan_id", "status", "start_date", "end_date", "amount",
    "currency", "interval", "interval_count", "quantity", "discount_percent", "discount_amount",
]  # fmt: skip

Cadence = tuple[str, int]  # (interval, interval_count)
MONTH: Cadence = ("month", 1)
QUARTER: Cadence = ("quarter", 1)
SEMI: Cadence = ("month", 6)
YEAR: Cadence = ("year", 1)
BIWEEK: Cadence = ("week", 2)

# Per-seat (per-unit) list price for every cadence a plan is sold on.
PRICES: dict[str, dict[Cadence, str]] = {
    "lite": {BIWEEK: "6.00"},
    "starter": {MONTH: "29.00", QUARTER: "79.00", SEMI: "159.00", YEAR: "290.00"},
    "team": {MONTH: "49.00", QUARTER: "139.00", SEMI: "269.00", YEAR: "490.00"},
    "business": {MONTH: "89.00", QUARTER: "249.00", SEMI: "489.00", YEAR: "890.00"},
    "enterprise": {MONTH: "149.00", YEAR: "1490.00"},
    "addon_sso": {MONTH: "10.00", YEAR: "100.00"},
    "addon_storage": {MONTH: "5.00", YEAR: "50.00"},
}
TIERS = ["lite", "starter", "team", "business", "enterprise"]  # upgrade ladder
SEATS = {"lite": (1, 1), "starter": (1, 3), "team": (3, 12), "business": (8, 30),
         "enterprise": (20, 50), "addon_sso": (1, 1), "addon_storage": (1, 10)}  # fmt: skip

Row = dict[str, str | None]


@dataclass(frozen=True)
class Period:
    """The priced state of a subscription; a new row starts whenever it changes."""

    plan: str
    cadence: Cadence
    quantity: int
    discount_percent: int | None = None
    discount_amount: str | None = None


def emit(rows: list[Row], cus: str, sub: str, p: Period, start: date, end: date | None,
         status: str) -> None:  # fmt: skip
    rows.append({
        "customer_id": cus, "subscription_id": sub, "plan_id": p.plan, "status": status,
        "start_date": start.isoformat(), "end_date": end.isoformat() if end else None,
        "amount": PRICES[p.plan][p.cadence], "currency": "USD", "interval": p.cadence[0],
        "interval_count": str(p.cadence[1]), "quantity": str(p.quantity),
        "discount_percent": None if p.discount_percent is None else str(p.discount_percent),
        "discount_amount": p.discount_amount,
    })  # fmt: skip


def signup_dates(rng: random.Random) -> list[date]:
    """Signup days whose density grows linearly to 3x the initial rate (inverse-CDF sampling)."""
    g, span = 2.0, (LAST_SIGNUP - FIRST_SIGNUP).days
    # CDF of density (1 + g*t) on [0, 1] is (t + g*t^2/2) / (1 + g/2); solve for t.
    ts = ((-1 + math.sqrt(1 + 2 * g * rng.random() * (1 + g / 2))) / g for _ in range(N_CUSTOMERS))
    return sorted(FIRST_SIGNUP + timedelta(days=round(t * span)) for t in ts)


def new_period(rng: random.Random) -> Period:
    """A fresh purchase: plan mix skewed to the low end, monthly billing most common."""
    plan = rng.choices(TIERS, weights=[1, 41, 33, 19, 6])[0]
    cadence = rng.choices([MONTH, YEAR, QUARTER, SEMI], weights=[61, 24, 12, 3])[0]
    if plan == "lite":
        cadence = BIWEEK
    elif cadence not in PRICES[plan]:
        cadence = MONTH
    return Period(plan, cadence, rng.randint(*SEATS[plan]), *starting_discount(rng))


def starting_discount(rng: random.Random) -> tuple[int | None, str | None]:
    r = rng.random()
    if r < 0.10:
        return 20, None  # launch promo; removed after a few months (see run_subscription)
    if r < 0.13:
        return 10, None  # permanent (e.g. non-profit)
    if r < 0.14:
        return 100, None  # free account (partner / friends & family)
    if r < 0.18:
        return None, "5.00"  # flat coupon per billing interval
    return None, None


def seats(p: Period, delta: int) -> Period:
    return replace(p, quantity=max(1, min(50, p.quantity + delta)))


def mutate(rng: random.Random, p: Period) -> Period:
    """One customer-initiated change; may return p unchanged (e.g. seat floor reached)."""
    if p.plan == "addon_storage":
        return seats(p, rng.choice([-2, -1, 1, 2, 3]))
    if p.plan == "addon_sso":
        return p
    tier = TIERS.index(p.plan)
    r = rng.random()
    if p.plan == "lite" or (r < 0.14 and tier < len(TIERS) - 1):
        plan = TIERS[tier + 1]
        cadence = p.cadence if p.cadence in PRICES[plan] else MONTH
        return replace(p, plan=plan, cadence=cadence, quantity=max(p.quantity, SEATS[plan][0]))
    if r < 0.20 and tier > 1:
        plan = TIERS[tier - 1]
        cadence = p.cadence if p.cadence in PRICES[plan] else MONTH
        return replace(p, plan=plan, cadence=cadence, quantity=min(p.quantity, SEATS[plan][1]))
    if r < 0.94 or p.cadence != MONTH:
        # seat growth is more common than shrinkage
        return seats(p, rng.randint(1, 3) if r < 0.62 else -rng.randint(1, 2))
    return replace(p, cadence=YEAR)  # monthly customer commits to an annual plan


def run_subscription(rng: random.Random, rows: list[Row], cus: str, sub: str, p: Period,
                     start: date, stop: date | None = None) -> date | None:  # fmt: skip
    """Walk one subscription in ~monthly steps, emitting a row per priced period.

    Returns the cancellation date, or None if it is still running at DATA_END. ``stop`` is
    the parent subscription's cancellation date: add-ons end with it.
    """
    addon = p.plan.startswith("addon_")
    churn, change = (0.03, 0.04) if addon else (0.02, 0.26)
    promo_end = start + timedelta(days=30 * rng.randint(3, 6)) if p.discount_percent == 20 else None
    seg_start, t = start, start
    while True:
        t += timedelta(days=rng.randint(24, 36))
        if stop is not None and t >= stop:
            emit(rows, cus, sub, p, seg_start, stop, "canceled")
            return stop
        if t > DATA_END:
            emit(rows, cus, sub, p, seg_start, None, "active")
            return None
        if promo_end is not None and t >= promo_end:
            new, promo_end = replace(p, discount_percent=None), None
        else:
            r = rng.random()
            if r < churn:
                emit(rows, cus, sub, p, seg_start, t, "canceled")
                return t
            new = mutate(rng, p) if r < churn + change else p
        if new == p:
            continue
        if not addon and rng.random() < 0.012:
            # two changes on the same day: the intermediate row is zero-length (start == end)
            emit(rows, cus, sub, p, seg_start, t, "active")
            p, seg_start = new, t
            new = seats(p, 1 if p.quantity < 50 else -1)
        emit(rows, cus, sub, p, seg_start, t, "active")
        p, seg_start = new, t


def simulate_customer(rng: random.Random, n: int, signup: date) -> list[Row]:
    cus, rows, n_subs = f"cus_{n:04d}", [], 0

    def next_sub() -> str:
        nonlocal n_subs
        n_subs += 1
        return f"sub_{n:04d}_{n_subs}"

    p, start, sub = new_period(rng), signup, next_sub()
    if rng.random() < 0.40:
        # 14-day trial on the plan the customer then buys (priced, but worth 0 MRR)
        trial_end = signup + timedelta(days=14)
        converts = rng.random() >= 0.08
        trial = replace(p, discount_percent=None, discount_amount=None)
        emit(rows, cus, sub, trial, signup, trial_end if trial_end <= DATA_END else None,
             "trialing")  # fmt: skip
        if not converts or trial_end > DATA_END:
            return rows
        start = trial_end
    while True:
        end = run_subscription(rng, rows, cus, sub, p, start)
        horizon = end or DATA_END
        # Add-ons are separate subscriptions; their own cadence follows the main plan if possible.
        for addon, prob, min_tier in (("addon_sso", 0.35, 2), ("addon_storage", 0.15, 1)):
            if TIERS.index(p.plan) >= min_tier and rng.random() < prob:
                a_start = start + timedelta(days=rng.randint(0, 420))
                if a_start < horizon:
                    cadence = p.cadence if p.cadence in PRICES[addon] else MONTH
                    a = Period(addon, cadence, rng.randint(*SEATS[addon]))
                    run_subscription(rng, rows, cus, next_sub(), a, a_start, stop=end)
        if end is None or rng.random() >= 0.2:
            return rows
        # win-back: the churned customer returns after a 1-8 month gap on a new subscription
        start = end + timedelta(days=rng.randint(30, 240))
        if start > DATA_END:
            return rows
        p, sub = new_period(rng), next_sub()


def write_csv(rows: list[Row], path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)  # None is written as an empty field


def write_parquet(rows: list[Row], path: Path) -> None:
    df = pl.DataFrame(rows, schema={c: pl.String for c in COLUMNS}).with_columns(
        pl.col("start_date", "end_date").str.to_date("%Y-%m-%d"),
        pl.col("amount", "discount_amount").cast(pl.Decimal(12, 2)),
        pl.col("interval_count", "quantity").cast(pl.Int64),
        pl.col("discount_percent").cast(pl.Float64),
    )
    df.write_parquet(path, statistics=True)


def main() -> None:
    rng = random.Random(SEED)
    rows: list[Row] = []
    for n, signup in enumerate(signup_dates(rng), start=1):
        rows.extend(simulate_customer(rng, n, signup))
    # Stable sort: rows of one subscription starting the same day keep generation order,
    # so a zero-length row precedes the row that replaces it.
    rows.sort(key=lambda r: (r["start_date"], r["customer_id"], r["subscription_id"]))
    write_csv(rows, OUT_DIR / "subscriptions.csv")
    write_parquet(rows, OUT_DIR / "subscriptions.parquet")
    print(f"wrote {len(rows)} rows for {len({r['customer_id'] for r in rows})} customers")


if __name__ == "__main__":
    main()
