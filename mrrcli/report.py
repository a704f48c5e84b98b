"""The library's front door: load an export, compute a report, get a frame to render.

    >>> from datetime import date
    >>> from mrrcli.report import load, movements, Settings
    >>> rows = load(["tests/fixtures/spec_example.csv"])
    >>> movements(rows, Settings(as_of=date(2024, 5, 31))).frame.height
    5

Each report reduces every part of the export to its partial sums (engine.partials), combines
them, and returns a Report whose frame is what every output format shows (present.document).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import date
from typing import Any

import polars as pl

from mrrcli import parts
from mrrcli.engine.cohort_segments import segment_cohorts_table
from mrrcli.engine.cohorts import cohorts_table
from mrrcli.engine.freshness import Freshness
from mrrcli.engine.metrics import (
    all_metrics_table,
    expansion_table,
    metrics_table,
    movements_table,
)
from mrrcli.engine.partials import Combined, Needs, combine
from mrrcli.engine.segment_metrics import (
    segment_all_metrics_table,
    segment_expansion_table,
    segment_metrics_table,
    segment_movements_table,
)
from mrrcli.engine.segments import TRANSFERS
from mrrcli.normalize.periods import Rows
from mrrcli.parts import Ahead, Progress
from mrrcli.present.document import Kind, Report, for_output, partial_month
from mrrcli.validate import Validation, validate_export
from mrrcli.vocabulary import (
    COHORT_METRICS,
    MOVEMENTS,
    Mode,
    Period,
    ReadOptions,
    Settings,
    customers_columns,
)

__all__ = [
    "ReadOptions",
    "Report",
    "Rows",
    "Settings",
    "cohorts",
    "customers",
    "expansion",
    "load",
    "metrics",
    "movements",
    "overview",
    "validate",
]


# What the metrics need of each part besides its flows: customer counts and month-end sums.
METRICS_NEEDS = Needs(counts=True, retention=True)
# A report's plan: the settings and needs of the partial sums it computes of each part.
Plan = tuple[Settings, Needs]


def load(
    paths: Sequence[str],
    options: ReadOptions | None = None,
    ahead: Ahead | None = None,
    progress: Progress | None = None,
    **given: Any,
) -> Rows:
    """Read an export (any source or shape) and compute every row's MRR in minor units.

    Options come as a ReadOptions or as its fields by name (`mapping=`, `currency=`, ...).
    `Rows.notes` holds what the user should be told: the source chosen and why, what the file
    cannot show, and the rows set aside. `ahead` (see the function `ahead`): the one report
    these rows are read for, whose partial sums an export read in parts computes as it goes.
    `progress`: told what a long run is doing (splitting, reading part 3 of 8)."""
    options = replace(options or ReadOptions(), **given)
    return parts.load(paths, options, ahead, progress)


def validate(paths: Sequence[str], options: ReadOptions | None = None, **given: Any) -> Validation:
    """Read an export as `load` does, gathering every problem instead of stopping."""
    return validate_export(paths, replace(options or ReadOptions(), **given))


def for_shape(rows: Rows, settings: Settings) -> Settings:
    """Snapshots hold month-end MRR: they are always compared month end to month end (§2.3)."""
    if rows.shape == "snapshots" and settings.mode == Mode.event:
        return replace(settings, mode=Mode.snapshot)
    return settings


def _report(kind: Kind, frame: pl.DataFrame, rows: Rows, settings: Settings) -> Report:
    shown = for_output(frame, rows.exponent, settings.period, rows.days_per_month)
    return Report(
        kind=kind,
        frame=shown,
        currency=rows.currency,
        exponent=rows.exponent,
        settings=settings,
        files=rows.files,
        days_per_month=float(rows.days_per_month),
        partial_month=partial_month(shown, settings),
        source=rows.source,
        caveat=rows.caveat,
        freshness=freshness(rows, settings),
    )


def _segmented(
    kind: Kind, frame: pl.DataFrame, total: pl.DataFrame, rows: Rows, settings: Settings
) -> Report:
    """A report by segment (§9); `extra["totals"]`: the report without --by, for the total
    line of each month in a table (CSV, JSON and NDJSON hold no total rows)."""
    report = _report(kind, frame, rows, settings)
    report.extra["totals"] = for_output(total, rows.exponent, settings.period, rows.days_per_month)
    report.extra["by"] = rows.by
    return report


def freshness(rows: Rows, settings: Settings) -> Freshness:
    """The export's last day on or before the as-of date, over every part (SPEC §12)."""
    return Freshness(parts.last_day(rows, settings), settings.as_of, settings.max_age)


def _movements_plan(rows: Rows, settings: Settings) -> Plan:
    return for_shape(rows, settings), Needs(segments=rows.by is not None)


def movements(rows: Rows, settings: Settings) -> Report:
    """Monthly movements (§7.1 `movements`)."""
    settings, needs = _movements_plan(rows, settings)
    combined = combine(parts.partials(rows, settings, needs), settings)
    if rows.by is not None:
        table = segment_movements_table(combined)
        return _segmented("movements", table, movements_table(combined), rows, settings)
    return _report("movements", movements_table(combined), rows, settings)


def _expansion_plan(rows: Rows, settings: Settings, top: int = 5) -> Plan:
    return for_shape(rows, settings), Needs(counts=True, leaders=top, segments=rows.by is not None)


def expansion(rows: Rows, settings: Settings, top: int = 5) -> Report:
    """Expansion MRR, its day-normalized value and rate, shares (§7.1 `expansion`).

    `extra["top_expanding"]`: the `top` customers with the most expansion in the last month
    (or period);
    `extra["movements"]`: the movements table, for the chart.
    """
    settings, needs = _expansion_plan(rows, settings, top)
    combined = combine(parts.partials(rows, settings, needs), settings, top)
    return _expansion_report(combined, rows, settings)


def _expansion_report(combined: Combined, rows: Rows, settings: Settings) -> Report:
    table = expansion_table(combined, rows.days_per_month)
    if rows.by is not None:
        segments = segment_expansion_table(combined, rows.days_per_month)
        report = _segmented("expansion", segments, table, rows, settings)
    else:
        report = _report("expansion", table, rows, settings)
    report.extra["movements"] = for_output(
        movements_table(combined), rows.exponent, settings.period
    )
    if combined.leaders is not None:
        leaders = combined.leaders.select("customer_id", "amount", "changes", "month")
        report.extra["top_expanding"] = for_output(leaders, rows.exponent, settings.period)
    return report


def _metrics_plan(rows: Rows, settings: Settings) -> Plan:
    return for_shape(rows, settings), replace(METRICS_NEEDS, segments=rows.by is not None)


def metrics(rows: Rows, settings: Settings) -> Report:
    """Growth, quick ratio, churn rates, NRR/GRR, ARPA, customer counts (§7.1 `metrics`)."""
    settings, needs = _metrics_plan(rows, settings)
    combined = combine(parts.partials(rows, settings, needs), settings)
    if rows.by is not None:
        table = segment_metrics_table(combined)
        return _segmented("metrics", table, metrics_table(combined), rows, settings)
    return _report("metrics", metrics_table(combined), rows, settings)


def overview(rows: Rows, settings: Settings, top: int = 5) -> tuple[Report, Report, Report]:
    """The movements, expansion and metrics reports of one run, from one pass over the rows
    (the one-page report): the very tables `movements`, `expansion` and `metrics` return, built
    from one set of partial sums holding what all three need."""
    settings = for_shape(rows, settings)
    needs = replace(METRICS_NEEDS, leaders=top)
    combined = combine(parts.partials(rows, settings, needs), settings, top)
    return (
        _report("movements", movements_table(combined), rows, settings),
        _expansion_report(combined, rows, settings),
        _report("metrics", metrics_table(combined), rows, settings),
    )


def all_metrics(rows: Rows, settings: Settings) -> Report:
    """Movements, expansion and metrics columns side by side, one row per month (for check)."""
    settings, needs = _metrics_plan(rows, settings)
    combined = combine(parts.partials(rows, settings, needs), settings)
    if rows.by is not None:
        table = segment_all_metrics_table(combined, rows.days_per_month)
        return _report("metrics", table, rows, settings)
    return _report("metrics", all_metrics_table(combined, rows.days_per_month), rows, settings)


def customers(
    rows: Rows,
    settings: Settings,
    *,
    month: str | None = None,
    movement: str | None = None,
    customer: str | None = None,
) -> Report:
    """Every movement per customer and day, the audit trail (§7.1 `customers`).

    Optional filters: a month `YYYY-MM`, a movement name, a customer id (`settings.period` does
    not apply: months stay calendar months). Sorted by date, then
    amount (largest first); with a month, by amount (largest first), then date.
    """
    if movement is not None and movement not in (*MOVEMENTS, *TRANSFERS):
        raise ValueError(f"unknown movement {movement!r}")
    # Its rows are days; --period leaves their calendar months as they are.
    settings = replace(for_shape(rows, settings), period=Period.month)
    needs = Needs(audit=True, segments=rows.by is not None)
    combined = combine(parts.partials(rows, settings, needs), settings)
    assert combined.audit is not None
    columns = customers_columns(settings.level)
    audit = combined.audit
    if combined.segments is not None:
        assert combined.segments.audit is not None
        audit = combined.segments.audit
        after = columns.index("customer_id") + 1 + (settings.level == "subscription")
        columns = (*columns[:after], "segment", *columns[after:])
    changes = audit.filter(_audit_filter(settings, month, movement, customer))
    keys = [*settings.keys, *(["segment", "movement"] if combined.segments else [])]
    if month is not None:
        # One month's drill-down answers "who, and by how much": largest amounts first.
        order = ["amount", "date", *keys]
        descending = [True, False] + [False] * len(keys)
    else:
        order = ["date", "amount", *keys]
        descending = [False, True] + [False] * len(keys)
    table = changes.sort(order, descending=descending).select(columns)
    return _report("customers", table, rows, settings)


def _audit_filter(
    settings: Settings, month: str | None, movement: str | None, customer: str | None
) -> pl.Expr:
    """The changes the customers report keeps: its months and the filters given."""
    keep = pl.lit(True)
    if settings.month_from is not None:
        keep &= pl.col("month") >= pl.lit(settings.month_from)
    if settings.month_to is not None:
        keep &= pl.col("month") <= pl.lit(settings.month_to)
    if month is not None:
        keep &= pl.col("month").dt.strftime("%Y-%m") == month
    if movement is not None:
        keep &= pl.col("movement") == movement
    if customer is not None:
        keep &= pl.col("customer_id") == customer
    return keep


def cohorts(rows: Rows | Sequence[str], settings: Settings, metric: str = "nrr") -> Report:
    """Retention by cohort (the month each customer first paid) and age (§10): a row per
    cohort and age, then a weighted-average row per age (`cohort = all`).

    `rows`: loaded Rows, or paths to load. `metric` (nrr, grr, logo, mrr) is what the terminal
    triangle shows (`extra["metric"]`, a column of the frame); the frame holds every column.
    Cohorts before `settings.month_from` are left out; cells stop at `settings.month_to`.
    Cohorts and ages are calendar months: `settings.period` does not apply. Rows loaded
    with `by` give a row per cohort, segment and age (the segment each key started in).
    """
    if metric not in COHORT_METRICS:
        raise ValueError(f"unknown cohort metric {metric!r}: one of {', '.join(COHORT_METRICS)}")
    if not isinstance(rows, Rows):
        rows = load(list(rows))
    settings, needs = _cohorts_plan(rows, settings)
    combined = combine(parts.partials(rows, settings, needs), settings)
    return _cohorts_report(combined, rows, settings, metric, rows.by is not None)


def _cohorts_plan(rows: Rows, settings: Settings, metric: str = "nrr") -> Plan:
    # (`metric` only chooses what the triangle shows: every part's sums are the same)
    segmented = rows.by is not None
    needs = Needs(cohorts=True, cohort_segments=segmented)
    return replace(for_shape(rows, settings), period=Period.month), needs


# The reports that compute one partial per part, each with its plan (see ahead).
PLANS: dict[Callable[..., Report], Callable[..., Plan]] = {
    movements: _movements_plan,
    expansion: _expansion_plan,
    metrics: _metrics_plan,
    cohorts: _cohorts_plan,
}


def ahead(build: Callable[..., Report], settings: Settings, **filters: Any) -> Ahead | None:
    """What `build(rows, settings, **filters)` will ask of each part of an export read in
    parts, for `load(..., ahead=)`: each part's partial sums are then computed as it is read,
    and its rows are not kept (nor written to disk). None for a report that asks more."""
    plan = PLANS.get(build)
    if plan is None:
        return None
    return lambda piece: plan(piece, settings, **filters)


def _cohorts_report(
    combined: Combined, rows: Rows, settings: Settings, metric: str, segmented: bool = False
) -> Report:
    if segmented:
        table = segment_cohorts_table(
            combined.cohorts, combined.cohort_segments, combined.movements, settings
        )
    else:
        table = cohorts_table(combined.cohorts, combined.movements, settings)
    report = _report("cohorts", table, rows, settings)
    report.extra["metric"] = COHORT_METRICS[metric]
    if segmented:
        report.extra["by"] = rows.by
    return report


def page_reports(
    rows: Rows, settings: Settings, top: int = 5
) -> tuple[Report, Report, Report, Report]:
    """`overview` and the cohorts report of one run (the one-page report). By month, all four
    come from one pass over the rows; by quarter or year the cohorts (always by month) take a
    second pass."""
    settings = for_shape(rows, settings)
    if settings.period != Period.month:
        return (*overview(rows, settings, top), cohorts(rows, settings))
    needs = replace(METRICS_NEEDS, leaders=top, cohorts=True)
    combined = combine(parts.partials(rows, settings, needs), settings, top)
    return (
        _report("movements", movements_table(combined), rows, settings),
        _expansion_report(combined, rows, settings),
        _report("metrics", metrics_table(combined), rows, settings),
        _cohorts_report(combined, rows, settings, "nrr"),
    )


def first_paying_day(rows: Rows) -> date | None:
    """The first day on which any row carries MRR (None when none does)."""
    return rows.first_paying_day()


def has_customer(rows: Rows, customer: str) -> bool:
    """Whether any row of the export is `customer`'s (ids compared after stripping spaces)."""
    return any(
        bool(p.frame.select((pl.col("customer_id") == customer.strip()).any()).item())
        for p in rows.pieces()
        if p.frame.height
    )
