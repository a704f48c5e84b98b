"""A plain second implementation of the cohort cells (SPEC §10), for property tests.

No Polars: every key's MRR on every day comes from `reference.daily_mrr` (the sum of the rows
covering the day), its cohort is the month of its first observation with MRR > 0 (every day in
event mode, every month end in snapshot mode), and each cell is read off directly: the members'
MRR on the month's snapshot day, their MRR capped at their first paid MRR, the members paying
then, and the amounts of their classified changes (`reference.changes`) in the month. The
engine builds the same cells from running sums of changes; the two must agree exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from fractions import Fraction
from typing import Any

from reference import (
    MOVEMENT_COLUMN,
    Key,
    RefSettings,
    Row,
    changes,
    daily_mrr,
    key_of,
    month_end,
    month_start,
    months_between,
    mrr_on,
    round_half_away,
    snapshot_day,
)

FLOWS = tuple(MOVEMENT_COLUMN.values())


def _first_paid(days: Sequence[date], values: Sequence[int], settings: RefSettings) -> date | None:
    """The day of a key's first observation with MRR > 0: a day, or a snapshot day."""
    by_day = dict(zip(days, values, strict=True))
    if settings.mode == "event":
        return next((d for d, v in zip(days, values, strict=True) if v > 0), None)
    for month in months_between(days[0], settings.as_of):
        day = snapshot_day(month, settings.as_of)
        if by_day[day] > 0:
            return day
    return None


def _ratio(numerator: int, denominator: int) -> float | None:
    """The exact quotient rounded to 6 places, half away from zero (never a float's round,
    which rounds a decimal tie by the float's binary error)."""
    if denominator == 0:
        return None
    return round_half_away(Fraction(numerator * 10**6, denominator)) / 10**6


def _first_segment(key_rows: Sequence[tuple[Row, str]], day: date) -> str:
    """The segment of most of the key's MRR at the end of `day` (its first paying day), ties
    to the first in sort order."""
    mrr: dict[str, int] = {}
    for row, segment in key_rows:
        mrr[segment] = mrr.get(segment, 0) + mrr_on([row], day)
    return min(mrr, key=lambda segment: (-mrr[segment], segment))


def cohort_rows(
    rows: Sequence[Row], settings: RefSettings, segments: Sequence[str] | None = None
) -> list[dict[str, Any]]:
    """The cohorts report: a dict per cohort and age (`cohort` as YYYY-MM), then the `all`
    rows per age; money in minor units. With `segments` (one per row), a `segment` key: the
    segment of most of each key's MRR on its first paying day, and the rows per cohort,
    segment and age, then the `all` rows per segment and age."""
    days, values = daily_mrr(rows, settings)
    if not days:
        return []
    last = settings.month_to or month_start(settings.as_of)
    by_day = {key: dict(zip(days, v, strict=True)) for key, v in values.items()}
    labels = segments if segments is not None else [""] * len(rows)
    rows_of: dict[Key, list[tuple[Row, str]]] = {}
    for row, label in zip(rows, labels, strict=True):
        rows_of.setdefault(key_of(row, settings.level), []).append((row, label))
    group: dict[Key, tuple[date, str]] = {}  # the key's cohort and segment
    base: dict[Key, int] = {}
    for key, key_values in values.items():
        first = _first_paid(days, key_values, settings)
        if first is not None and month_start(first) <= last:
            group[key] = (month_start(first), _first_segment(rows_of[key], first))
            base[key] = by_day[key][first]
    audit = changes(rows, settings)
    partial = None
    if settings.as_of != month_end(settings.as_of) and last == month_start(settings.as_of):
        partial = last
    table: list[dict[str, Any]] = []
    for start, segment in sorted(set(group.values())):
        if settings.month_from is not None and start < settings.month_from:
            continue
        members = [key for key in sorted(group) if group[key] == (start, segment)]
        customers = {key[0] for key in members}
        for age, month in enumerate(months_between(start, last)):
            day = snapshot_day(month, settings.as_of)
            mrr = {key: by_day[key][day] for key in members}
            paying = {c for c in customers if sum(mrr[k] for k in members if k[0] == c) > 0}
            flows = dict.fromkeys(FLOWS, 0)
            for change in audit:
                if change.key in members and change.month == month:
                    flows[MOVEMENT_COLUMN[change.movement]] += change.amount
            table.append(
                {
                    "cohort": start.strftime("%Y-%m"),
                    **({"segment": segment} if segments is not None else {}),
                    "age": age,
                    "month": month,
                    "partial": month == partial,
                    "customers_new": len(customers),
                    "base_mrr": sum(base[k] for k in members),
                    "customers_active": len(paying),
                    "mrr": sum(mrr.values()),
                    **flows,
                    "_capped": sum(min(base[k], mrr[k]) for k in members),
                }
            )
    table += _averages(table, segments is not None)
    for row in table:
        row["logo_retention"] = _ratio(row["customers_active"], row["customers_new"])
        row["nrr"] = _ratio(row["mrr"], row["base_mrr"])
        row["grr"] = _ratio(row.pop("_capped"), row["base_mrr"])
    return table


def _averages(table: list[dict[str, Any]], segmented: bool) -> list[dict[str, Any]]:
    """Per age (per segment and age), the sums over the cohorts whose month at that age is
    complete."""
    summed = ("customers_new", "base_mrr", "customers_active", "mrr", *FLOWS, "_capped")
    averages: list[dict[str, Any]] = []
    groups = sorted({(row.get("segment", ""), row["age"]) for row in table})
    for segment, age in groups:
        complete = [
            row
            for row in table
            if row["age"] == age and row.get("segment", "") == segment and not row["partial"]
        ]
        if not complete:
            continue
        average: dict[str, Any] = {"cohort": "all"}
        if segmented:
            average["segment"] = segment
        average.update(age=age, month=None, partial=False)
        for column in summed:
            average[column] = sum(row[column] for row in complete)
        averages.append(average)
    return averages
