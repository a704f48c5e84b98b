"""European spreadsheets (SPEC §2.5): the delimiter of a CSV file, detected from its header line
unless `--delimiter` names it, and amounts written with a decimal comma (`49,00`, `1.234,50`),
turned into the text numbers are read from when `--decimal-comma` is given."""

from __future__ import annotations

import re

import polars as pl

# The delimiters a CSV export is written with; `--delimiter` names one of them.
DELIMITERS = (",", ";", "\t", "|")

# The number columns of every shape: the ones `--decimal-comma` rewrites.
NUMBER_COLUMNS = (
    "amount",
    "monthly_amount",
    "mrr",
    "quantity",
    "discount_percent",
    "discount_amount",
    "addons_amount",
    "interval_count",
    "tax_amount",
)

# A number as a European spreadsheet writes it: thousands grouped by `.` or a (narrow,
# no-break) space, a decimal comma. `49.00` is not one (groups have three digits), so a file
# mixing both ways is not misread.
_EUROPEAN = r"^\s*[+-]?(?:\d{1,3}(?:[. \u00a0\u202f]\d{3})+|\d+)(?:,\d+)?\s*$"
_DECIMAL_COMMA = re.compile(r"^\s*[+-]?\d{1,3}(?:\.\d{3})*,\d+\s*$")


def delimiter_name(delimiter: str) -> str:
    """How a delimiter is written as an option value (`tab` for a tab)."""
    return "tab" if delimiter == "\t" else delimiter


def detect_delimiter(head: bytes) -> str:
    """The delimiter of a CSV file whose first bytes are `head`: the candidate seen most often
    in the header line outside quotes (a comma when there is none, or on a tie)."""
    line = head.split(b"\n", 1)[0].decode("utf-8", errors="replace").lstrip("\ufeff")
    unquoted = re.sub(r'"[^"]*"', "", line)
    counts = {d: unquoted.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: (counts[d], d == ","))
    return best if counts[best] else ","


def one_field_hint(field: str, delimiter: str) -> str | None:
    """Why a row (or header) read as one field may be one: it holds another delimiter."""
    others = [d for d in DELIMITERS if d != delimiter and d in field]
    if not others:
        return None
    other = max(others, key=field.count)
    return f"is it separated by '{delimiter_name(other)}'? --delimiter '{delimiter_name(other)}'"


def decimal_comma_hint(value: object) -> str:
    """A note for an unreadable number written with a decimal comma (`49,00`), else ''."""
    if isinstance(value, str) and _DECIMAL_COMMA.match(value):
        return " (a decimal comma? --decimal-comma reads it)"
    return ""


def from_decimal_comma(columns: list[str]) -> list[pl.Expr]:
    """Expressions rewriting the text `columns` from European spreadsheet numbers to the
    ones numbers are read from (`1.234,50` → `1234.50`, `49,00` → `49.00`); values written
    another way are left as they are, so an error shows them as written."""
    expressions = []
    for column in columns:
        text = pl.col(column)
        european = text.str.contains(_EUROPEAN)
        rewritten = text.str.replace_all(r"[. \u00a0\u202f]", "").str.replace(
            ",", ".", literal=True
        )
        expressions.append(pl.when(european).then(rewritten).otherwise(text).alias(column))
    return expressions
