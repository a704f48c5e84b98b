"""European spreadsheets (SPEC §2.5): the delimiter of a CSV file, detected from its header line
unless `--delimiter` names it, and amounts written with a decimal comma (`49,00`, `1.234,50`),
turned into the text numbers are read from when `--decimal-comma` is given."""

from __future__ import annotations

import re

import polars as pl

from mrrcli.errors import InputError, row_problem
from mrrcli.read import remote

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
# no-break) space, a decimal comma. `49.00` is not one (groups have three digits), nor is
# `0.005` (grouped thousands never lead with 0: it is a unit price, not 5), so a file
# mixing both ways is not misread.
_EUROPEAN = r"^\s*[+-]?(?:[1-9]\d{0,2}(?:[. \u00a0\u202f]\d{3})+|\d+)(?:,\d+)?\s*$"
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


def check_header_fields(path: str, header: list[str], delimiter: str) -> None:
    """A header of one field that holds another delimiter was written with that one."""
    hint = one_field_hint(header[0], delimiter) if len(header) == 1 else None
    if hint:
        raise InputError(f"{path}: the header is one field, {header[0]!r}: {hint} reads it")


def check_fields(path: str, frame: pl.DataFrame, delimiter: str, row_column: str) -> None:
    """A header or row read as one field that holds another delimiter was written with it: the
    error names the --delimiter that reads it."""
    columns = [c for c in frame.columns if c != row_column]
    check_header_fields(path, columns, delimiter)
    if len(columns) == 1:
        return
    first, rest = columns[0], columns[1:]
    others = [d for d in DELIMITERS if d != delimiter]
    one_field = frame.filter(
        pl.all_horizontal(pl.col(c).is_null() for c in rest)
        & pl.col(first).str.contains_any(others).fill_null(False)
    )
    if one_field.height:
        value, row = one_field.select(first, row_column).row(0)
        raise row_problem(
            path,
            row,
            None,
            f"1 field where the header has {len(columns)} "
            f"(separated by '{delimiter_name(delimiter)}'): {one_field_hint(value, delimiter)} "
            "reads it",
            one_field.height - 1,
        )


def file_delimiter(path: str, delimiter: str | None = None) -> str:
    """`delimiter`, else the one detected from the file's header line."""
    if delimiter is not None:
        return delimiter
    found = remote.head(path)
    if found is not None:
        return detect_delimiter(found[:4096])
    try:
        with open(path, "rb") as handle:
            return detect_delimiter(handle.read(4096))
    except OSError:
        return ","
