"""Problems found in an export: where they are, how many rows share them, and whether a run
stops at the first (a report) or gathers them all (`mrrcli validate`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import polars as pl

from mrrcli.errors import InputError, row_problem
from mrrcli.read.files import FILE_COLUMN, ROW_COLUMN, Table


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

    def as_error(self) -> InputError:
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

    def fail(self, message: str, file: str | None = None, fatal: bool = False) -> None:
        """A problem of a whole file (or of the run)."""
        problem = Problem(file or ", ".join(self.table.files), None, None, message)
        if not self.gather:
            if file is None:
                raise InputError(message)
            raise problem.as_error()
        self.problems.append(problem)
        if fatal:
            raise Stop

    def warn(self, message: str, file: str | None = None, count: int = 0) -> None:
        self.problems.append(
            Problem(file or ", ".join(self.table.files), None, None, message, count, (), "warning")
        )

    def check(self, frame: pl.DataFrame, checks: list[Check], warning: bool = False) -> None:
        """Evaluate row checks in one pass; raise on the first failing one unless gathering."""
        if not checks:
            return
        counts = frame.select(
            [check.bad.fill_null(False).sum().alias(str(i)) for i, check in enumerate(checks)]
        ).row(0)
        for check, count in zip(checks, counts, strict=True):
            if not count:
                continue
            bad = frame.filter(check.bad.fill_null(False))
            if not self.gather:
                first = bad.row(0, named=True)
                raise row_problem(
                    self.table.files[first[FILE_COLUMN]],
                    first[ROW_COLUMN],
                    check.column,
                    check.problem(first.get(check.column)),
                    int(count) - 1,
                )
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
                        check.column if check.show_column else None,
                        check.problem(value),
                        int(n),
                        tuple(rows),
                        "warning" if warning else "error",
                    )
                )
