"""`mrrcli validate`: read an export the way the reports do and list every problem found.

Errors stop a report; warnings do not (rows set aside, duplicates, overlaps). Each problem
names its file, the first spreadsheet rows, the column and how many rows share it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import polars as pl

from mrrcli.normalize.periods import Rows
from mrrcli.pipeline import (
    dated_copies,
    for_source,
    normalize_options,
    open_export,
    periods_of,
    rows_of,
)
from mrrcli.read.files import FILE_COLUMN, ROW_COLUMN, Table
from mrrcli.read.problems import Check, Findings, Problem, Stop
from mrrcli.vocabulary import ReadOptions, counted

PROBLEM_COLUMNS = ("severity", "file", "rows", "column", "count", "problem")


@dataclass
class Validation:
    """What validate found: the problems, and how many rows were read, used and set aside."""

    files: list[str]
    read: int
    used: int
    set_aside: dict[str, int]
    problems: list[Problem]

    @property
    def errors(self) -> int:
        return sum(1 for p in self.problems if p.severity == "error")

    @property
    def warnings(self) -> int:
        return sum(1 for p in self.problems if p.severity == "warning")

    def frame(self) -> pl.DataFrame:
        """One row per problem, by file and row, in the §7.1 spirit: plain columns for pipes."""
        # In the order of the files and of their rows, as a user fixes them (a problem of a
        # whole file or of the run first, then by row; an error before a warning on one row).
        files = {file: index for index, file in enumerate(self.files)}
        ordered = sorted(
            self.problems,
            key=lambda p: (files.get(p.file, -1), p.row or 0, p.severity != "error"),
        )
        return pl.DataFrame(
            {
                "severity": [p.severity for p in ordered],
                "file": [p.file for p in ordered],
                "rows": [_rows_text(p) for p in ordered],
                "column": [p.column for p in ordered],
                "count": [p.count for p in ordered],
                "problem": [p.message for p in ordered],
            },
            schema={
                "severity": pl.String,
                "file": pl.String,
                "rows": pl.String,
                "column": pl.String,
                "count": pl.Int64,
                "problem": pl.String,
            },
        )

    def summary(self) -> str:
        parts = [counted(self.read, "rows read"), f"{self.used:,} used"]
        aside = ", ".join(counted(n, why) for why, n in self.set_aside.items() if n)
        if aside:
            parts.append(f"set aside or at 0 MRR: {aside}")
        parts.append(f"{counted(self.errors, 'errors')}, {counted(self.warnings, 'warnings')}")
        return "; ".join(parts)


def _rows_text(problem: Problem) -> str:
    if not problem.rows:
        return ""
    text = ", ".join(str(r) for r in problem.rows)
    return text + (", …" if problem.count > len(problem.rows) else "")


def _overlaps(table: Table, rows: Rows, findings: Findings) -> None:
    """Rows of one subscription and plan whose periods overlap: usually a versioned export read
    whole (rows of different plans are items or add-ons of the subscription, and add up)."""
    key = ["subscription_id", "plan_id"]
    frame = rows.frame.sort(*key, "start_date", "end_date", nulls_last=True)
    previous_end = pl.col("end_date").shift(1).over(key)
    overlapping = frame.filter(
        (pl.col("subscription_id") == pl.col("subscription_id").shift(1))
        & pl.col("plan_id").eq_missing(pl.col("plan_id").shift(1))
        & (previous_end.is_null() | (pl.col("start_date") < previous_end))
        & pl.col("subscription_id").shift(1).is_not_null()
    )
    if overlapping.height == 0:
        return
    per_file = overlapping.group_by(FILE_COLUMN, maintain_order=True).agg(
        pl.len(), pl.col(ROW_COLUMN).sort().head(5)
    )
    for file_index, count, first_rows in per_file.iter_rows():
        findings.problems.append(
            Problem(
                table.files[file_index],
                first_rows[0],
                "start_date",
                "starts before the previous row of the same subscription_id ends (overlapping "
                "periods add up; is this a history table with several versions of a row?)",
                int(count),
                tuple(first_rows),
                "warning",
            )
        )


def validate_export(paths: Sequence[str], options: ReadOptions) -> Validation:
    """Read `paths` as the reports do (mrrcli.pipeline) and gather every problem instead of
    stopping. The source's zone, statuses and (unless --amount-unit is given) unit apply."""
    inp = open_export(paths, options)
    table = inp.table
    findings = Findings(table, gather=True)
    for message in inp.notes:
        findings.warn(message)
    read = table.frame.height + table.duplicates
    set_aside: dict[str, int] = {"duplicate rows (counted once)": table.duplicates}
    _duplicates(table, findings)
    reading = for_source(inp, normalize_options(options), options)
    try:
        periods = periods_of(inp, reading, findings)
        for reason, count in inp.set_aside.items():
            set_aside[reason] = count
            findings.warn(f"{reason} carry no MRR and are set aside", count=count)
        rows = rows_of(inp, periods, reading, findings)
    except Stop:
        return Validation(table.files, read, 0, set_aside, findings.problems)
    # Warnings are listed even when there are errors: a user fixes everything in one pass.
    set_aside["trial rows"] = rows.trial_rows
    set_aside["rows with a zero amount or a full discount"] = rows.zero_rows
    if rows.unpaid_rows:
        set_aside["rows whose status never paid"] = rows.unpaid_rows
    if rows.over_discount_rows:
        set_aside["rows with a discount larger than the price"] = rows.over_discount_rows
    _zero_rows(rows, findings)
    usable = rows.frame.filter(pl.col("mrr").is_not_null() & pl.col("start_date").is_not_null())
    _overlaps(table, replace(rows, frame=usable), findings)
    copies = dated_copies([usable], table.files)
    if copies is not None:
        findings.problems.append(Problem(", ".join(table.files), None, None, copies))
    # Rows with an error carry no MRR (null): the rows used are the others that carry some.
    used = rows.paying_rows()
    return Validation(table.files, read, used, set_aside, findings.problems)


def _duplicates(table: Table, findings: Findings) -> None:
    """Rows the same as an earlier one (values as read): counted once, listed as a warning."""
    if not table.duplicates or table.duplicate_rows is None:
        return
    findings.check(
        table.duplicate_rows.with_columns(pl.lit(True).alias("_duplicate")),
        [
            Check(
                "_duplicate",
                pl.col("_duplicate"),
                lambda v: (
                    "the same as an earlier row in every column (values as read: 10 = "
                    "10.00, ids without surrounding spaces): counted once "
                    "(--keep-duplicates counts it)"
                ),
                show_column=False,
            )
        ],
        warning=True,
    )


def _zero_rows(rows: Rows, findings: Findings) -> None:
    """Trial rows, rows at 0 MRR and rows whose discount is larger than their price:
    warnings, since they carry no MRR."""
    over = rows.over_discount
    frame = rows.frame
    if over is not None and over.height:
        findings.check(
            over.with_columns(pl.lit(True).alias("_over")),
            [
                Check(
                    "discount_amount",
                    pl.col("_over"),
                    lambda v: (
                        "the discount is larger than the price (amount × quantity, less "
                        "discount_percent): the row counts as 0 MRR, never negative"
                    ),
                )
            ],
            warning=True,
        )
        frame = frame.join(over, on=[FILE_COLUMN, ROW_COLUMN], how="anti")
    findings.check(
        frame,
        [
            Check("status", pl.col("_trial"), lambda v: "a trial row: carries 0 MRR"),
            Check(
                "amount",
                (pl.col("mrr") == 0) & ~pl.col("_trial"),
                lambda v: (
                    "carries 0 MRR (a zero amount, a full discount or a status that never paid)"
                ),
            ),
        ],
        warning=True,
    )
