"""A deliberately plain second implementation of SPEC §3–§5, for property tests.

No polars and no cleverness: every key's MRR is computed for every single day by summing the
rows that cover that day, then compared day by day (event mode, §4.2) or month-end by month-end
(snapshot mode, §4.3). It is slow and obvious on purpose, so that the engine in `mrrcli` can be
checked against it on random data.

Money is in integer minor units throughout. A row covers the days `start <= d < end` (`end` is
exclusive, None = still running). Nothing after the as-of date counts: the daily loop simply
stops at the as-of date, so a row starting later never appears and an end after it is not yet
an end.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from fractions import Fraction
from typing import Literal

Mode = Literal["event", "snapshot"]
Level = Literal["customer", "subscription"]
Scope = Literal["strict", "broad"]
Key = tuple[str, ...]

MONEY_COLUMNS = (
    "opening_mrr",
    "new_mrr",
    "expansion_mrr",
    "reactivation_mrr",
    "contraction_mrr",
    "churned_mrr",
    "net_new_mrr",
    "closing_mrr",
)
MOVEMENT_COLUMN = {
    "new": "new_mrr",
    "expansion": "expansion_mrr",
    "reactivation": "reactivation_mrr",
    "contraction": "contraction_mrr",
    "churn": "churned_mrr",
}
STANDARD_MONTH = Fraction(36525, 1200)  # 30.4375 days
ONE_DAY = timedelta(days=1)


@dataclass(frozen=True)
class Row:
    """One price period of a subscription, its MRR already in minor units."""

    customer_id: str
    subscription_id: str
    start_date: date
    end_date: date | None  # exclusive; None = still running
    mrr: int


@dataclass(frozen=True)
class RefSettings:
    """The same knobs as `mrrcli.engine.timeline.Settings` (months are their first day)."""

    as_of: date
    mode: Mode = "event"
    level: Level = "customer"
    scope: Scope = "strict"
    month_from: date | None = None
    month_to: date | None = None


@dataclass(frozen=True)
class Change:
    """One audit row: a key's MRR moved on `day` (the snapshot day in snapshot mode).

    `day` is the `date` column of `mrrcli customers`.
    """

    key: Key
    day: date
    month: date
    movement: str
    before: int
    after: int
    amount: int


# ---------------------------------------------------------------------------------------------
# Calendar helpers


def month_start(day: date) -> date:
    """The first day of the month of `day`."""
    return day.replace(day=1)


def month_end(day: date) -> date:
    """The last day of the month of `day`."""
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def next_month(first: date) -> date:
    """The first day of the month after the month starting on `first`."""
    return (first.replace(day=28) + timedelta(days=4)).replace(day=1)


def months_between(first: date, last: date) -> list[date]:
    """First days of every month from the month of `first` to the month of `last`, inclusive."""
    months: list[date] = []
    current = month_start(first)
    while current <= month_start(last):
        months.append(current)
        current = next_month(current)
    return months


def days_between(first: date, last: date) -> Iterator[date]:
    """Every day from `first` to `last`, inclusive."""
    day = first
    while day <= last:
        yield day
        day += ONE_DAY


# ---------------------------------------------------------------------------------------------
# MRR per key and day


def key_of(row: Row, level: Level) -> Key:
    """The key a row is classified under: its customer, or its customer and subscription."""
    if level == "customer":
        return (row.customer_id,)
    return (row.customer_id, row.subscription_id)


def mrr_on(rows: Iterable[Row], day: date) -> int:
    """MRR at the end of `day`: the sum of the rows covering it."""
    return sum(
        row.mrr
        for row in rows
        if row.start_date <= day and (row.end_date is None or day < row.end_date)
    )


def rows_by_key(rows: Sequence[Row], level: Level) -> dict[Key, list[Row]]:
    """The rows of each key, keys in sorted order."""
    grouped: dict[Key, list[Row]] = {}
    for row in sorted(rows, key=lambda r: key_of(r, level)):
        grouped.setdefault(key_of(row, level), []).append(row)
    return grouped


def daily_mrr(
    rows: Sequence[Row], settings: RefSettings
) -> tuple[list[date], dict[Key, list[int]]]:
    """Every day from the first row's start to the as-of date, and each key's MRR on each."""
    if not rows:
        return [], {}
    first = min(row.start_date for row in rows)
    days = list(days_between(first, settings.as_of))
    return days, {
        key: [mrr_on(key_rows, day) for day in days]
        for key, key_rows in rows_by_key(rows, settings.level).items()
    }


def snapshot_day(month: date, as_of: date) -> date:
    """The day a month is read in snapshot mode: its last day, or the as-of day in its month."""
    return min(month_end(month), as_of)


# ---------------------------------------------------------------------------------------------
# Classification (§4.2 table, §4.3 snapshot, §4.4 scope)


def classify(before: int, after: int, had_mrr: bool) -> str:
    """The movement of one change, by the table of SPEC §4.2."""
    if before == 0 and after > 0:
        return "reactivation" if had_mrr else "new"
    if before > 0 and after > before:
        return "expansion"
    if before > 0 and 0 < after < before:
        return "contraction"
    if before > 0 and after == 0:
        return "churn"
    raise AssertionError(f"not a change: {before} -> {after}")


def first_paid_day(days: Sequence[date], values: Sequence[int]) -> date | None:
    """The first day the key's MRR is > 0 at the end of the day, if any (up to the as-of date)."""
    return next((day for day, value in zip(days, values, strict=True) if value > 0), None)


def is_conversion(key_rows: Sequence[Row], paid_from: date | None, as_of: date) -> bool:
    """Event mode: a free-to-paid conversion: the key had a row (any MRR, 0 included) before
    it first paid (the first paid day judged day by day). Every row starting before the first
    paid day carried no MRR on any day (a zero-length row spans no day, whatever its price),
    so "its earlier rows all carried 0 MRR" (§4.4) holds; at least one such row must exist.
    """
    if paid_from is None:
        return False
    return any(row.start_date < paid_from and row.start_date <= as_of for row in key_rows)


def is_snapshot_conversion(
    key_rows: Sequence[Row], observations: Sequence[tuple[date, int]]
) -> bool:
    """Snapshot mode (§4.4, settled): a free-to-paid conversion only if a 0-MRR row of the key
    covered the last day of the month before its first month-end with MRR > 0."""
    first = next((day for day, value in observations if value > 0), None)
    if first is None:
        return False
    eve = month_start(first) - ONE_DAY
    return any(
        row.mrr == 0 and row.start_date <= eve and (row.end_date is None or eve < row.end_date)
        for row in key_rows
    )


def _observations(
    days: Sequence[date], values: Sequence[int], settings: RefSettings
) -> list[tuple[date, int]]:
    """The (day, MRR) points compared in this mode: every day, or every month's snapshot day."""
    if settings.mode == "event":
        return list(zip(days, values, strict=True))
    if not days:
        return []
    by_day = dict(zip(days, values, strict=True))
    return [
        (snapshot_day(month, settings.as_of), by_day[snapshot_day(month, settings.as_of)])
        for month in months_between(days[0], settings.as_of)
    ]


def changes(rows: Sequence[Row], settings: RefSettings) -> list[Change]:
    """Every classified change of every key, sorted by key and date."""
    days, values = daily_mrr(rows, settings)
    grouped = rows_by_key(rows, settings.level)
    result: list[Change] = []
    for key, key_values in values.items():
        observations = _observations(days, key_values, settings)
        if settings.mode == "snapshot":
            conversion = is_snapshot_conversion(grouped[key], observations)
        else:
            paid_from = first_paid_day(days, key_values)
            conversion = is_conversion(grouped[key], paid_from, settings.as_of)
        previous = 0
        had_mrr = False
        for day, value in observations:
            if value != previous:
                movement = classify(previous, value, had_mrr)
                if settings.scope == "broad" and (
                    movement == "reactivation" or (movement == "new" and conversion)
                ):
                    movement = "expansion"
                result.append(
                    Change(
                        key=key,
                        day=day,
                        month=month_start(day),
                        movement=movement,
                        before=previous,
                        after=value,
                        amount=abs(value - previous),
                    )
                )
            had_mrr = had_mrr or value > 0
            previous = value
    return result


# ---------------------------------------------------------------------------------------------
# Monthly totals (§5, §7.1 `movements`)


def total_mrr_on(rows: Sequence[Row], day: date, as_of: date) -> int:
    """The MRR of all rows at the end of `day` (0 before anything started; day <= as_of)."""
    assert day <= as_of
    return mrr_on(rows, day)


def first_paying_month(rows: Sequence[Row], settings: RefSettings) -> date | None:
    """The first month with MRR > 0 on any day, in both modes (§5, settled)."""
    days, _ = daily_mrr(rows, settings)
    for day in days:
        if mrr_on(rows, day) > 0:
            return month_start(day)
    return None


def month_days(month: date, as_of: date) -> int:
    """Calendar days of a month, or the days elapsed through the as-of date in its month."""
    if month == month_start(as_of):
        return as_of.day
    return calendar.monthrange(month.year, month.month)[1]


def monthly(rows: Sequence[Row], settings: RefSettings) -> list[dict[str, date | int]]:
    """The movements table: one dict per month with the §7.1 `movements` columns.

    Opening and closing are read off the daily MRR levels directly (not summed from the
    movements), so the movement identity is a real check of this implementation too.
    """
    first = settings.month_from or first_paying_month(rows, settings)
    if first is None:
        return []
    last = settings.month_to or month_start(settings.as_of)
    audit = changes(rows, settings)
    table: list[dict[str, date | int]] = []
    month = first
    while month <= last:
        flows = dict.fromkeys(MOVEMENT_COLUMN.values(), 0)
        for change in audit:
            if change.month == month:
                flows[MOVEMENT_COLUMN[change.movement]] += change.amount
        net_new = (
            flows["new_mrr"]
            + flows["expansion_mrr"]
            + flows["reactivation_mrr"]
            - flows["contraction_mrr"]
            - flows["churned_mrr"]
        )
        table.append(
            {
                "month": month,
                "days": month_days(month, settings.as_of),
                "opening_mrr": total_mrr_on(rows, month - ONE_DAY, settings.as_of),
                **flows,
                "net_new_mrr": net_new,
                "closing_mrr": total_mrr_on(
                    rows, snapshot_day(month, settings.as_of), settings.as_of
                ),
            }
        )
        month = next_month(month)
    return table


# ---------------------------------------------------------------------------------------------
# §3: billing amounts → MRR


def round_half_away(value: Fraction) -> int:
    """Round to the nearest integer, halves away from zero."""
    magnitude = (abs(value) * 2 + 1) // 2
    return int(magnitude if value >= 0 else -magnitude)


def months_of(interval: str, count: int, days_per_month: Fraction = STANDARD_MONTH) -> Fraction:
    """The length of a billing interval in months (§3)."""
    per_interval = {
        "day": 1 / days_per_month,
        "week": 7 / days_per_month,
        "month": Fraction(1),
        "quarter": Fraction(3),
        "year": Fraction(12),
    }[interval]
    return per_interval * count


def periods_mrr(
    amount: Fraction,
    *,
    interval: str = "month",
    interval_count: int = 1,
    quantity: Fraction = Fraction(1),
    discount_percent: Fraction = Fraction(0),
    discount_amount: Fraction = Fraction(0),
    trial: bool = False,
    exponent: int = 2,
) -> int:
    """A `periods` row's MRR in minor units, amounts in major units (§3).

    A discount larger than the price leaves 0, never a negative MRR.
    """
    if trial:
        return 0
    charge = amount * quantity * (1 - discount_percent / 100) - discount_amount
    charge = max(charge, Fraction(0))
    return round_half_away(charge / months_of(interval, interval_count) * 10**exponent)
