"""The library's front door: load an export, compute a report, get a frame to render.

    >>> from datetime import date
    >>> from mrrcli.report import load, movements, Settings
    >>> rows = load(["tests/fixtures/spec_example.csv"])
    >>> movements(rows, Settings(as_of=date(2024, 5, 31))).frame.height
    5

A Report's frame is what every output format shows: months as `YYYY-MM`, money as Decimal in
major units with the currency's decimals, ratios as Float64 rounded to 6 places.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from fractions import Fraction
from typing import Any, Literal

import polars as pl

from mrrcli import __version__
from mrrcli.engine.metrics import RATIO_DECIMALS, expansion_table, metrics_table, needs_month_ends
from mrrcli.engine.timeline import CUSTOMER, MOVEMENTS, Settings, customer_ids
from mrrcli.engine.totals import compute_changes, monthly_totals
from mrrcli.errors import InputError
from mrrcli.normalize.periods import (
    MAX_TOTAL_MRR,
    NormalizeOptions,
    Rows,
    normalize_periods,
    read_fx,
)
from mrrcli.read.dates import DateParsing
from mrrcli.read.files import Partition, expand_paths, is_parquet
from mrrcli.read.problems import Findings
from mrrcli.sources.inputs import for_source, open_input, partition_column, to_periods
from mrrcli.validate import Validation
from mrrcli.validate import validate as validate_export
from mrrcli.vocabulary import STANDARD_DAYS_PER_MONTH

__all__ = ["Report", "Rows", "Settings", "customers", "expansion", "load", "metrics", "movements"]

CUSTOMERS_COLUMNS = (
    "date",
    "month",
    "customer_id",
    "movement",
    "mrr_before",
    "mrr_after",
    "amount",
)
MONEY_COLUMNS = frozenset(
    {
        "opening_mrr",
        "new_mrr",
        "expansion_mrr",
        "reactivation_mrr",
        "contraction_mrr",
        "churned_mrr",
        "net_new_mrr",
        "closing_mrr",
        "arpa",
        "mrr_before",
        "mrr_after",
        "amount",
    }
)
RATIO_COLUMNS = frozenset(
    {
        "expansion_rate",
        "expansion_pct_of_opening",
        "expansion_to_new",
        "mrr_growth_rate",
        "quick_ratio",
        "gross_mrr_churn_rate",
        "net_mrr_churn_rate",
        "nrr",
        "grr",
    }
)

# Flows per standard month, computed in minor units and shown in major units.
DAYNORM_COLUMNS = frozenset({"expansion_mrr_daynorm"})

Kind = Literal["movements", "expansion", "metrics", "customers"]


@dataclass
class Report:
    """A computed report: the frame to show and what it was computed from."""

    kind: Kind
    frame: pl.DataFrame
    currency: str
    exponent: int
    settings: Settings
    files: list[str]
    partial_month: str | None = None  # YYYY-MM of a month-to-date month, if reported
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def meta(self) -> dict[str, Any]:
        s = self.settings
        meta: dict[str, Any] = {
            "report": self.kind,
            "inputs": self.files,
            "as_of": s.as_of.isoformat(),
            "currency": self.currency,
            "mode": s.mode,
            "level": s.level,
            "expansion_scope": s.scope,
            "days_per_month": float(s.days_per_month),
            "from": s.month_from.strftime("%Y-%m") if s.month_from else None,
            "to": s.month_to.strftime("%Y-%m") if s.month_to else None,
            "partial_month": self.partial_month,
            "mrrcli_version": __version__,
        }
        return meta


# Exports of more rows than this are read in parts of about PART_ROWS rows, by customer, so
# that memory stays bounded (each part is normalized and classified on its own; monthly totals
# add up). MRRCLI_WHOLE_ROWS lowers it on a machine with less memory.
WHOLE_ROWS = 30_000_000
PART_ROWS = 12_000_000


def load(
    paths: Sequence[str],
    *,
    source: str = "auto",
    mapping: Mapping[str, str] | None = None,
    currency: str | None = None,
    amount_unit: Literal["major", "minor"] | None = None,
    days_per_month: Fraction = STANDARD_DAYS_PER_MONTH,
    timezone: str = "UTC",
    date_format: str | None = None,
    fx: str | None = None,
    keep_duplicates: bool = False,
    parts: int | None = None,
) -> Rows:
    """Read an export (any source or shape) and compute every row's MRR in minor units.

    `Rows.notes` holds what the user should be told: the source chosen and why, what the file
    cannot show, and the rows set aside. `parts`: read the export in that many parts by
    customer (default: one, or enough to keep each near PART_ROWS rows when the export has
    more than WHOLE_ROWS rows and can be split — see inputs.partition_column).
    """
    options = _options(currency, days_per_month, timezone, date_format, fx)
    count = parts if parts is not None else _auto_parts(paths)
    column = partition_column(paths, source, mapping) if count > 1 else None
    if column is None:
        return _load(paths, source, mapping, keep_duplicates, options, amount_unit, None)
    partitions = [Partition(i, count, column) for i in range(count)]
    pieces = [
        _load(paths, source, mapping, keep_duplicates, options, amount_unit, p) for p in partitions
    ]
    if len({p.currency for p in pieces if p.frame.height}) > 1 and fx and not currency:
        # Parts chose different reporting currencies; the whole export holds several, and
        # with rates it is reported in USD, as when read whole.
        options = replace(options, reporting_currency="USD")
        pieces = [
            _load(paths, source, mapping, keep_duplicates, options, amount_unit, p)
            for p in partitions
        ]
    return _joined([p for p in pieces if p.frame.height] or pieces[:1])


def _auto_parts(paths: Sequence[str]) -> int:
    """How many parts to read an export in: by its number of rows (estimated for CSV)."""
    whole = int(os.environ.get("MRRCLI_WHOLE_ROWS", WHOLE_ROWS))
    rows = 0
    for path in expand_paths(paths):
        if path == "-":
            return 1
        if is_parquet(path):
            try:
                rows += pl.scan_parquet(path).select(pl.len()).collect().item()
            except (pl.exceptions.PolarsError, OSError):
                return 1  # read whole: reading it says what is wrong, with the file's name
        else:
            with open(path, "rb") as handle:
                sample = handle.read(1 << 20)
            lines = max(sample.count(b"\n"), 1)
            rows += os.path.getsize(path) * lines // max(len(sample), 1)
    if rows <= whole:
        return 1
    return -(-rows // min(PART_ROWS, whole))


def _load(
    paths: Sequence[str],
    source: str,
    mapping: Mapping[str, str] | None,
    keep_duplicates: bool,
    reading: NormalizeOptions,
    amount_unit: Literal["major", "minor"] | None,
    partition: Partition | None,
) -> Rows:
    inp = open_input(paths, source, mapping, keep_duplicates, partition)
    if partition is not None and inp.table.frame.height == 0:
        # No customer of this part: nothing to normalize (the caller drops the part).
        return Rows(frame=pl.DataFrame(), currency="", exponent=0, files=inp.table.files)
    options = for_source(inp, reading, amount_unit)
    findings = Findings(inp.table)
    table = to_periods(inp, options.dates, findings)
    rows = normalize_periods(table, options, findings)
    rows.shape = inp.source.shape
    rows.source = inp.source.name
    rows.read = inp.read
    rows.set_aside = {reason: n for reason, n in inp.set_aside.items() if n}
    rows.notes = inp.notes + [f"{n:,} {reason} set aside" for reason, n in inp.set_aside.items()]
    if partition is not None:
        # Parts are all held until the report is done: keep only what reports use.
        rows.frame = rows.frame.drop("plan_id")
    return rows


def _joined(parts: list[Rows]) -> Rows:
    """Parts of one export as one Rows: they must agree on the reporting currency and on how
    dates are read, and their MRR must add up within the bounds of one export."""
    files = ", ".join(parts[0].files)
    orders = set().union(*(p.date_orders for p in parts)) & {"mdy", "dmy"}
    if len(orders) > 1:
        raise InputError(
            f"{files}: numeric dates are day-first in some rows and month-first in others; "
            "give --date-format"
        )
    total = sum(
        p.frame.select(pl.col("mrr").cast(pl.Int128).sum()).item() or 0
        for p in parts
        if p.frame.height
    )
    if total > MAX_TOTAL_MRR:
        raise InputError(
            f"{files}: the MRR of all rows together ({total:,} minor units) is too large to add "
            "up exactly; check the amount unit (--amount-unit) and quantities"
        )
    currencies = sorted({p.currency for p in parts if p.frame.height})
    if len(currencies) > 1:
        raise InputError(
            f"{files}: the data holds several currencies "
            f"({', '.join(currencies)}) and no --fx rates; currencies are never added together "
            "or converted without rates: give --fx rates.csv (date,currency,rate)"
        )
    first = next((p for p in parts if p.frame.height), parts[0])
    set_aside: dict[str, int] = {}
    for part in parts:
        for reason, n in part.set_aside.items():
            set_aside[reason] = set_aside.get(reason, 0) + n
    said = {f"{n:,} {reason} set aside" for p in parts for reason, n in p.set_aside.items()}
    notes = list(dict.fromkeys(n for p in parts for n in p.notes if n not in said))
    notes.append(f"read in {len(parts)} parts by customer ({len(parts[0].files)} file(s))")
    return Rows(
        frame=first.frame.clear(),
        currency=first.currency,
        exponent=first.exponent,
        files=first.files,
        read=sum(p.read for p in parts),
        duplicates=sum(p.duplicates for p in parts),
        trial_rows=sum(p.trial_rows for p in parts),
        zero_rows=sum(p.zero_rows for p in parts),
        notes=notes + [f"{n:,} {reason} set aside" for reason, n in set_aside.items()],
        shape=first.shape,
        source=first.source,
        set_aside=set_aside,
        parts=parts,
    )


def _options(
    currency: str | None,
    days_per_month: Fraction,
    timezone: str,
    date_format: str | None,
    fx: str | None,
) -> NormalizeOptions:
    """The reading options the user gave (the source adds its own in inputs.for_source)."""
    return NormalizeOptions(
        currency=currency,
        days_per_month=days_per_month,
        dates=DateParsing(date_format=date_format, timezone=timezone),
        fx=read_fx(fx, DateParsing(timezone=timezone)) if fx else None,
    )


def validate(
    paths: Sequence[str],
    *,
    source: str = "auto",
    mapping: Mapping[str, str] | None = None,
    currency: str | None = None,
    amount_unit: Literal["major", "minor"] | None = None,
    days_per_month: Fraction = STANDARD_DAYS_PER_MONTH,
    timezone: str = "UTC",
    date_format: str | None = None,
    fx: str | None = None,
    keep_duplicates: bool = False,
) -> Validation:
    """Read an export as `load` does, gathering every problem instead of stopping."""
    options = _options(currency, days_per_month, timezone, date_format, fx)
    return validate_export(
        list(paths), options, dict(mapping or {}), keep_duplicates, source, amount_unit
    )


def minor_to_major(column: str, exponent: int) -> pl.Expr:
    """Integer minor units → an exact Decimal in major units (12345 → 123.45 for USD).

    Multiplying a whole Decimal by 10^-exponent is exact: the scales add up."""
    whole = pl.col(column).cast(pl.Decimal(38, 0))
    if exponent == 0:
        return whole.alias(column)
    unit = pl.lit(Decimal(1).scaleb(-exponent), dtype=pl.Decimal(38, exponent))
    major: pl.Expr = (whole * unit).cast(pl.Decimal(38, exponent))
    return major.alias(column)


def _formatted_dates(frame: pl.DataFrame, column: str, pattern: str) -> pl.Expr:
    """Dates as text, formatted once per distinct date (a report has few of them)."""
    days = frame.get_column(column).unique().drop_nulls()
    text = days.dt.strftime(pattern)
    return pl.col(column).replace_strict(days, text, default=None, return_dtype=pl.String)


def _present(frame: pl.DataFrame, exponent: int) -> pl.DataFrame:
    """Months as YYYY-MM, days as YYYY-MM-DD, money in major units."""
    conversions: list[pl.Expr] = []
    for column, dtype in frame.schema.items():
        if column in MONEY_COLUMNS:
            conversions.append(minor_to_major(column, exponent))
        elif column in DAYNORM_COLUMNS:
            conversions.append((pl.col(column) / 10**exponent).round(RATIO_DECIMALS))
        elif column == "month" and dtype == pl.Date:
            conversions.append(_formatted_dates(frame, column, "%Y-%m"))
        elif column == "date" and dtype == pl.Date:
            conversions.append(_formatted_dates(frame, column, "%Y-%m-%d"))
    return frame.with_columns(conversions)


def _partial_month(frame: pl.DataFrame, settings: Settings) -> str | None:
    """The reported month that ends after the as-of date (a month-to-date month), if any."""
    if "month" not in frame.columns or frame.height == 0:
        return None
    as_of = settings.as_of
    month = as_of.strftime("%Y-%m")
    last_day = pl.Series([as_of]).dt.month_end()[0]
    if as_of == last_day:
        return None
    months = frame.get_column("month")
    return month if month in months.to_list() else None


def _report(kind: Kind, frame: pl.DataFrame, rows: Rows, settings: Settings) -> Report:
    shown = _present(frame, rows.exponent)
    return Report(
        kind=kind,
        frame=shown,
        currency=rows.currency,
        exponent=rows.exponent,
        settings=settings,
        files=rows.files,
        partial_month=_partial_month(shown, settings),
    )


def _changes(
    rows: Rows, settings: Settings, ids: bool = False, columns: Sequence[str] | None = None
) -> pl.DataFrame:
    """Classified changes (only `columns`, when given); of each part in turn for an export
    read in parts (a customer's changes depend only on its own rows, and every total is a
    sum over customers)."""
    pieces = []
    for part in rows.pieces():
        changes = compute_changes(part.frame.lazy(), settings, ids)
        pieces.append(changes.select(columns) if columns is not None else changes)
    return pieces[0] if len(pieces) == 1 else pl.concat(pieces)


# What monthly totals need of the changes (all a `movements` report keeps of each part).
TOTALS_COLUMNS = ("month", "movement", "amount", "delta")


def _month_ends(rows: Rows, settings: Settings, changes: pl.DataFrame) -> pl.DataFrame:
    """Customer-level month-end changes for cohorts and counts (see metrics_table)."""
    if not needs_month_ends(settings):
        return changes
    snapshot = replace(settings, mode="snapshot", level="customer", scope="strict")
    return _changes(rows, snapshot)


def for_shape(rows: Rows, settings: Settings) -> Settings:
    """Snapshots hold month-end MRR: they are always compared month end to month end (§2.3)."""
    if rows.shape == "snapshots" and settings.mode == "event":
        return replace(settings, mode="snapshot")
    return settings


def movements(rows: Rows, settings: Settings) -> Report:
    """Monthly movements (§7.1 `movements`)."""
    settings = for_shape(rows, settings)
    changes = _changes(rows, settings, columns=TOTALS_COLUMNS)
    return _report("movements", monthly_totals(changes, settings), rows, settings)


def expansion(rows: Rows, settings: Settings, top: int = 5) -> Report:
    """Expansion MRR, its day-normalized value and rate, shares (§7.1 `expansion`).

    `extra["top_expanding"]`: the `top` customers with the most expansion in the last month;
    `extra["movements"]`: the movements table, for the chart.
    """
    settings = for_shape(rows, settings)
    changes = _changes(rows, settings)
    report = _report("expansion", expansion_table(changes, settings), rows, settings)
    movements_frame = monthly_totals(changes, settings)
    report.extra["movements"] = _present(movements_frame, rows.exponent)
    if movements_frame.height:
        last = movements_frame.get_column("month").max()
        expanded = (
            changes.filter((pl.col("month") == last) & (pl.col("movement") == "expansion"))
            .group_by(CUSTOMER)
            .agg(pl.col("amount").sum(), pl.len().alias("changes"))
        )
        # Only the leaders need their ids: those at or above the top-th amount (ties decide
        # by id), looked up among the rows of these customers only.
        if expanded.height > top:
            cutoff = expanded.get_column("amount").sort(descending=True)[top - 1]
            expanded = expanded.filter(pl.col("amount") >= cutoff)
        leading = expanded.get_column(CUSTOMER).implode()
        names = pl.concat(
            customer_ids(p.frame.lazy(), settings, among=leading).collect() for p in rows.pieces()
        )
        leaders = (
            expanded.join(names, on=CUSTOMER, how="left")
            .sort(["amount", "customer_id"], descending=[True, False])
            .head(top)
            .with_columns(pl.lit(last).alias("month"))
            .select("customer_id", "amount", "changes", "month")
        )
        report.extra["top_expanding"] = _present(leaders, rows.exponent)
    return report


def metrics(rows: Rows, settings: Settings) -> Report:
    """Growth, quick ratio, churn rates, NRR/GRR, ARPA, customer counts (§7.1 `metrics`)."""
    settings = for_shape(rows, settings)
    changes = _changes(rows, settings)
    table = metrics_table(changes, settings, _month_ends(rows, settings, changes))
    return _report("metrics", table, rows, settings)


def all_metrics(rows: Rows, settings: Settings) -> Report:
    """Movements, expansion and metrics columns side by side, one row per month (for check)."""
    settings = for_shape(rows, settings)
    changes = _changes(rows, settings)
    table = monthly_totals(changes, settings)
    for extra in (
        expansion_table(changes, settings),
        metrics_table(changes, settings, _month_ends(rows, settings, changes)),
    ):
        new_columns = [c for c in extra.columns if c not in table.columns]
        table = table.join(extra.select("month", *new_columns), on="month", how="left")
    return _report("metrics", table.sort("month"), rows, settings)


def customers(
    rows: Rows,
    settings: Settings,
    *,
    month: str | None = None,
    movement: str | None = None,
    customer: str | None = None,
) -> Report:
    """Every movement per customer and day, the audit trail (§7.1 `customers`).

    Optional filters: a month `YYYY-MM`, a movement name, a customer id. Sorted by date, then
    amount (largest first); with a month, by amount (largest first), then date.
    """
    settings = for_shape(rows, settings)
    changes = _changes(rows, settings, ids=True)
    first = settings.month_from
    last = settings.month_to
    if first is not None:
        changes = changes.filter(pl.col("month") >= pl.lit(first))
    if last is not None:
        changes = changes.filter(pl.col("month") <= pl.lit(last))
    if month is not None:
        changes = changes.filter(pl.col("month").dt.strftime("%Y-%m") == month)
    if movement is not None:
        if movement not in MOVEMENTS:
            raise ValueError(f"unknown movement {movement!r}")
        changes = changes.filter(pl.col("movement") == movement)
    if customer is not None:
        changes = changes.filter(pl.col("customer_id") == customer)
    columns = list(CUSTOMERS_COLUMNS)
    if settings.level == "subscription":
        columns.insert(3, "subscription_id")
    keys = settings.keys
    if month is not None:
        # One month's drill-down answers "who, and by how much": largest amounts first.
        order = ["amount", "date", *keys]
        descending = [True, False] + [False] * len(keys)
    else:
        order = ["date", "amount", *keys]
        descending = [False, True] + [False] * len(keys)
    table = changes.sort(order, descending=descending).select(columns)
    return _report("customers", table, rows, settings)
