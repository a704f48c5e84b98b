"""Option types defined once (Annotated aliases) and the options every report shares.

Kept free of Polars so that `mrrcli --help` starts fast.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from mrrcli.vocabulary import (
    DEFAULT_MAX_AGE,
    AmountUnit,
    Engine,
    Level,
    Mode,
    OutputFormat,
    Period,
    Scope,
)

CONFIG_NAME = "mrrcli.toml"


INPUT = "Input"
PERIOD = "Period and classification"
OUTPUT = "Output"
SCALE = "Scale"

Files = Annotated[
    list[str],
    typer.Argument(
        metavar="FILE...",
        help="CSV or Parquet files, globs, or - for stdin (CSV or Parquet).",
        show_default=False,
    ),
]
SourceOption = Annotated[
    str | None,
    typer.Option(
        "--source",
        "-s",
        help="Where the export comes from: auto, periods, invoice-lines, snapshots, "
        "stripe-subscriptions, stripe-invoice-lines, chargebee, recurly, chargify, paddle, lago, "
        "chartmogul, baremetrics, zuora, stripe-warehouse.  [default: auto, by the header]",
        rich_help_panel=INPUT,
        show_default=False,
    ),
]
MapOption = Annotated[
    list[str] | None,
    typer.Option(
        "--map",
        help="Column mapping canonical=Their Header (repeatable), e.g. start_date=Created.",
        rich_help_panel=INPUT,
        show_default=False,
    ),
]
ConfigOption = Annotated[
    Path | None,
    typer.Option(
        help=f"TOML file of options and a [map] table (default: ./{CONFIG_NAME} if present).",
        rich_help_panel=INPUT,
        show_default=False,
    ),
]
CurrencyOption = Annotated[
    str | None,
    typer.Option(
        help="Reporting currency (default: the data's only currency, else USD).",
        rich_help_panel=INPUT,
        show_default=False,
    ),
]
FxOption = Annotated[
    Path | None,
    typer.Option(
        help=(
            "Exchange rates CSV: date,currency,rate (reporting units per unit of currency); "
            "a subscription converts at the rate of its first paying day."
        ),
        rich_help_panel=INPUT,
        show_default=False,
    ),
]
AmountUnitOption = Annotated[
    AmountUnit | None,
    typer.Option(
        help="Amounts in major units (12.50) or minor units (1250).  [default: major]",
        rich_help_panel=INPUT,
        show_default=False,
    ),
]
TimezoneOption = Annotated[
    str | None,
    typer.Option(
        help="Time zone for month edges; timestamps are converted to it.  [default: UTC]",
        rich_help_panel=INPUT,
        show_default=False,
    ),
]
DateFormatOption = Annotated[
    str | None,
    typer.Option(
        help="strftime format of the dates when they are ambiguous, e.g. '%d/%m/%Y'.",
        rich_help_panel=INPUT,
        show_default=False,
    ),
]
KeepDuplicatesOption = Annotated[
    bool | None,
    typer.Option(
        "--keep-duplicates",
        help="Count rows that are identical in every column as often as given.",
        rich_help_panel=INPUT,
        show_default=False,
    ),
]
DelimiterOption = Annotated[
    str | None,
    typer.Option(
        "--delimiter",
        help="CSV field separator: , ; | or tab.  [default: detected from the header line]",
        rich_help_panel=INPUT,
        show_default=False,
    ),
]
DecimalCommaOption = Annotated[
    bool | None,
    typer.Option(
        "--decimal-comma",
        help="Amounts are written with a decimal comma, as European spreadsheets do: 49,00 and "
        "1.234,50.",
        rich_help_panel=INPUT,
        show_default=False,
    ),
]
AsOfOption = Annotated[
    str | None,
    typer.Option(
        "--as-of",
        help=(
            "Count nothing after this day, YYYY-MM-DD (today at the latest).  [default: today, UTC]"
        ),
        rich_help_panel=PERIOD,
        show_default=False,
    ),
]
MaxAgeOption = Annotated[
    int | None,
    typer.Option(
        "--max-age",
        min=0,
        metavar="DAYS",
        help="The export is stale when --as-of is more than DAYS after its last event: reports "
        f"warn, check exits 1. 0: no limit.  [default: {DEFAULT_MAX_AGE}]",
        rich_help_panel=PERIOD,
        show_default=False,
    ),
]
FromOption = Annotated[
    str | None,
    typer.Option(
        "--from",
        help="First month reported, YYYY-MM.  [default: the first month with MRR]",
        rich_help_panel=PERIOD,
        show_default=False,
    ),
]
ToOption = Annotated[
    str | None,
    typer.Option(
        "--to",
        help="Last month reported, YYYY-MM.  [default: the month of --as-of]",
        rich_help_panel=PERIOD,
        show_default=False,
    ),
]
ModeOption = Annotated[
    Mode | None,
    typer.Option(
        help="event: every change on its day; snapshot: month-end to month-end.  [default: event]",
        rich_help_panel=PERIOD,
        show_default=False,
    ),
]
LevelOption = Annotated[
    Level | None,
    typer.Option(
        help="Classify per customer or per subscription.  [default: customer]",
        rich_help_panel=PERIOD,
        show_default=False,
    ),
]
ScopeOption = Annotated[
    Scope | None,
    typer.Option(
        "--expansion-scope",
        help="strict: upsells of paying customers; broad: also reactivations and "
        "free-to-paid conversions.  [default: strict]",
        rich_help_panel=PERIOD,
        show_default=False,
    ),
]
DaysPerMonthOption = Annotated[
    str | None,
    typer.Option(
        "--days-per-month",
        help="Days in a standard month, for day/week prices and day-normalized flows.  "
        "[default: 30.4375]",
        rich_help_panel=PERIOD,
        show_default=False,
    ),
]
FormatOption = Annotated[
    OutputFormat | None,
    typer.Option(
        "--format",
        "-f",
        help="auto: a table on a terminal, CSV in a pipe (or by --output's extension).  "
        "[default: auto]",
        rich_help_panel=OUTPUT,
        show_default=False,
    ),
]
OutputOption = Annotated[
    Path | None,
    typer.Option(
        "--output",
        "-o",
        help="Write the report to this file, atomically (whole or not at all).",
        rich_help_panel=OUTPUT,
        show_default=False,
    ),
]
QuietOption = Annotated[
    bool | None,
    typer.Option(
        "--quiet",
        "-q",
        help="No notes on stderr, only errors and the warning that an export is stale.",
        rich_help_panel=OUTPUT,
        show_default=False,
    ),
]
PeriodOption = Annotated[
    Period | None,
    typer.Option(
        "--period",
        help="Rows of calendar months, quarters (2026-Q2) or years: flows summed, opening and "
        "closing at the period's ends, NRR/GRR over the period (customers keeps days and "
        "months).  [default: month]",
        rich_help_panel=PERIOD,
        show_default=False,
    ),
]
WideOption = Annotated[
    bool | None,
    typer.Option(
        "--wide",
        help="Print every column of a table in full, however wide the terminal.",
        rich_help_panel=OUTPUT,
        show_default=False,
    ),
]
DebugOption = Annotated[
    bool,
    typer.Option(
        "--debug", help="Show a traceback on errors.", rich_help_panel=OUTPUT, hidden=True
    ),
]

PartsOption = Annotated[
    int | None,
    typer.Option(
        "--parts",
        min=1,
        metavar="N",
        help="Read the export in N parts by customer, one part in memory at a time.  "
        "[default: by size and the memory available]",
        rich_help_panel=SCALE,
        show_default=False,
    ),
]
EngineOption = Annotated[
    Engine | None,
    typer.Option(
        "--engine",
        help="local: this machine; spark: Apache Spark (needs pyspark, the spark extra of "
        "mrrcli, and Java 17), which also reads URLs such as s3a://bucket/export/*.parquet.  "
        "[default: local]",
        rich_help_panel=SCALE,
        show_default=False,
    ),
]
SparkMasterOption = Annotated[
    str | None,
    typer.Option(
        "--spark-master",
        metavar="URL",
        help="The Spark master of --engine spark.  [default: local[*]]",
        rich_help_panel=SCALE,
        show_default=False,
    ),
]
BucketsOption = Annotated[
    int | None,
    typer.Option(
        "--buckets",
        min=1,
        metavar="N",
        help="--engine spark: buckets by customer.  [default: 2 × Spark's parallelism]",
        rich_help_panel=SCALE,
        show_default=False,
    ),
]


@dataclass
class CommonOptions:
    """The options every report takes, after the config file is merged in."""

    files: list[str]
    source: str = "auto"
    mapping: dict[str, str] = field(default_factory=dict)
    currency: str | None = None
    fx: str | None = None
    amount_unit: str | None = None  # None: the source's own unit
    timezone: str = "UTC"
    date_format: str | None = None
    keep_duplicates: bool = False
    as_of: date | None = None
    month_from: date | None = None
    month_to: date | None = None
    mode: str = "event"
    level: str = "customer"
    scope: str = "strict"
    days_per_month: str = "30.4375"
    format: str = "auto"
    output: str | None = None
    quiet: bool = False
    debug: bool = False
    delimiter: str | None = None  # None: detected from each file's header line
    decimal_comma: bool = False
    period: str = "month"
    wide: bool = False
    max_age: int = DEFAULT_MAX_AGE
    parts: int | None = None
    engine: str = "local"
    spark_master: str = "local[*]"
    buckets: int | None = None
    by: str | None = None  # segments (SPEC §9): set by the commands that take --by
    attributes: str | None = None


SEGMENTS = "Segments"
ByOption = Annotated[
    str | None,
    typer.Option(
        "--by",
        help="One row per month (or --period) and segment: plan_id, interval, currency, "
        "subscription_id, a column mapped with --map, or a column of --attributes. A plan "
        "change is moved_out of one segment and moved_in to another, plus any real expansion "
        "or contraction; segments add up to the report without --by, except customer counts "
        "(a customer may count in several segments). A segment's NRR/GRR, of the month and of "
        "12 months, count MRR its customers moved to another segment as retained.",
        rich_help_panel=SEGMENTS,
        show_default=False,
    ),
]
AttributesOption = Annotated[
    Path | None,
    typer.Option(
        "--attributes",
        help="CSV or Parquet of customer attributes (customer_id and any columns, one row per "
        "customer) for --by; customers not in it are in (none).",
        rich_help_panel=SEGMENTS,
        show_default=False,
    ),
]
CohortByOption = Annotated[
    str | None,
    typer.Option(
        "--by",
        help="Cohorts per segment (a segment column after cohort): each customer is in the "
        "segment of most of its MRR on its first paying day and stays there across plan "
        "changes; segments add up to the cohorts without --by. plan_id, interval, currency, "
        "subscription_id, a column mapped with --map, or a column of --attributes.",
        rich_help_panel=SEGMENTS,
        show_default=False,
    ),
]
