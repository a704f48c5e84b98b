"""Problems found in an export: where they are, how many rows share them, and whether a run
stops at the first (a report) or gathers them all (`mrrcli validate`)."""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import polars as pl

from mrrcli.errors import InputError, RowProblem, row_problem
from mrrcli.read.files import FILE_COLUMN, ROW_COLUMN, Table, header_key
from mrrcli.read.orders import Tally
from mrrcli.vocabulary import SHAPE_COLUMNS

CANONICAL = {c for columns in SHAPE_COLUMNS.values() for c in columns}


@dataclass(frozen=True)
class Check:
    """A row-level test: `bad` marks the rows with the problem `problem(value)` describes."""

    column: str
    bad: pl.Expr
    problem: Callable[[object], str]
    show_column: bool = True  # False: a problem of the whole row, not of one column


@dataclass(frozen=True)
class Problem:
    """One kind of problem in one file: where it first occurs and how many rows share it."""

    file: str
    row: int | None
    column: str | None
    message: str
    count: int = 1
    rows: tuple[int, ...] = ()  # the first few spreadsheet rows with the problem
    severity: Literal["error", "warning"] = "error"

    def as_error(self) -> RowProblem:
        return row_problem(self.file, self.row, self.column, self.message, self.count - 1)


class Stop(Exception):
    """Gathering problems cannot go on (a required column is missing)."""


class Findings:
    """Problems found in the input. Reports stop at the first (`gather=False`, raising an
    InputError naming file, row and column); `mrrcli validate` gathers them all."""

    def __init__(self, table: Table, gather: bool = False) -> None:
        self.table = table
        self.gather = gather
        self.problems: list[Problem] = []
        self.steps = 0  # checks and failures met so far: where a run stops (RowProblem.order)
        # What each file's dates told once read (file index → Tally), given to the errors
        # raised from then on (InputError.date_tally)
        self.dates_told: dict[int, Tally] | None = None
        # The currencies of the rows once read, given to the errors raised from then on
        # (InputError.currencies)
        self.currencies_told: tuple[str, ...] | None = None

    def fail(self, message: str, file: str | None = None, fatal: bool = False) -> None:
        """A problem of a whole file (or of the run)."""
        problem = Problem(file or ", ".join(self.table.files), None, None, message)
        self.steps += 1
        if not self.gather:
            if file is None:
                raise self._told(InputError(message))
            error = problem.as_error()
            # of the first file with it, as a whole run meets it (mrrcli.parts.first_problem)
            index = self.table.files.index(file) if file in self.table.files else -1
            error.order = (self.steps, 0, index)
            raise self._told(error)
        self.problems.append(problem)
        if fatal:
            raise Stop

    def _told(self, error: InputError) -> InputError:
        """`error` with what the input told so far (see dates_told, currencies_told)."""
        error.date_tally, error.currencies = self.dates_told, self.currencies_told
        return error

    def shown(self, column: str) -> str:
        """`column` as the file writes its header (the canonical name when none does)."""
        return self.table.written.get(column, column)

    def warn(self, message: str, file: str | None = None, count: int = 0) -> None:
        self.problems.append(
            Problem(file or ", ".join(self.table.files), None, None, message, count, (), "warning")
        )

    def check(self, frame: pl.DataFrame, checks: list[Check], warning: bool = False) -> None:
        """Evaluate row checks in one pass; raise on the first failing one unless gathering.
        A step is counted even without checks: a run in parts numbers each step alike in
        every part, whatever its rows (RowProblem.order, mrrcli.parts.first_problem)."""
        self.steps += 1
        if not checks:
            return
        counts = frame.select(
            [check.bad.fill_null(False).sum().alias(str(i)) for i, check in enumerate(checks)]
        ).row(0)
        for index, (check, count) in enumerate(zip(checks, counts, strict=True)):
            if not count:
                continue
            bad = frame.filter(check.bad.fill_null(False))
            if not self.gather:
                first = bad.row(0, named=True)
                error = row_problem(
                    self.table.files[first[FILE_COLUMN]],
                    first[ROW_COLUMN],
                    self.shown(check.column),
                    check.problem(first.get(check.column)),
                    int(count) - 1,
                )
                error.order = (self.steps, index, first[FILE_COLUMN])
                raise self._told(error)
            per_file = bad.group_by(FILE_COLUMN, maintain_order=True).agg(
                pl.len().alias("count"),
                pl.col(ROW_COLUMN).head(5).alias("rows"),
                pl.col(check.column).first().alias("value")
                if check.column in frame.columns
                else pl.lit(None).alias("value"),
            )
            for file_index, n, rows, value in per_file.iter_rows():
                self.problems.append(
                    Problem(
                        self.table.files[file_index],
                        rows[0],
                        self.shown(check.column) if check.show_column else None,
                        check.problem(value),
                        int(n),
                        tuple(rows),
                        "warning" if warning else "error",
                    )
                )


def missing_columns(
    missing: Sequence[str], headers: Sequence[str], spelling: Mapping[str, str]
) -> str:
    """The problem of required columns `missing` from a file of `headers`, named as the file
    writes them (`spelling`), with a ready-to-paste --map for each header close to one."""
    written = [spelling.get(header_key(h), h) for h in headers]
    message = (
        f"missing required column{'s' if len(missing) > 1 else ''} {', '.join(missing)}; "
        f"the file has {', '.join(written)}. "
        "Use --map canonical=Header to name them"
    )
    suggestions = map_suggestions(missing, [h for h in written if header_key(h) not in CANONICAL])
    if suggestions:
        message += ", e.g. " + " ".join(suggestions)
    return message


def map_suggestions(missing: Sequence[str], headers: Sequence[str]) -> list[str]:
    """`--map canonical=Header` for each missing column that a header resembles (difflib, and
    a word of the header begins like the column's first word: `Cust ID` for customer_id, not
    `Account` for amount), each header offered once, quoted for a shell when it needs to be."""

    def plain(name: str) -> str:
        return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")

    def related(canonical: str, header: str) -> bool:
        first = plain(canonical).split("_")[0]
        return any(w[:3] == first[:3] and len(w) >= 3 for w in header.split("_"))

    by_plain = {plain(h): h for h in reversed(headers)}
    suggestions = []
    for canonical in missing:
        candidates = [h for h in by_plain if related(canonical, h)]
        close = difflib.get_close_matches(plain(canonical), candidates, n=1, cutoff=0.6)
        if close:
            header = by_plain.pop(close[0])
            suggestions.append(f"--map {canonical}={_shell_word(header)}")
    return suggestions


def _shell_word(text: str) -> str:
    """`text` as one shell word: bare when safe, else in double quotes."""
    if re.fullmatch(r"[A-Za-z0-9_.,:/+-]+", text):
        return text
    return '"' + re.sub(r'(["$`\\])', r"\\\1", text) + '"'
