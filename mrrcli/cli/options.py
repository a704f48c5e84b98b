"""Option types defined once (Annotated aliases) and the config-file merge (SPEC §7).

Kept free of Polars so that `mrrcli --help` starts fast.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer

from mrrcli.errors import UsageError

CONFIG_NAME = "mrrcli.toml"


class Mode(str, Enum):
    event = "event"
    snapshot = "snapshot"


class Level(str, Enum):
    customer = "customer"
    subscription = "subscription"


class Scope(str, Enum):
    strict = "strict"
    broad = "broad"


class OutputFormat(str, Enum):
    auto = "auto"
    table = "table"
    csv = "csv"
    json = "json"
    ndjson = "ndjson"
    markdown = "markdown"


class AmountUnit(str, Enum):
    major = "major"
    minor = "minor"


class Movement(str, Enum):
    new = "new"
    expansion = "expansion"
    reactivation = "reactivation"
    contraction = "contraction"
    churn = "churn"


INPUT = "Input"
PERIOD = "Period and classification"
OUTPUT = "Output"

Files = Annotated[
    list[str],
    typer.Argument(help="CSV or Parquet files, globs, or - for CSV on stdin.", show_default=False),
]
SourceOption = Annotated[
    str | None,
    typer.Option(
        "--source",
        "-s",
        help="Where the export comes from: auto, periods, invoice-lines, snapshots, "
        "stripe-subscriptions, stripe-invoice-lines, chargebee, recurly, chargify, paddle, lago, "
        "chartmogul, baremetrics, zuora.  [default: auto, by the header]",
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
        help="Exchange rates CSV: date,currency,rate (reporting units per unit of currency).",
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
AsOfOption = Annotated[
    str | None,
    typer.Option(
        "--as-of",
        help="Count nothing after this day, YYYY-MM-DD.  [default: today, UTC]",
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
        help="No notes on stderr, only errors.",
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


CONFIG_KEYS = {
    "source": "source",
    "currency": "currency",
    "fx": "fx",
    "amount_unit": "amount_unit",
    "amount-unit": "amount_unit",
    "timezone": "timezone",
    "date_format": "date_format",
    "date-format": "date_format",
    "keep_duplicates": "keep_duplicates",
    "keep-duplicates": "keep_duplicates",
    "as_of": "as_of",
    "as-of": "as_of",
    "from": "month_from",
    "to": "month_to",
    "mode": "mode",
    "level": "level",
    "expansion_scope": "scope",
    "expansion-scope": "scope",
    "days_per_month": "days_per_month",
    "days-per-month": "days_per_month",
    "format": "format",
    "output": "output",
    "quiet": "quiet",
}


def check_timezone(name: str) -> None:
    """An IANA time zone name such as Europe/Berlin, or a usage error."""
    import zoneinfo

    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise UsageError(
            f"--timezone {name!r} is not a time zone name (e.g. UTC, Europe/Berlin)"
        ) from None


def parse_day(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(f"{option} must be a day YYYY-MM-DD, not {text!r}") from None


def parse_month(text: str, option: str) -> date:
    try:
        return datetime.strptime(text.strip(), "%Y-%m").date()
    except ValueError:
        raise UsageError(f"{option} must be a month YYYY-MM, not {text!r}") from None


def parse_mapping(items: list[str]) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for item in items:
        canonical, sep, header = item.partition("=")
        if not sep or not canonical.strip() or not header.strip():
            raise UsageError(f"--map takes canonical=Header, not {item!r}")
        mapping[canonical.strip().lower()] = header.strip()
    return mapping


def load_config(path: Path | None) -> dict[str, Any]:
    """The config file's settings (empty when there is none)."""
    if path is None:
        default = Path(CONFIG_NAME)
        if not default.is_file():
            return {}
        path = default
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        raise UsageError(f"{path}: config file not found") from None
    except (tomllib.TOMLDecodeError, OSError) as error:
        raise UsageError(f"{path}: cannot read the config file: {error}") from None
    section = data.get("mrrcli", data)
    unknown = [k for k in section if k not in CONFIG_KEYS and k != "map"]
    if unknown:
        raise UsageError(f"{path}: unknown setting(s) {', '.join(sorted(unknown))}")
    return dict(section)


def merge(cli: dict[str, Any], config_path: Path | None, files: list[str]) -> CommonOptions:
    """Options from the command line (those given, not None) over the config file."""
    config = load_config(config_path)
    values: dict[str, Any] = {}
    for key, value in config.items():
        if key == "map":
            if not isinstance(value, dict):
                raise UsageError("the config file's [map] must be a table of canonical = header")
            values["mapping"] = {str(k).lower(): str(v) for k, v in value.items()}
        else:
            values[CONFIG_KEYS[key]] = value
    mapping = values.pop("mapping", {})
    for key, value in cli.items():
        if value is None:
            continue
        if key == "mapping":
            mapping = {**mapping, **parse_mapping(value)}
            continue
        values[key] = value.value if isinstance(value, Enum) else value
    for key in ("as_of",):
        if key in values and isinstance(values[key], str):
            values[key] = parse_day(values[key], "--as-of")
    for key, option in (("month_from", "--from"), ("month_to", "--to")):
        if key in values and isinstance(values[key], str):
            values[key] = parse_month(values[key], option)
    for key in ("fx", "output"):
        if key in values and values[key] is not None:
            values[key] = os.fspath(values[key])
    choices: dict[str, type[Enum]] = {
        "mode": Mode,
        "level": Level,
        "scope": Scope,
        "format": OutputFormat,
        "amount_unit": AmountUnit,
    }
    for key, enum in choices.items():
        allowed_values = [str(member.value) for member in enum]
        if key in values and values[key] not in allowed_values:
            allowed = ", ".join(allowed_values)
            raise UsageError(f"{key} must be one of {allowed}, not {values[key]!r}")
    if "days_per_month" in values:
        values["days_per_month"] = str(values["days_per_month"])
    if "timezone" in values:
        check_timezone(str(values["timezone"]))
    if values.get("currency") is not None:
        from mrrcli.currency import is_known

        values["currency"] = str(values["currency"]).strip().upper()
        if not is_known(values["currency"]):
            raise UsageError(f"--currency {values['currency']!r} is not an ISO 4217 currency code")
    return CommonOptions(files=files, mapping=mapping, **values)
