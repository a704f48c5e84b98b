"""Files → one Polars frame: CSV or Parquet, paths, globs or stdin (SPEC §2, §2.5).

Reading only gathers text (or Parquet's typed values) under canonical column names, with the
file and spreadsheet row of each row kept for error messages. Turning values into dates and
money is normalize.py's job.
"""

from __future__ import annotations

import glob
import io
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import polars as pl

from mrrcli.errors import InputError, UsageError

FILE_COLUMN = "_file"
ROW_COLUMN = "_row"
PARQUET_SUFFIXES = (".parquet", ".pq", ".parq")


@dataclass
class Table:
    """The rows of every input file, concatenated, with where each row came from."""

    frame: pl.DataFrame
    files: list[str]
    duplicates: int = 0
    header_rows: list[int] = field(default_factory=list)  # rows before data, per file

    def where(self, file_index: int, row: int) -> tuple[str, int]:
        return self.files[file_index], row


def header_key(name: str) -> str:
    """Headers match case-insensitively, ignoring surrounding spaces and a byte-order mark."""
    return name.replace("\ufeff", "").strip().lower()


def expand_paths(paths: Sequence[str]) -> list[str]:
    """Expand globs; `-` stands for stdin. A path or pattern that matches nothing is an error."""
    expanded: list[str] = []
    for path in paths:
        if path == "-":
            expanded.append(path)
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


def _is_parquet(path: str) -> bool:
    if path.lower().endswith(PARQUET_SUFFIXES):
        return True
    if path == "-":
        return False
    try:
        with open(path, "rb") as handle:
            return handle.read(4) == b"PAR1"
    except OSError:
        return False


def _polars_message(error: Exception) -> str:
    first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return first


def _read_one(path: str) -> tuple[pl.DataFrame, int]:
    """One file as a DataFrame (CSV as text) and the number of lines before its first data row."""
    try:
        if _is_parquet(path):
            return pl.read_parquet(path), 0
        source: str | io.BytesIO = path
        if path == "-":
            source = io.BytesIO(sys.stdin.buffer.read())
        elif os.path.getsize(path) == 0:
            raise InputError(f"{path}: the file is empty (0 bytes); was the export complete?")
        frame = pl.read_csv(source, infer_schema=False)
        return frame, 1
    except InputError:
        raise
    except pl.exceptions.NoDataError:
        raise InputError(f"{path}: the file is empty; was the export complete?") from None
    except (pl.exceptions.PolarsError, OSError, ValueError) as error:
        message = _polars_message(error)
        if "utf-8" in message.lower() or "utf8" in message.lower():
            message = "the file is not UTF-8 text (re-save it as UTF-8 CSV)"
        elif "more fields" in message.lower():
            message = "a row has more fields than the header (check delimiters and quoting)"
        raise InputError(f"{path}: cannot read it as CSV or Parquet: {message}") from None


def rename_to_canonical(
    columns: Sequence[str], canonical: Sequence[str], mapping: Mapping[str, str]
) -> dict[str, str]:
    """Which header of the file stands for each canonical column, as a rename map.

    `mapping` takes canonical names to the user's header names (`--map start_date=Created`).
    """
    by_key: dict[str, str] = {}
    for column in columns:
        by_key.setdefault(header_key(column), column)
    renames: dict[str, str] = {}
    for name in canonical:
        wanted = mapping.get(name, name)
        actual = by_key.get(header_key(wanted))
        if actual is not None:
            renames[actual] = name
    return renames


def read_table(
    paths: Sequence[str],
    canonical: Sequence[str],
    mapping: Mapping[str, str] | None = None,
    keep_duplicates: bool = False,
) -> Table:
    """Read every file into one frame, headers renamed to their canonical names.

    Columns that are not canonical are kept under their own names (they decide duplicates).
    Rows identical in every column are kept once unless `keep_duplicates`.
    """
    mapping = dict(mapping or {})
    files = expand_paths(paths)
    frames: list[pl.DataFrame] = []
    header_rows: list[int] = []
    for index, path in enumerate(files):
        frame, header_lines = _read_one(path)
        if frame.height == 0:
            raise InputError(f"{path}: the file has a header but no data rows")
        renames = rename_to_canonical(frame.columns, canonical, mapping)
        frame = frame.rename(renames)
        frame = frame.rename({c: header_key(c) for c in frame.columns if c not in renames.values()})
        frame = frame.with_columns(
            pl.lit(index, dtype=pl.UInt16).alias(FILE_COLUMN),
            (pl.int_range(pl.len(), dtype=pl.UInt32) + 1 + header_lines).alias(ROW_COLUMN),
        )
        frames.append(frame)
        header_rows.append(header_lines)
    combined = frames[0] if len(frames) == 1 else pl.concat(frames, how="diagonal_relaxed")
    duplicates = 0
    if not keep_duplicates:
        data_columns = [c for c in combined.columns if c not in (FILE_COLUMN, ROW_COLUMN)]
        # Hash whole rows; only rows whose hash repeats are compared exactly.
        hashed = combined.select(pl.struct(data_columns).hash(seed=0).is_duplicated()).to_series()
        if hashed.any():
            candidates = combined.filter(hashed)
            first = candidates.select(pl.struct(data_columns).is_first_distinct()).to_series()
            duplicates = candidates.height - int(first.sum())
            if duplicates:
                drop = candidates.filter(~first).select(FILE_COLUMN, ROW_COLUMN)
                combined = combined.join(
                    drop, on=[FILE_COLUMN, ROW_COLUMN], how="anti", maintain_order="left"
                )
    return Table(frame=combined, files=files, duplicates=duplicates, header_rows=header_rows)
