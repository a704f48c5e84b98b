"""Files → one Polars frame: CSV or Parquet, paths, globs or stdin (SPEC §2, §2.5).

Reading only gathers text (or Parquet's typed values) under canonical column names, with the
file and spreadsheet row of each row kept for error messages. Turning values into dates and
money is normalize.py's job.
"""

from __future__ import annotations

import csv
import glob
import io
import os
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, TextIO

import polars as pl

from mrrcli.errors import InputError, RowProblem, UsageError, row_problem
from mrrcli.read import remote
from mrrcli.read.european import (
    check_fields,
    check_header_fields,
    delimiter_name,
    detect_delimiter,
    file_delimiter,
)

FILE_COLUMN = "_file"
ROW_COLUMN = "_row"
PARQUET_SUFFIXES = (".parquet", ".pq", ".parq")


class RowFilter(Protocol):
    """Which rows of a file to read (a part of the customers, see mrrcli.parts): `column` names
    the header it looks at, compared as header_key, so each file's own spelling is used."""

    @property
    def column(self) -> str:
        """The header of the column the filter looks at."""
        ...

    def keeps(self, column: str) -> pl.Expr:
        """True for the rows to read, given the file's own name of `column`."""
        ...

    def rows(self, index: int, scan: pl.LazyFrame, column: str) -> pl.DataFrame:
        """The rows of file `index` (`scan`, with `_row`) that the part holds: `scan` filtered
        by `keeps(column)`, or the same rows as a split written them to disk beforehand."""
        ...


@dataclass
class Table:
    """The rows of every input file, concatenated, with where each row came from."""

    frame: pl.DataFrame
    files: list[str]
    duplicates: int = 0
    duplicate_rows: pl.DataFrame | None = None  # _file, _row of the copies set aside
    spelling: dict[str, str] = field(default_factory=dict)  # header_key → header as written
    # Canonical column → the header the file writes for it, so that a problem names the
    # column the user sees (`Ended At (UTC)`, not `end_date`); set once headers are renamed.
    written: dict[str, str] = field(default_factory=dict)
    # Text columns already stripped of surrounding spaces (drop_duplicates strips the ids it
    # compares once, in place, so that normalizing need not do it again).
    stripped: frozenset[str] = frozenset()
    # The distinct values (as text, nulls left out) of some text columns of few values, found
    # when duplicates were judged: every value the frame holds is among them (rows dropped
    # since may have held others), so normalizing need not look for them again.
    values: dict[str, list[str]] = field(default_factory=dict)


def header_key(name: str) -> str:
    """Headers match case-insensitively, ignoring surrounding spaces and a byte-order mark."""
    return name.replace("\ufeff", "").strip().lower()


def expand_paths(paths: Sequence[str]) -> list[str]:
    """Expand globs; `-` stands for stdin. A path or pattern that matches nothing is an error."""
    expanded: list[str] = []
    for path in paths:
        if path == "-" or remote.head(path) is not None:
            expanded.append(path)
        elif remote.is_url(path):
            raise InputError(
                f"{path}: a URL is read with --engine spark only (or copy the file here)"
            )
        elif glob.has_magic(path):
            matches = sorted(glob.glob(path, recursive=True))
            if not matches:
                raise InputError(f"{path}: no file matches this pattern")
            expanded.extend(matches)
        else:
            if not os.path.exists(path):
                raise InputError(f"{path}: no such file")
            if os.path.isdir(path):
                raise InputError(f"{path}: is a directory, not a file")
            expanded.append(path)
    if not expanded:
        raise UsageError("no input file given")
    if expanded.count("-") > 1:
        raise UsageError("stdin ('-') can be read only once")
    return expanded


def is_parquet(path: str) -> bool:
    if path.lower().endswith(PARQUET_SUFFIXES):
        return True
    if path == "-":
        return False
    found = remote.head(path)
    if found is not None:
        return found.startswith(b"PAR1")
    try:
        with open(path, "rb") as handle:
            return handle.read(4) == b"PAR1"
    except OSError:
        return False


def _polars_message(error: Exception) -> str:
    first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return first


def scan_file(path: str, delimiter: str | None = None) -> pl.LazyFrame:
    """A file scanned (CSV as text, its delimiter detected if None), with `_row`. A URL
    read on Spark is scanned as its head (read.remote): its columns and first rows."""
    source = remote.readable(path)
    if is_parquet(path):
        return pl.scan_parquet(source, row_index_name=ROW_COLUMN, row_index_offset=1)
    return pl.scan_csv(
        source,
        separator=file_delimiter(path, delimiter),
        infer_schema=False,
        row_index_name=ROW_COLUMN,
        row_index_offset=2,
    )


def part_column(path: str, scan: pl.LazyFrame, partition: RowFilter) -> str:
    """The file's own spelling of the header a part is split by (its headers checked first;
    a file with a header but no rows, or without that header, is an error)."""
    headers = [c for c in scan.collect_schema().names() if c != ROW_COLUMN]
    _check_headers(path, headers)
    if scan.head(1).collect().height == 0:
        raise InputError(f"{path}: the file has a header but no data rows")
    column = next((h for h in headers if header_key(h) == header_key(partition.column)), None)
    if column is None:
        raise InputError(f"{path}: no column {partition.column!r}, which the first file has")
    return column


def _read_part(path: str, partition: RowFilter, index: int, delimiter: str | None) -> pl.DataFrame:
    """The rows of one part of a file, scanned so that the rest is never held in memory."""
    scan = scan_file(path, delimiter)
    return partition.rows(index, scan, part_column(path, scan, partition))


def _read_one(
    path: str, partition: RowFilter | None = None, index: int = 0, delimiter: str | None = None
) -> pl.DataFrame:
    """One file as a DataFrame (CSV as text) with `_row`, the spreadsheet row of each row
    (a CSV header is row 1); `delimiter` None: detected from the header line."""
    data: bytes | None = None
    try:
        if partition is not None:
            part = _read_part(path, partition, index, delimiter)
            return part if is_parquet(path) else _part_fields(path, part, index, delimiter)
        if remote.head(path) is not None:  # never read whole here: its rows are on Spark
            raise InputError(f"{path}: only Spark reads this URL's rows (copy the file here)")
        source: str | io.BytesIO = path
        if path == "-":
            data = sys.stdin.buffer.read()
            source = io.BytesIO(data)
        if is_parquet(path) or (data or b"").startswith(b"PAR1"):
            return pl.read_parquet(source, row_index_name=ROW_COLUMN, row_index_offset=1)
        if path != "-" and os.path.getsize(path) == 0:
            raise InputError(f"{path}: the file is empty (0 bytes); was the export complete?")
        with open(path, "rb") if path != "-" else io.BytesIO(data or b"") as handle:
            head = handle.read(4096)
        if head.startswith((b"\xff\xfe", b"\xfe\xff")):
            raise InputError(
                f"{path}: the file is UTF-16 text, not UTF-8 (re-save it as UTF-8 CSV)"
            )
        if b"\x00" in head:
            raise InputError(f"{path}: the file is binary, not CSV text or Parquet")
        delimiter = delimiter or detect_delimiter(head)
        frame = pl.read_csv(
            source,
            separator=delimiter,
            infer_schema=False,
            row_index_name=ROW_COLUMN,
            row_index_offset=2,
        )
        _check_headers(path, [c for c in frame.columns if c != ROW_COLUMN])
        check_fields(path, frame, delimiter, ROW_COLUMN)
        return blank_is_empty(frame)
    except InputError:
        raise
    except pl.exceptions.NoDataError:
        raise InputError(f"{path}: the file is empty; was the export complete?") from None
    except (pl.exceptions.PolarsError, OSError, ValueError) as error:
        raise read_problem(path, error, delimiter, data) from None


def read_problem(
    path: str, error: Exception, delimiter: str | None, data: bytes | None = None
) -> InputError:
    """The one line that says why Polars could not read the file (a CSV problem at its row)."""
    message = _polars_message(error)
    if "utf-8" in message.lower() or "utf8" in message.lower():
        return InputError(f"{path}: the file is not UTF-8 text (re-save it as UTF-8 CSV)")
    head = remote.head(path)  # a URL: its first lines, which may end inside a quoted field
    located = _locate_csv_problem(path, data if head is None else head, delimiter or ",")
    if located is not None and (
        head is None or "a quoted field is never closed" not in str(located)
    ):
        return located
    return InputError(f"{path}: cannot read it as CSV or Parquet: {message}")


def _part_fields(path: str, part: pl.DataFrame, index: int, delimiter: str | None) -> pl.DataFrame:
    """A part of a CSV file checked as a whole file is (a row read as one field names the
    --delimiter that reads it, before any other check: RowProblem.order), blanks empty."""
    try:
        check_fields(path, part, file_delimiter(path, delimiter), ROW_COLUMN)
    except RowProblem as problem:
        problem.order = (0, 0, index)  # as the whole file stops: at reading, first file first
        raise
    return blank_is_empty(part)


def blank_is_empty(frame: pl.DataFrame) -> pl.DataFrame:
    """A CSV cell of nothing but spaces, or quoted and empty (`""`), is empty, as a spreadsheet
    shows it and as an unquoted empty cell reads (Polars read `""` as text, which an amount
    then read as 0, and Spark reads `""` as empty: a run on Spark stopped where a local one
    counted 0 MRR)."""
    text = [c for c, t in frame.schema.items() if t == pl.String and c != ROW_COLUMN]
    blank = (pl.col(c).str.strip_chars() == "" for c in text)
    emptied = frame.with_columns(
        pl.when(b).then(None).otherwise(pl.col(c)).alias(c)
        for b, c in zip(blank, text, strict=True)
    )
    # A blank line (or one of spaces) is no row: Polars read it as a row of empty cells (the
    # run stopped at "customer_id is empty" for a file ending in an empty line), Spark skips it.
    cells = [c for c in frame.columns if c != ROW_COLUMN]
    if not cells:
        return emptied
    return emptied.filter(~pl.all_horizontal(pl.col(c).is_null() for c in cells))


def _check_headers(path: str, columns: list[str]) -> None:
    """Two columns of one name leave no way to tell which one is meant."""
    seen: dict[str, str] = {}
    for column in columns:
        base = re.sub(r"_duplicated_\d+$", "", column)
        key = header_key(base)
        if key in seen or (base != column and header_key(base) in map(header_key, columns)):
            raise InputError(f"{path}: two columns are named {base.strip()!r} in the header")
        seen[key] = column


def _locate_csv_problem(path: str, data: bytes | None, delimiter: str) -> InputError | None:
    """The spreadsheet row of a structural CSV problem Polars reports without one."""
    try:
        text = (data or b"").decode("utf-8-sig") if path == "-" or data is not None else None
        handle: TextIO = (
            io.StringIO(text) if text is not None else open(path, encoding="utf-8-sig", newline="")  # noqa: SIM115 (closed below)
        )
        with handle:
            reader = csv.reader(handle, delimiter=delimiter, strict=True)
            header = next(reader, None)
            if header is None:
                return None
            check_header_fields(path, header, delimiter)
            record = 1
            try:
                for row in reader:
                    record += 1
                    if len(row) > len(header):
                        return row_problem(
                            path,
                            record,
                            None,
                            f"{len(row)} fields where the header has {len(header)} "
                            f"(separated by '{delimiter_name(delimiter)}'; check quoting, "
                            "or give --delimiter)",
                        )
            except csv.Error:
                return row_problem(path, record + 1, None, "a quoted field is never closed")
    except (OSError, UnicodeDecodeError):
        return None
    except InputError as error:
        return error
    return None


def rename_to_canonical(
    columns: Sequence[str], canonical: Sequence[str], mapping: Mapping[str, str]
) -> dict[str, str]:
    """Which header of the file stands for each canonical column, as a rename map.

    `mapping` takes canonical names to the user's header names (`--map start_date=Created`).
    A header stands for one canonical column only: the first that `mapping` gives it, else the
    one it is named after (`--map customer_id=subscription_item_id` keeps it the customer).
    """
    by_key: dict[str, str] = {}
    for column in columns:
        by_key.setdefault(header_key(column), column)
    renames: dict[str, str] = {}
    mapped = [name for name in canonical if name in mapping]
    for name in [*mapped, *(name for name in canonical if name not in mapping)]:
        actual = by_key.get(header_key(mapping.get(name, name)))
        if actual is not None and actual not in renames:
            renames[actual] = name
    return renames


def _check_same_columns(files: list[str], frames: list[pl.DataFrame]) -> None:
    """Files of one run are one table: a column missing from one would be read as empty."""
    first = set(frames[0].columns)
    for path, frame in zip(files[1:], frames[1:], strict=True):
        columns = set(frame.columns)
        if columns != first:
            lacking = sorted(first - columns)
            extra = sorted(columns - first)
            detail = (
                f"lacks {', '.join(lacking)}, which {files[0]} has"
                if lacking
                else f"has {', '.join(extra)}, which {files[0]} lacks"
            )
            raise InputError(
                f"{path}: its columns differ from the first file's: it {detail}; "
                "files of one run must have the same columns"
            )


def _canonical_frame(
    frame: pl.DataFrame, index: int, canonical: Sequence[str], mapping: Mapping[str, str]
) -> pl.DataFrame:
    """The frame of file number `index`: headers canonical (others as header_key), `_file`."""
    renames = rename_to_canonical(frame.columns, canonical, mapping)
    frame = frame.rename(renames)
    frame = frame.rename({c: header_key(c) for c in frame.columns if c not in renames.values()})
    # The readers number rows in chunks aligned with the data; the file index is built
    # from them so that it is aligned too (misaligned chunks cost a copy of every column
    # at the first operation that combines them).
    return frame.with_columns(
        (pl.col(ROW_COLUMN) * 0 + index).cast(pl.UInt16).alias(FILE_COLUMN),
        pl.col(ROW_COLUMN).cast(pl.UInt32),
    )


def read_table(
    paths: Sequence[str],
    canonical: Sequence[str],
    mapping: Mapping[str, str] | None = None,
    partition: RowFilter | None = None,
    delimiter: str | None = None,
) -> Table:
    """Read every file into one frame, headers renamed to their canonical names.

    Columns that are not canonical are kept under their own names (they decide duplicates:
    read.duplicates). CSV fields are separated by `delimiter`, by default the one each file's
    header line shows.
    """
    mapping = dict(mapping or {})
    files = expand_paths(paths)
    frames: list[pl.DataFrame] = []
    spelling: dict[str, str] = {}
    for index, path in enumerate(files):
        frame = _read_one(path, partition, index, delimiter)
        for column in frame.columns:
            spelling.setdefault(header_key(column), column.replace("\ufeff", "").strip())
        if frame.height == 0 and partition is None:
            raise InputError(f"{path}: the file has a header but no data rows")
        frames.append(_canonical_frame(frame, index, canonical, mapping))
    _check_same_columns(files, frames)
    combined = frames[0] if len(frames) == 1 else pl.concat(frames, how="diagonal_relaxed")
    return Table(frame=combined, files=files, spelling=spelling)
