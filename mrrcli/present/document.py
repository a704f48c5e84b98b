"""A report as people and pipes see it: its frame in display values, and what it was computed
from (SPEC §7.1); and a Document, what every output format renders. None computes a number.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Literal

import polars as pl

from mrrcli import __version__
from mrrcli.engine.freshness import Freshness
from mrrcli.engine.ratios import rounded_quotient
from mrrcli.vocabulary import (
    DAYNORM_COLUMNS,
    MONEY_COLUMNS,
    RATIO_DECIMALS,
    STANDARD_DAYS_PER_MONTH,
    Period,
    Settings,
)

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

Kind = Literal["movements", "expansion", "metrics", "customers", "cohorts"]


@dataclass
class Report:
    """A computed report: the frame to show and what it was computed from.

    The frame is what every output format shows: months as `YYYY-MM`, money as Decimal in
    major units with the currency's decimals, ratios as Float64 rounded to 6 places."""

    kind: Kind
    frame: pl.DataFrame
    currency: str
    exponent: int
    settings: Settings
    files: list[str]
    days_per_month: float = float(STANDARD_DAYS_PER_MONTH)
    partial_month: str | None = None  # the label of a month (or period) to date, if reported
    extra: dict[str, Any] = field(default_factory=dict)
    source: str | None = None  # the source the export was read as
    caveat: str | None = None  # what that source cannot show (a subscription list)
    freshness: Freshness | None = None  # the data's last day and whether it is stale

    @property
    def stale(self) -> bool:
        return self.freshness is not None and self.freshness.stale

    @property
    def meta(self) -> dict[str, Any]:
        s = self.settings
        return {
            "report": self.kind,
            "inputs": self.files,
            "source": self.source,
            "caveat": self.caveat,
            "as_of": s.as_of.isoformat(),
            **self._freshness_meta(),
            "currency": self.currency,
            "mode": str(s.mode),
            "level": str(s.level),
            "expansion_scope": str(s.scope),
            "days_per_month": self.days_per_month,
            "from": s.month_from.strftime("%Y-%m") if s.month_from else None,
            "to": s.month_to.strftime("%Y-%m") if s.month_to else None,
            "partial_month": self.partial_month,
            "period": str(s.period),
            **({"by": self.extra["by"]} if "by" in self.extra else {}),  # segments (SPEC §9)
            "mrrcli_version": __version__,
        }

    def _freshness_meta(self) -> dict[str, Any]:
        fresh = self.freshness
        through = fresh.data_through if fresh is not None else None
        return {
            "data_through": through.isoformat() if through is not None else None,
            "max_age": self.settings.max_age,
            "stale": self.stale,
        }

    def caption_notes(self) -> list[str]:
        """What a table's caption must say besides its rows: the source and how fresh its
        data is, the subscription-list caveat, and a stale export (so --quiet hides none)."""
        said = [f"source {self.source}"] if self.source else []
        fresh = self.freshness
        if fresh is not None and fresh.data_through is not None:
            said.append(f"data through {fresh.data_through}")
        notes = [" · ".join(said)] if said else []
        if self.caveat:
            notes.append(f"! {self.caveat}")
        if fresh is not None and fresh.stale:
            notes.append(
                f"! STALE: the data ends {fresh.age} days before the as-of date {fresh.as_of} "
                f"(more than --max-age {fresh.max_age}); the months after it show nothing happening"
            )
        return notes


def minor_to_major(column: str, exponent: int) -> pl.Expr:
    """Integer minor units → an exact Decimal in major units (12345 → 123.45 for USD).

    Multiplying a whole Decimal by 10^-exponent is exact: the scales add up."""
    whole = pl.col(column).cast(pl.Decimal(38, 0))
    if exponent == 0:
        return whole.alias(column)
    # (A Decimal literal would be built through NumPy, whose import costs a tenth of a second.)
    unit = pl.lit(f"0.{'0' * (exponent - 1)}1").str.to_decimal(scale=exponent)
    major: pl.Expr = (whole * unit).cast(pl.Decimal(38, exponent))
    return major.alias(column)


def _formatted_dates(frame: pl.DataFrame, column: str, pattern: str) -> pl.Expr:
    """Dates as text, formatted once per distinct date (a report has few of them)."""
    days = frame.get_column(column).unique().drop_nulls()
    text = days.dt.strftime(pattern)
    return pl.col(column).replace_strict(days, text, default=None, return_dtype=pl.String)


def period_label(start: date, period: Period = Period.month) -> str:
    """A period by its first day: `2026-06`, `2026-Q2` (calendar quarters) or `2026`."""
    if period == Period.quarter:
        return f"{start.year}-Q{(start.month - 1) // 3 + 1}"
    if period == Period.year:
        return f"{start.year}"
    return start.strftime("%Y-%m")


def _period_labels(frame: pl.DataFrame, column: str, period: Period) -> pl.Expr:
    """Period starts as their labels, each distinct one labelled once."""
    starts = frame.get_column(column).unique().drop_nulls()
    labels = [period_label(start, period) for start in starts.to_list()]
    return pl.col(column).replace_strict(starts, labels, default=None, return_dtype=pl.String)


def _daynorm_in_major(
    frame: pl.DataFrame, column: str, exponent: int, standard: Fraction
) -> pl.Expr:
    """A day-normalized flow in major units rounded to 6 places: exactly, flow × standard ÷
    days ÷ 10^exponent half away from zero, from the flow in minor units and the days."""
    flow, scale = column.removesuffix("_daynorm"), int(10**exponent)
    if flow not in frame.columns or "days" not in frame.columns:
        return (pl.col(column) / scale).round(RATIO_DECIMALS)
    numerator = pl.col(flow).cast(pl.Int128) * standard.numerator
    denominator = pl.col("days").cast(pl.Int128) * standard.denominator * scale
    return rounded_quotient(numerator, denominator, RATIO_DECIMALS).alias(column)


def for_output(
    frame: pl.DataFrame,
    exponent: int,
    period: Period = Period.month,
    days_per_month: Fraction = STANDARD_DAYS_PER_MONTH,
) -> pl.DataFrame:
    """Engine frame → display values: months as YYYY-MM (quarters `2026-Q2`, years `2026`
    with --period), days as YYYY-MM-DD, money in major units, day-normalized flows in major
    units rounded to 6 places (exactly, from the flow and the days)."""
    conversions: list[pl.Expr] = []
    standard = days_per_month * period.months
    for column, dtype in frame.schema.items():
        if column in MONEY_COLUMNS:
            conversions.append(minor_to_major(column, exponent))
        elif column in DAYNORM_COLUMNS:
            conversions.append(_daynorm_in_major(frame, column, exponent, standard))
        elif column == "month" and dtype == pl.Date and period != Period.month:
            conversions.append(_period_labels(frame, column, period))
        elif column == "month" and dtype == pl.Date:
            conversions.append(_formatted_dates(frame, column, "%Y-%m"))
        elif column == "date" and dtype == pl.Date:
            conversions.append(_formatted_dates(frame, column, "%Y-%m-%d"))
    return frame.with_columns(conversions)


def partial_month(frame: pl.DataFrame, settings: Settings) -> str | None:
    """The reported month that ends after the as-of date (a month-to-date month), if any; with
    --period, the last reported period when it ends after the last day reported (the as-of date,
    or the end of the --to month)."""
    if "month" not in frame.columns or frame.height == 0:
        return None
    through = reported_through(settings)
    period = settings.period
    start = through.replace(month=(through.month - 1) // period.months * period.months + 1, day=1)
    if through == _last_day(start, period.months):
        return None
    label = period_label(start, period)
    return label if label in frame.get_column("month").to_list() else None


def reported_through(settings: Settings) -> date:
    """The last day a report covers: the as-of date, or the last day of an earlier --to month."""
    to = settings.month_to
    if to is None or (to.year, to.month) == (settings.as_of.year, settings.as_of.month):
        return settings.as_of
    return _last_day(to, 1)


def _last_day(start: date, months: int) -> date:
    """The last day of the `months` months from `start` (a first day) on."""
    index = start.year * 12 + start.month - 1 + months
    return date(index // 12, index % 12 + 1, 1) - timedelta(days=1)


@dataclass(frozen=True)
class Document:
    """What a command produced, ready for any format: its rows, what they are (JSON's meta)
    and how they look as a table. Reports, validate's problems and check's outcomes are each
    turned into one (present.output) and written by one function."""

    frame: pl.DataFrame
    meta: dict[str, Any]
    # the rows styled for people, fitted to a width (None: every column in full); Rich is
    # imported only if drawn
    table: Callable[[int | None], Table]
    ascii_meta: bool = True  # validate and check write their meta as ASCII JSON, reports not
    below: Callable[[Console, int], None] | None = None  # after the table, on a terminal
    # text columns holding exact numbers (check's value and threshold): numbers in JSON
    json_numbers: tuple[str, ...] = ()
