"""Property tests: the engine against the plain reference in `tests/reference.py` (SPEC §3–§5).

Random small datasets — overlapping subscriptions, plan changes that end one row the day the
next starts, gaps and returns, same-day changes, zero-length rows, zero-MRR (trial) rows,
open-ended rows, a leap February — are run through `mrrcli.engine.totals` in every mode, level and
expansion scope, and must agree with the reference to the minor unit, month by month and change
by change.
"""

from __future__ import annotations

import csv
import itertools
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from reference import (
    MONEY_COLUMNS,
    MOVEMENT_COLUMN,
    RefSettings,
    Row,
    changes,
    month_end,
    month_start,
    monthly,
    months_between,
    periods_mrr,
)

from mrrcli.engine.partials import monthly_movements
from mrrcli.engine.timeline import classified_changes as compute_changes
from mrrcli.report import load
from mrrcli.vocabulary import MOVEMENTS_COLUMNS, Level, Mode, Scope, Settings

COMBINATIONS: list[tuple[Mode, Level, Scope]] = list(
    itertools.product(("event", "snapshot"), ("customer", "subscription"), ("strict", "broad"))
)
PRICES = (0, 0, 1000, 1500, 2500, 4000, 9999)
FAST = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@dataclass(frozen=True)
class Dataset:
    """Random rows plus an as-of date and the first day their dates may take."""

    rows: list[Row]
    as_of: date
    base: date


# ---------------------------------------------------------------------------------------------
# Strategies


@st.composite
def datasets(draw: st.DrawFn) -> Dataset:
    """A few customers, several subscriptions each, over 3–14 months, and an as-of date.

    Dates are drawn partly from a small pool of shared "pivot" days so that changes of
    different subscriptions and customers often fall on the same day.
    """
    base = draw(st.dates(min_value=date(2023, 5, 1), max_value=date(2024, 3, 31)))
    span = draw(st.integers(min_value=3, max_value=14)) * 30
    pivots = draw(st.lists(st.integers(0, span), min_size=2, max_size=6))
    offset = st.one_of(st.sampled_from(pivots), st.integers(0, span))
    price = st.one_of(st.sampled_from(PRICES), st.integers(1, 20000))

    def day(n: int) -> date:
        return base + timedelta(days=n)

    rows: list[Row] = []
    for c in range(draw(st.integers(1, 4))):
        customer = f"c{c}"
        for s in range(draw(st.integers(1, 3))):
            subscription = f"{customer}s{s}"
            cursor = draw(offset)
            for _ in range(draw(st.integers(1, 4))):
                # 0: zero-length row; short and long spans; None: open-ended.
                length = draw(
                    st.one_of(st.just(0), st.integers(1, 40), st.integers(30, 200), st.none())
                )
                end = None if length is None else cursor + length
                rows.append(
                    Row(
                        customer,
                        subscription,
                        day(cursor),
                        None if end is None else day(end),
                        draw(price),
                    )
                )
                if end is None:
                    break
                # Plan change on the same day, or a gap and a return.
                cursor = end + draw(st.one_of(st.just(0), st.just(0), st.integers(1, 90)))
        # Loose rows anywhere, e.g. an add-on overlapping the others or a trial.
        for _ in range(draw(st.integers(0, 2))):
            start = draw(offset)
            end = draw(st.one_of(st.none(), st.integers(start, span + 30)))
            rows.append(
                Row(
                    customer,
                    f"{customer}x",
                    day(start),
                    None if end is None else day(end),
                    draw(price),
                )
            )
    first = min(row.start_date for row in rows)
    last = max(max(row.start_date, row.end_date or row.start_date) for row in rows)
    month_end_of = st.sampled_from([month_end(m) for m in months_between(first, last)])
    as_of = draw(
        st.one_of(
            st.builds(day, st.sampled_from(pivots)),
            st.builds(day, st.integers(0, span + 60)),
            month_end_of,
            st.just(first - timedelta(days=draw(st.integers(1, 20)))),
            st.just(last + timedelta(days=draw(st.integers(0, 40)))),
        )
    )
    return Dataset(rows=rows, as_of=as_of, base=base)


# ---------------------------------------------------------------------------------------------
# Helpers


def frame_of(rows: list[Row]) -> pl.DataFrame:
    """Rows in the shape of `mrrcli.normalize.Rows.frame`."""
    return pl.DataFrame(
        {
            "customer_id": [r.customer_id for r in rows],
            "subscription_id": [r.subscription_id for r in rows],
            "plan_id": [None if i % 3 == 0 else f"p{r.mrr}" for i, r in enumerate(rows)],
            "start_date": [r.start_date for r in rows],
            "end_date": [r.end_date for r in rows],
            "mrr": [r.mrr for r in rows],
            "_file": [0] * len(rows),
            "_row": list(range(2, len(rows) + 2)),
        },
        schema={
            "customer_id": pl.String,
            "subscription_id": pl.String,
            "plan_id": pl.String,
            "start_date": pl.Date,
            "end_date": pl.Date,
            "mrr": pl.Int64,
            "_file": pl.UInt16,
            "_row": pl.UInt32,
        },
    )


def engine_settings(ref: RefSettings) -> Settings:
    """The engine's Settings for the reference's."""
    return Settings(
        as_of=ref.as_of,
        mode=ref.mode,
        level=ref.level,
        scope=ref.scope,
        month_from=ref.month_from,
        month_to=ref.month_to,
    )


def assert_identity(table: list[dict[str, Any]], where: str) -> None:
    """opening + flows = closing every month, and each opening is the previous closing."""
    previous: dict[str, Any] | None = None
    for month in table:
        flows = (
            month["new_mrr"]
            + month["expansion_mrr"]
            + month["reactivation_mrr"]
            - month["contraction_mrr"]
            - month["churned_mrr"]
        )
        assert month["opening_mrr"] + flows == month["closing_mrr"], (where, month)
        assert month["net_new_mrr"] == flows, (where, month)
        if previous is not None:
            assert month["opening_mrr"] == previous["closing_mrr"], (where, previous, month)
        previous = month


def engine_audit(frame: pl.DataFrame, settings_: Settings) -> list[tuple[Any, ...]]:
    """The engine's classified changes as sorted comparable tuples."""
    table = compute_changes(frame, settings_)
    return sorted(
        (
            tuple(r[k] for k in settings_.keys),
            r["date"],
            r["month"],
            r["movement"],
            r["mrr_before"],
            r["mrr_after"],
            r["amount"],
        )
        for r in table.iter_rows(named=True)
    )


def reference_audit(rows: list[Row], ref: RefSettings) -> list[tuple[Any, ...]]:
    """The reference's changes as sorted comparable tuples."""
    return sorted(
        (c.key, c.day, c.month, c.movement, c.before, c.after, c.amount) for c in changes(rows, ref)
    )


def describe(data: Dataset, ref: RefSettings) -> str:
    """A reproducible description of a failing example."""
    lines = [f"as_of={data.as_of!r} {ref}"]
    lines += [f"  {r}" for r in sorted(data.rows, key=lambda r: (r.customer_id, r.start_date))]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Properties


# A paying blip that nets out within a month, then a later arrival: in snapshot mode the
# arrival is `new`, and it is no free-to-paid conversion (the earlier row carried MRR), so broad
# scope must leave it in new_mrr. Run first so that a regression fails fast, without shrinking.
BLIP_THEN_ARRIVAL = Dataset(
    rows=[
        Row("c0", "c0s0", date(2024, 1, 10), date(2024, 1, 20), 5000),
        Row("c0", "c0s0", date(2024, 3, 5), None, 5000),
    ],
    as_of=date(2024, 3, 31),
    base=date(2024, 1, 10),
)


@pytest.mark.parametrize(("mode", "level", "scope"), COMBINATIONS)
@FAST
@example(data=BLIP_THEN_ARRIVAL)
@given(data=datasets())
def test_engine_matches_reference(data: Dataset, mode: Mode, level: Level, scope: Scope) -> None:
    """Identity, equality with the reference (table and audit rows), audit sums = movements."""
    frame = frame_of(data.rows)
    ref = RefSettings(as_of=data.as_of, mode=mode, level=level, scope=scope)
    where = describe(data, ref)
    engine = monthly_movements(frame, engine_settings(ref))
    assert tuple(engine.columns) == MOVEMENTS_COLUMNS
    got = engine.to_dicts()
    expected = monthly(data.rows, ref)
    # (a) the identity, on both implementations.
    assert_identity(got, "engine " + where)
    assert_identity(expected, "reference " + where)
    # The same audit rows, change by change.
    audit = engine_audit(frame, engine_settings(ref))
    assert audit == reference_audit(data.rows, ref), where
    # (b) the same table, every column of every month.
    assert got == expected, where
    # (c) each month's audit rows add up to its movements.
    for month in got:
        for movement, column in MOVEMENT_COLUMN.items():
            total = sum(a[6] for a in audit if a[2] == month["month"] and a[3] == movement)
            assert total == month[column], (where, month, movement)


@st.composite
def windowed(draw: st.DrawFn) -> tuple[Dataset, date | None, date | None]:
    """A dataset and a --from/--to window the CLI would accept (from <= to <= as-of month)."""
    data = draw(datasets())
    first = min(row.start_date for row in data.rows)
    candidates = months_between(min(first, data.as_of) - timedelta(days=45), data.as_of)
    month_from = draw(st.one_of(st.none(), st.sampled_from(candidates)))
    later = [m for m in candidates if month_from is None or m >= month_from]
    month_to = draw(st.one_of(st.none(), st.sampled_from(later)))
    return data, month_from, month_to


@pytest.mark.parametrize(("mode", "level", "scope"), COMBINATIONS)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=windowed())
def test_window_is_the_full_table_filtered(
    case: tuple[Dataset, date | None, date | None], mode: Mode, level: Level, scope: Scope
) -> None:
    """(d) --from/--to give the full table's rows for those months (zeros before it starts)."""
    data, month_from, month_to = case
    frame = frame_of(data.rows)
    full_settings = Settings(as_of=data.as_of, mode=mode, level=level, scope=scope)
    window_settings = replace(full_settings, month_from=month_from, month_to=month_to)
    where = f"{window_settings} {data.rows}"
    full = {r["month"]: r for r in monthly_movements(frame, full_settings).to_dicts()}
    window = monthly_movements(frame, window_settings).to_dicts()
    assert_identity(window, where)
    # The months are exactly the window: from --from (or the first paying month) to --to.
    start = month_from or (min(full) if full else None)
    end = month_to or month_start(data.as_of)
    expected_months = [] if start is None else months_between(start, end)
    assert [r["month"] for r in window] == expected_months, where
    for row in window:
        if row["month"] in full:
            assert row == full[row["month"]], where
        else:
            # Before anything paid: a window opening early shows empty months.
            assert all(row[c] == 0 for c in MONEY_COLUMNS), where
    # And the reference agrees on the window too.
    ref = RefSettings(data.as_of, mode, level, scope, month_from, month_to)
    assert window == monthly(data.rows, ref), where


@pytest.mark.parametrize("level", ["customer", "subscription"])
@pytest.mark.parametrize(
    ("first_mrr", "first_end", "movement"),
    [
        (5000, date(2024, 1, 20), "new"),  # a paid blip: no conversion
        (0, date(2024, 1, 20), "new"),  # a free blip, over before the end of February
        (0, date(2024, 3, 5), "expansion"),  # free through February's end: a conversion
    ],
)
def test_snapshot_broad_conversion_needs_free_rows_before(
    level: Level, first_mrr: int, first_end: date, movement: str
) -> None:
    """§4.3/§4.4: a row from January 10, then paying from March 5, snapshot mode, broad.

    March is an arrival on month-end values; it is a free-to-paid conversion (→ expansion)
    only when a free row was in force at the end of February (settled), not after a free or
    paid row that was over by then (→ stays new).
    """
    rows = [
        Row("c0", "c0s0", date(2024, 1, 10), first_end, first_mrr),
        Row("c0", "c0s0", date(2024, 3, 5), None, 5000),
    ]
    ref = RefSettings(as_of=date(2024, 3, 31), mode="snapshot", level=level, scope="broad")
    table = monthly_movements(frame_of(rows), engine_settings(ref)).to_dicts()
    # Months start with the first month with MRR > 0 on any day (§5): January for the paid
    # blip, which snapshot mode does not see; March otherwise.
    first = date(2024, 1, 1) if first_mrr else date(2024, 3, 1)
    assert [r["month"] for r in table] == months_between(first, date(2024, 3, 1))
    assert table[-1][MOVEMENT_COLUMN[movement]] == 5000
    assert table == monthly(rows, ref)


# ---------------------------------------------------------------------------------------------
# Through the loader: billing amounts → MRR (§3) → movements


INTERVALS: dict[str, Callable[[int], str]] = {
    "day": lambda n: "day" if n == 1 else "days",
    "week": lambda n: "weekly" if n == 1 else "weeks",
    "month": lambda n: "month",
    "quarter": lambda n: "quarterly",
    "year": lambda n: "Year",
}


def fixed(scaled: int, places: int) -> str:
    """An integer count of 10^-places units as exact decimal text (12345, 2 → "123.45")."""
    return f"{scaled // 10**places}.{scaled % 10**places:0{places}d}"


@st.composite
def billing_rows(draw: st.DrawFn) -> tuple[list[dict[str, str]], list[int]]:
    """`periods` CSV rows with amount/interval/quantity/discounts, and each row's §3 MRR."""
    base = date(2023, 11, 1)
    records: list[dict[str, str]] = []
    expected: list[int] = []
    for i in range(draw(st.integers(1, 12))):
        start = draw(st.integers(0, 300))
        length = draw(st.one_of(st.none(), st.integers(0, 200)))
        amount = draw(st.integers(0, 500_000))
        interval = draw(st.sampled_from(sorted(INTERVALS)))
        count = draw(st.integers(1, 3))
        quantity = draw(st.integers(0, 50_000))
        percent = draw(st.integers(0, 1_000_000))
        discount = draw(st.integers(0, 20_000))
        trial = draw(st.booleans()) and draw(st.booleans())
        records.append(
            {
                "customer_id": f"c{draw(st.integers(0, 3))}",
                "subscription_id": f"s{draw(st.integers(0, 4))}",
                "start_date": (base + timedelta(days=start)).isoformat(),
                "end_date": ""
                if length is None
                else (base + timedelta(days=start + length)).isoformat(),
                "amount": fixed(amount, 2),
                "interval": INTERVALS[interval](count),
                "interval_count": str(count),
                "quantity": fixed(quantity, 3),
                "discount_percent": fixed(percent, 4),
                "discount_amount": fixed(discount, 2),
                "status": "trialing" if trial else "active",
                "plan_id": f"plan{i % 3}",
            }
        )
        expected.append(
            periods_mrr(
                Fraction(amount, 100),
                interval=interval,
                interval_count=count,
                quantity=Fraction(quantity, 1000),
                discount_percent=Fraction(percent, 10_000),
                discount_amount=Fraction(discount, 100),
                trial=trial,
            )
        )
    return records, expected


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=billing_rows(), as_of_offset=st.integers(0, 420))
def test_loaded_csv_mrr_and_identity(
    tmp_path_factory: pytest.TempPathFactory,
    case: tuple[list[dict[str, str]], list[int]],
    as_of_offset: int,
) -> None:
    """A CSV through `report.load`: each row's MRR per §3, then the identity and the reference."""
    records, expected_mrr = case
    path: Path = tmp_path_factory.mktemp("csv") / "periods.csv"
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(records[0]))
        writer.writeheader()
        writer.writerows(records)
    loaded = load([str(path)])
    frame = loaded.frame
    # Identical rows are counted once (§2.5); `_row` is the spreadsheet row (header = 1).
    assert frame.height == len({tuple(record.values()) for record in records})
    for row_number, mrr in zip(frame.get_column("_row"), frame.get_column("mrr"), strict=True):
        assert mrr == expected_mrr[row_number - 2], (records[row_number - 2], mrr)
    rows = [
        Row(r["customer_id"], r["subscription_id"], r["start_date"], r["end_date"], r["mrr"])
        for r in frame.iter_rows(named=True)
    ]
    as_of = date(2023, 11, 1) + timedelta(days=as_of_offset)
    for mode, level, scope in COMBINATIONS:
        ref = RefSettings(as_of=as_of, mode=mode, level=level, scope=scope)
        table = monthly_movements(frame, engine_settings(ref)).to_dicts()
        assert_identity(table, str(ref))
        assert table == monthly(rows, ref), (ref, records)
