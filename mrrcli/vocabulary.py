# size: every name the layers share is defined here once (SPEC §6-§10 columns, options, settings).
"""The words every layer shares: movement names, modes, column names, settings and options.

No Polars here (nor anything heavy): the CLI imports this module to build `--help`, which must
stay fast. Each name is defined once; every other module imports it from here.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from fractions import Fraction

from mrrcli.errors import UsageError

# 30.4375 = 365.25 / 12: the standard month, wherever a day count becomes a month (SPEC §3).
STANDARD_DAYS_PER_MONTH = Fraction(36525, 1200)


class Mode(StrEnum):
    """event: every change on its day; snapshot: month end to month end (SPEC §4.2, §4.3)."""

    event = "event"
    snapshot = "snapshot"


class Level(StrEnum):
    customer = "customer"
    subscription = "subscription"


class Scope(StrEnum):
    strict = "strict"
    broad = "broad"


class Movement(StrEnum):
    new = "new"
    expansion = "expansion"
    reactivation = "reactivation"
    contraction = "contraction"
    churn = "churn"


class OutputFormat(StrEnum):
    auto = "auto"
    table = "table"
    csv = "csv"
    json = "json"
    ndjson = "ndjson"
    markdown = "markdown"


class Engine(StrEnum):
    """Where a run's parts are computed: on this machine, or on Apache Spark (SPEC §13)."""

    local = "local"
    spark = "spark"


class AmountUnit(StrEnum):
    major = "major"
    minor = "minor"


class Period(StrEnum):
    """The rows of a report: calendar months, quarters or years (SPEC §5 `--period`)."""

    month = "month"
    quarter = "quarter"
    year = "year"

    @property
    def months(self) -> int:
        """How many months one period holds (n of the standard period n × 30.4375 days)."""
        return {"month": 1, "quarter": 3, "year": 12}[self.value]


MOVEMENTS: tuple[str, ...] = tuple(m.value for m in Movement)

# Each movement kind's money column in the reports (SPEC §7.1).
MOVEMENT_COLUMNS = {
    "new": "new_mrr",
    "expansion": "expansion_mrr",
    "reactivation": "reactivation_mrr",
    "contraction": "contraction_mrr",
    "churn": "churned_mrr",
}
# Each movement kind's customer count in `metrics`.
COUNT_COLUMNS = {
    "new": "new_customers",
    "expansion": "expanded_customers",
    "contraction": "contracted_customers",
    "churn": "churned_customers",
    "reactivation": "reactivated_customers",
}

MOVEMENTS_COLUMNS = (
    "month",
    "days",
    "opening_mrr",
    *MOVEMENT_COLUMNS.values(),
    "net_new_mrr",
    "closing_mrr",
)
EXPANSION_COLUMNS = (
    "month",
    "days",
    "opening_mrr",
    "new_mrr",
    "expansion_mrr",
    "expansion_mrr_daynorm",
    "expansion_rate",
    "expansion_pct_of_opening",
    "expansion_to_new",
    "benchmark_met",
    "expanded_customers",
)
METRICS_COLUMNS = (
    "month",
    "opening_mrr",
    "closing_mrr",
    "net_new_mrr",
    "mrr_growth_rate",
    "quick_ratio",
    "gross_mrr_churn_rate",
    "net_mrr_churn_rate",
    "nrr",
    "grr",
    "nrr_ttm",
    "grr_ttm",
    "arpa",
    "customers_opening",
    "customers_closing",
    "new_customers",
    "expanded_customers",
    "contracted_customers",
    "churned_customers",
    "reactivated_customers",
)
CUSTOMERS_COLUMNS = (
    "date",
    "month",
    "customer_id",
    "movement",
    "mrr_before",
    "mrr_after",
    "amount",
)
COHORTS_COLUMNS = (
    *("cohort", "age", "month", "partial", "customers_new", "base_mrr", "customers_active"),
    *("mrr", *MOVEMENT_COLUMNS.values(), "logo_retention", "nrr", "grr"),
)


class CohortMetric(StrEnum):  # what the `cohorts` triangle shows (COHORT_METRICS: its column)
    nrr = "nrr"
    grr = "grr"
    logo = "logo"
    mrr = "mrr"


COHORT_METRICS = {"nrr": "nrr", "grr": "grr", "logo": "logo_retention", "mrr": "mrr"}

# Money in minor units inside the engine, shown in major units.
MONEY_COLUMNS = frozenset(
    {*MOVEMENTS_COLUMNS[2:], "arpa", "mrr_before", "mrr_after", "amount", "base_mrr", "mrr"}
    | {"moved_in_mrr", "moved_out_mrr"}  # segments' transfers (SPEC §9)
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
        "logo_retention",
        "nrr_ttm",
        "grr_ttm",
    }
)
# Flows per standard month: computed in minor units, shown in major units with 6 decimals.
DAYNORM_COLUMNS = frozenset({"expansion_mrr_daynorm"})
RATIO_DECIMALS = 6
BENCHMARK_EXPANSION_TO_NEW = 0.30

# The canonical columns of each input shape (SPEC §2.1–§2.3).
PERIODS_COLUMNS = (
    "customer_id",
    "subscription_id",
    "start_date",
    "end_date",
    "amount",
    "monthly_amount",
    "mrr",
    "currency",
    "interval",
    "interval_count",
    "quantity",
    "discount_percent",
    "discount_amount",
    "status",
    "plan_id",
    "trial_end",
    "addons_amount",
)
INVOICE_LINE_COLUMNS = (
    "customer_id",
    "subscription_id",
    "amount",
    "currency",
    "period_start",
    "period_end",
    "kind",
    "type",
    "proration",
    "tax_amount",
    "discount_amount",
    "status",
    "plan_id",
    "subscription_item_id",
)
SNAPSHOT_COLUMNS = ("customer_id", "subscription_id", "month", "mrr", "currency", "plan_id")
SHAPE_COLUMNS = {
    "periods": PERIODS_COLUMNS,
    "invoice-lines": INVOICE_LINE_COLUMNS,
    "snapshots": SNAPSHOT_COLUMNS,
}
TRIAL_STATUSES = ("trialing", "in_trial", "trial", "intrial")

# An export whose last event is more than this many days before the as-of date is stale
# (SPEC §12): its empty months would read as no churn.
DEFAULT_MAX_AGE = 35


@dataclass(frozen=True)
class Settings:
    """What a report covers and how movements are classified."""

    as_of: date
    mode: Mode = Mode.event
    level: Level = Level.customer
    scope: Scope = Scope.strict
    month_from: date | None = None  # first day of the first month reported
    month_to: date | None = None  # first day of the last month reported
    period: Period = Period.month  # rows of months, quarters or years (§5)
    max_age: int = DEFAULT_MAX_AGE  # days the as-of date may be past the data (0: no limit)

    def __post_init__(self) -> None:
        # Library callers may pass plain strings ("snapshot").
        object.__setattr__(self, "mode", Mode(self.mode))
        object.__setattr__(self, "level", Level(self.level))
        object.__setattr__(self, "scope", Scope(self.scope))
        object.__setattr__(self, "period", Period(self.period))
        now = today()
        if self.as_of > now:
            raise UsageError(
                f"--as-of {self.as_of} is after today ({now}, UTC): nothing is known about "
                "the future"
            )

    @property
    def keys(self) -> list[str]:
        """The id columns that make one key of the classification."""
        return level_keys(self.level)


def level_keys(level: Level) -> list[str]:
    """The id columns that make one key at `level`."""
    if level == Level.customer:
        return ["customer_id"]
    return ["customer_id", "subscription_id"]


@dataclass(frozen=True)
class ReadOptions:
    """Everything that decides how an export is read and turned into MRR: one object from the
    command line (or a library call) to the pipeline."""

    source: str = "auto"
    mapping: Mapping[str, str] = field(default_factory=dict)
    currency: str | None = None  # reporting currency; default: the data's only currency
    amount_unit: AmountUnit | None = None  # None: the source's own unit
    days_per_month: Fraction = STANDARD_DAYS_PER_MONTH
    timezone: str = "UTC"
    date_format: str | None = None
    fx: str | None = None  # path of a date,currency,rate file
    keep_duplicates: bool = False
    parts: int | None = None  # read in this many parts by customer (None: decided by size)
    whole_rows: int | None = None  # above this many rows, in parts (None: by memory available)
    engine: Engine = Engine.local  # where the parts are computed (SPEC §13)
    spark_master: str = "local[*]"  # --engine spark: the Spark master URL
    buckets: int | None = None  # --engine spark: buckets by customer (None: 2 × parallelism)
    delimiter: str | None = None  # of CSV fields; None: detected from each header line
    decimal_comma: bool = False  # amounts written 49,00 and 1.234,50 (SPEC §2.5)
    by: str | None = None  # the column whose values are the segments (SPEC §9)
    attributes: str | None = None  # path of a customer_id,… file of customer attributes (§9)


def whole_rows_from_environment() -> int | None:
    """MRRCLI_WHOLE_ROWS, the threshold in rows for reading in parts; None when unset (the
    threshold then follows from the memory available)."""
    text = os.environ.get("MRRCLI_WHOLE_ROWS", "").strip()
    if not text:
        return None
    try:
        value = int(text)
    except ValueError:
        raise UsageError(f"MRRCLI_WHOLE_ROWS must be a whole number, not {text!r}") from None
    if value <= 0:
        raise UsageError(f"MRRCLI_WHOLE_ROWS must be positive, not {text!r}")
    return value


def parse_fraction(text: str, what: str) -> Fraction:
    """A positive number given as text ("30.4375", "365.25/12"), or a usage error."""
    try:
        value = Fraction(text.strip())
    except (ValueError, ZeroDivisionError):
        raise UsageError(f"{what} must be a number, not {text!r}") from None
    if value <= 0:
        raise UsageError(f"{what} must be positive, not {text!r}")
    return value


def today() -> date:
    """The default as-of date: today in UTC."""
    return datetime.now(UTC).date()


def customers_columns(level: Level) -> tuple[str, ...]:
    """The `customers` report's columns (§7.1): CUSTOMERS_COLUMNS, with `subscription_id`
    after `customer_id` at `--level subscription`."""
    if Level(level) != Level.subscription:
        return CUSTOMERS_COLUMNS
    after = CUSTOMERS_COLUMNS.index("customer_id") + 1
    return (*CUSTOMERS_COLUMNS[:after], "subscription_id", *CUSTOMERS_COLUMNS[after:])


# `--delimiter` values (SPEC §2.5), as written on the command line → the character.
DELIMITER_NAMES = {",": ",", ";": ";", "|": "|", "tab": "\t", "\\t": "\t", "\t": "\t"}


def parse_delimiter(text: str) -> str:
    """A `--delimiter` value (`,` `;` `|` or `tab`) as the character, or a usage error."""
    found = DELIMITER_NAMES.get(text.strip() if text.strip() else text)
    if found is None:
        raise UsageError(f"--delimiter must be one of , ; | tab, not {text!r}")
    return found


# `--movement` takes a movement's name or the word its customers are counted under.
MOVEMENT_ALIASES = {
    "churned": "churn",
    "expanded": "expansion",
    "contracted": "contraction",
    "reactivated": "reactivation",
}


def parse_movement(text: str) -> Movement:
    """A `--movement` value (`churn` or `churned`, `expansion` or `expanded`, ...), or a usage
    error naming the accepted ones."""
    name = text.strip().lower()
    try:
        return Movement(MOVEMENT_ALIASES.get(name, name))
    except ValueError:
        accepted = ", ".join(MOVEMENTS)
        raise UsageError(
            f"--movement must be one of {accepted} (or churned, expanded, "
            f"contracted, reactivated), not {text!r}"
        ) from None


# The plural nouns of messages that count things, and their singular (`counted`).
SINGULARS = {
    "rows": "row",
    "lines": "line",
    "versions": "version",
    "errors": "error",
    "warnings": "warning",
    "parts": "part",
    "files": "file",
    "customers": "customer",
    "days": "day",
}


def counted(n: int, phrase: str) -> str:
    """`n` and `phrase` as a message counts things: "2 rows read", "1 row read" (the first
    plural noun of `phrase` made singular when `n` is 1), thousands separated."""
    if n == 1:
        words = phrase.split(" ")
        first = next((i for i, w in enumerate(words) if w in SINGULARS), None)
        if first is not None:
            words[first] = SINGULARS[words[first]]
        phrase = " ".join(words)
    return f"{n:,} {phrase}"
