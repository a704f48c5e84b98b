"""Classified changes → monthly movement totals, with the identity checked (SPEC §4, §5).

Money stays in Int64 minor units here; renderers turn it into major units.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from mrrcli.engine.timeline import KeyCollision, Settings, classified_changes

MOVEMENT_COLUMNS = {
    "new": "new_mrr",
    "expansion": "expansion_mrr",
    "reactivation": "reactivation_mrr",
    "contraction": "contraction_mrr",
    "churn": "churned_mrr",
}
MOVEMENTS_COLUMNS = (
    "month",
    "days",
    "opening_mrr",
    "new_mrr",
    "expansion_mrr",
    "reactivation_mrr",
    "contraction_mrr",
    "churned_mrr",
    "net_new_mrr",
    "closing_mrr",
)


class IdentityError(AssertionError):
    """The movement identity failed: a bug in mrrcli, never a property of the data."""


def month_start(day: date) -> date:
    return day.replace(day=1)


def month_spine(first: date, last: date, as_of: date) -> pl.DataFrame:
    """`month` (first day) and `days`: calendar days, or the days elapsed in the as-of month."""
    months = pl.date_range(first, last, interval="1mo", eager=True).alias("month")
    frame = months.to_frame()
    return frame.with_columns(
        pl.when(pl.col("month") == pl.lit(month_start(as_of)))
        .then(pl.lit(as_of.day))
        .otherwise(pl.col("month").dt.month_end().dt.day())
        .cast(pl.Int64)
        .alias("days")
    )


def report_months(changes: pl.DataFrame, settings: Settings) -> tuple[date, date] | None:
    """The first and last month reported; None when nothing ever paid and no --from was given."""
    last = settings.month_to or month_start(settings.as_of)
    if settings.month_from is not None:
        first = settings.month_from
    elif changes.height:
        first = changes.get_column("month").min()  # type: ignore[assignment]
    else:
        return None
    return first, last


def monthly_totals(changes: pl.DataFrame, settings: Settings) -> pl.DataFrame:
    """The movements report (§7.1 columns) from classified changes; money in minor units."""
    span = report_months(changes, settings)
    if span is None:
        return pl.DataFrame(
            schema={c: pl.Date if c == "month" else pl.Int64 for c in MOVEMENTS_COLUMNS}
        )
    first, last = span
    per_month = changes.group_by("month").agg(
        *(
            pl.col("amount").filter(pl.col("movement") == movement).sum().alias(column)
            for movement, column in MOVEMENT_COLUMNS.items()
        ),
        pl.col("delta").sum().alias("net_new_mrr"),
    )
    # Everything before the first reported month only moves its opening MRR.
    earliest = min(first, changes.get_column("month").min() or first)  # type: ignore[type-var]
    spine = month_spine(earliest, last, settings.as_of)  # type: ignore[arg-type]
    table = (
        spine.join(per_month, on="month", how="left")
        .with_columns(pl.exclude("month", "days").fill_null(0))
        .sort("month")
        .with_columns(pl.col("net_new_mrr").cum_sum().alias("closing_mrr"))
        .with_columns((pl.col("closing_mrr") - pl.col("net_new_mrr")).alias("opening_mrr"))
        .filter(pl.col("month") >= pl.lit(first))
        .select(MOVEMENTS_COLUMNS)
    )
    check_identity(table)
    return table


def check_identity(table: pl.DataFrame) -> None:
    """opening + new + expansion + reactivation − contraction − churned = closing, every month."""
    if table.height == 0:
        return
    broken = table.filter(
        pl.col("opening_mrr")
        + pl.col("new_mrr")
        + pl.col("expansion_mrr")
        + pl.col("reactivation_mrr")
        - pl.col("contraction_mrr")
        - pl.col("churned_mrr")
        != pl.col("closing_mrr")
    )
    if broken.height:
        raise IdentityError(f"movement identity fails in {broken.get_column('month')[0]}")


def compute_changes(
    rows: pl.DataFrame | pl.LazyFrame, settings: Settings, ids: bool = True
) -> pl.DataFrame:
    """Classified changes (see timeline.classified_changes), collected; with the id columns
    when `ids`. Raises IdentityError if two ids ever shared a hash key."""
    lazy = rows.lazy() if isinstance(rows, pl.DataFrame) else rows
    try:
        return classified_changes(lazy, settings, ids)
    except KeyCollision as error:
        raise IdentityError(str(error)) from None


def monthly_movements(rows: pl.DataFrame | pl.LazyFrame, settings: Settings) -> pl.DataFrame:
    """Rows with MRR (see normalize.Rows.frame) → the monthly movements, minor units."""
    return monthly_totals(compute_changes(rows, settings, ids=False), settings)
