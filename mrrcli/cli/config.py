"""The config file (mrrcli.toml) merged under the command line's options, and the parsing of
option values (SPEC §7). Kept free of Polars so that `mrrcli --help` starts fast."""

from __future__ import annotations

import os
import re
import tomllib
from datetime import date, datetime
from enum import Enum
from pathlib import Path
from typing import Any

from mrrcli.cli.options import CONFIG_NAME, CommonOptions
from mrrcli.errors import UsageError
from mrrcli.vocabulary import (
    AmountUnit,
    Engine,
    Level,
    Mode,
    OutputFormat,
    Period,
    Scope,
    parse_delimiter,
)

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
    "delimiter": "delimiter",
    "decimal_comma": "decimal_comma",
    "decimal-comma": "decimal_comma",
    "period": "period",
    "wide": "wide",
    "max_age": "max_age",
    "max-age": "max_age",
    "parts": "parts",
    "engine": "engine",
    "spark_master": "spark_master",
    "spark-master": "spark_master",
    "buckets": "buckets",
    "by": "by",  # segments (SPEC §9), for the commands that take --by
    "attributes": "attributes",
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
    """A day YYYY-MM-DD; month and day may be written without their leading zero (2026-6-30),
    as --from and --to accept 2026-1."""
    found = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})", text.strip())
    try:
        if found is None:
            raise ValueError
        return date(*(int(part) for part in found.groups()))
    except ValueError:
        raise UsageError(f"{option} must be a day YYYY-MM-DD, not {text!r}") from None


def parse_month(text: str, option: str) -> date:
    try:
        return datetime.strptime(text.strip(), "%Y-%m").date()
    except ValueError:
        raise UsageError(f"{option} must be a month YYYY-MM, not {text!r}") from None


def parse_max_age(value: object) -> int:
    """A whole number of days, 0 or more (the config file may give any TOML value)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise UsageError(f"max_age must be a whole number of days, 0 or more, not {value!r}")
    return value


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
    for key, value in section.items():
        _check_type(path, key, value)
    return dict(section)


_TRUE_OR_FALSE = {"keep_duplicates", "quiet", "wide", "decimal_comma"}
_WHOLE_NUMBERS = {"max_age", "parts", "buckets"}


def _check_type(path: Path, key: str, value: object) -> None:
    """A setting of the config file has the TOML type its option takes, or a usage error
    naming the file and the setting (`quiet = "no"` is not false, `as_of = 20240229` not a
    day)."""
    if key == "map":
        return
    name = CONFIG_KEYS[key]
    if name in _TRUE_OR_FALSE:
        ok, wanted = isinstance(value, bool), "true or false (no quotes)"
    elif name in _WHOLE_NUMBERS:
        ok = isinstance(value, int) and not isinstance(value, bool)
        wanted = "a whole number" + (" of days, 0 or more" if name == "max_age" else "")
        wanted += " (no quotes)"
    elif name == "as_of":
        ok = isinstance(value, str) or type(value) is date
        wanted = 'a day, "YYYY-MM-DD" or a TOML date such as 2026-06-30'
    elif name == "days_per_month":
        ok = isinstance(value, int | float | str) and not isinstance(value, bool)
        wanted = "a number such as 30.4375"
    elif name in ("month_from", "month_to"):
        ok, wanted = isinstance(value, str), 'a month in quotes, e.g. "2026-01"'
    else:
        ok, wanted = isinstance(value, str), "a string in quotes"
    if not ok:
        shown = str(value).lower() if isinstance(value, bool) else str(value)
        shown = f'"{value}"' if isinstance(value, str) else shown
        raise UsageError(f"{path}: {key} must be {wanted}, not {shown}")


def _extension_over_config(cli: dict[str, Any], values: dict[str, Any]) -> None:
    """`-o report.csv` on the command line says the format by its extension (SPEC §7.1): a
    `format` from the config file does not write JSON under a .csv name. `-o -` is stdout,
    as for curl or wget (it wrote a file named `-`)."""
    if cli.get("output") is not None and os.fspath(cli["output"]) == "-":
        cli["output"] = None
        values.pop("output", None)
    if cli.get("output") is None or cli.get("format") is not None:
        return
    from mrrcli.present.formats import EXTENSIONS

    if os.path.splitext(os.fspath(cli["output"]))[1].lower() in EXTENSIONS:
        values.pop("format", None)


def _parse_months(values: dict[str, Any]) -> None:
    """--from and --to as the first days of their months; `--to an@address` (meant for the
    e-mail of `report`, SPEC §11) says that the recipients are --mail-to."""
    for key, option in (("month_from", "--from"), ("month_to", "--to")):
        if key in values and isinstance(values[key], str):
            if key == "month_to" and "@" in values[key]:
                raise UsageError(
                    f"--to is the last month of the report (YYYY-MM), not {values[key]!r}; "
                    "the e-mail's recipients are --mail-to"
                )
            values[key] = parse_month(values[key], option)


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
    _extension_over_config(cli, values)
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
    _parse_months(values)
    for key in ("fx", "output", "attributes"):
        if key in values and values[key] is not None:
            values[key] = os.fspath(values[key])
    choices: dict[str, type[Enum]] = {
        "mode": Mode,
        "level": Level,
        "scope": Scope,
        "format": OutputFormat,
        "amount_unit": AmountUnit,
        "engine": Engine,
        "period": Period,
    }
    for key, enum in choices.items():
        allowed_values = [str(member.value) for member in enum]
        if key in values and values[key] not in allowed_values:
            allowed = ", ".join(allowed_values)
            raise UsageError(f"{key} must be one of {allowed}, not {values[key]!r}")
    for key in ("parts", "buckets"):
        if key in values and (not isinstance(values[key], int) or values[key] < 1):
            raise UsageError(f"{key} must be a whole number, 1 or more, not {values[key]!r}")
    if values.get("delimiter") is not None:
        values["delimiter"] = parse_delimiter(str(values["delimiter"]))
    if "max_age" in values:
        values["max_age"] = parse_max_age(values["max_age"])
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
