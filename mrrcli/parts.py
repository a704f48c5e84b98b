"""Everything about running an export in parts by customer (SPEC §13).

A customer's movements depend only on its own rows, and every report is a sum over customers:
so an export may be read as parts that each hold whole customers (split by the engine's
customer hash), each part reduced to its partial sums (engine.partials), and the partials
combined. Whether an export may be split is decided from its source's declaration
(Source.read_whole_because), never per part; decisions that need the whole export (the
reporting currency, the date order, the total MRR bound) are checked across parts here.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import weakref
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import date
from typing import cast

import polars as pl

from mrrcli import batches
from mrrcli.engine.freshness import data_through
from mrrcli.engine.partials import Needs, Partial, partial
from mrrcli.errors import DiskError, InputError, RowProblem, row_problem
from mrrcli.normalize.periods import MAX_TOTAL_MRR, Glance, NormalizeOptions, Rows
from mrrcli.pipeline import load_rows, no_dated_copies, normalize_options
from mrrcli.read.files import expand_paths
from mrrcli.read.orders import Tally, chosen_order
from mrrcli.split import (
    Partition,
    os_reason,
    part_count,
    report_weight,
    split_column,
    split_files,
    temporary_directory,
)
from mrrcli.vocabulary import Engine, ReadOptions, Settings, counted

Ahead = batches.Ahead  # what a report will ask of each part (report.ahead)
# Told what a long run is doing, in a few words (the command line's spinner shows them).
Progress = Callable[[str], None]


def _untold(message: str) -> None:
    """No one is told (a run without a spinner)."""


def load(
    paths: Sequence[str],
    options: ReadOptions,
    ahead: Ahead | None = None,
    progress: Progress | None = None,
) -> Rows:
    """Read an export whole, or in parts when it is large (or `options.parts` says so) and
    its source allows it; Rows of a split export hold each part's rows in `parts`. With
    --engine spark the parts are computed on Spark (mrrcli.spark). With `ahead`, a part's
    partial sums are computed as it is read, and its rows are not kept (see Rows.early).
    `progress` is told when the split starts and as each part is read."""
    if options.engine == Engine.spark:
        from mrrcli.spark import load as load_on_spark

        return load_on_spark(paths, options)
    rows = _load(paths, options, ahead, progress or _untold)
    no_dated_copies((piece.frame for piece in rows.pieces()), rows.files)
    unattributed = sum(piece.unattributed for piece in rows.parts or [rows])
    if unattributed:
        rows.unattributed = unattributed
        rows.notes.append(
            f"{unattributed:,} customer{'s' if unattributed != 1 else ''} not in "
            f"{options.attributes}: segment (none)"
        )
    return rows


def _load(
    paths: Sequence[str], options: ReadOptions, ahead: Ahead | None, progress: Progress
) -> Rows:
    count = (
        options.parts
        if options.parts is not None
        else part_count(paths, options, report_weight(batches.needs_of(ahead)))
    )
    if count <= 1:
        return load_rows(paths, options)
    column, why = split_column(paths, options)
    if column is None:
        rows = load_rows(paths, options)
        rows.computed = f"read whole, not in {count} parts: {why}"
        return rows
    reading = normalize_options(options)
    sliced = batches.read(paths, options, reading, (count, column), ahead, progress)
    if sliced is not None:
        rows = joined(*sliced, count)
        rows.computed = batches.computed(count)
        return rows
    if len(expand_paths(paths)) > 1:
        ahead = None  # dated copies are looked for in every part's rows (no_dated_copies)
    spill = temporary_directory("mrrcli-rows-")
    try:
        with tempfile.TemporaryDirectory(prefix="mrrcli-split-") as split:
            partitions = [Partition(i, count, column, split) for i in range(count)]
            files = counted(len(expand_paths(paths)), "files")
            progress(f"splitting {files} into {count} parts by customer …")
            unsplit = split_files(paths, partitions[0], split, options.delimiter)
            again = bool(options.fx and not options.currency)  # may be read twice (below)
            pieces, total = read_parts(
                paths, options, reading, partitions, spill, again, ahead, progress
            )
            if len({p.currency for p in pieces}) > 1 and again:
                # Parts chose different reporting currencies; the whole export holds several,
                # and with rates it is reported in USD, as when read whole.
                reading = replace(reading, reporting_currency="USD")
                pieces, total = read_parts(
                    paths, options, reading, partitions, spill, False, ahead, progress
                )
        rows = joined(pieces or [load_rows(paths, options, reading, partitions[0])], total, count)
        for path, why in unsplit.items():
            rows.computed = (
                f"{rows.computed}; {path} could not be split in {os.path.dirname(split)} "
                f"({why}), so each part read the whole file (allow TMPDIR about 60 bytes a row)"
            )
    except BaseException:
        shutil.rmtree(spill, ignore_errors=True)
        raise
    weakref.finalize(rows, shutil.rmtree, spill, True)
    return rows


def read_parts(
    paths: Sequence[str],
    options: ReadOptions,
    reading: NormalizeOptions,
    partitions: Sequence[Partition],
    spill: str,
    keep: bool = False,
    ahead: Ahead | None = None,
    progress: Progress = _untold,
) -> tuple[list[Rows], int]:
    """Each part's Rows, one part at a time, its rows written to `spill` before the next is
    read (so that one part's rows are in memory at a time), or with `ahead` reduced to its
    partial sums (kept in `early`, the rows let go); and the MRR of all rows. The
    split's files of a part are removed once it is read, or once every part is (when its
    numeric dates may have to be read again in their file's order), unless `keep`. A bad
    input stops the run with the problem a whole run would stop at (first_problem).

    The order of each file's numeric dates is chosen from the values of all its parts (their
    tallies added up, read.dates.chosen_order), as a whole run chooses it from the whole
    file: a part whose own values chose another order (or none: no day above 12) is read
    again in its file's order."""
    found = _Found(spill, ahead, progress, keep)
    try:
        found.read(partitions, paths, options, reading)
        orders = file_orders(found.tallies.values())
        dates = replace(reading.dates, file_orders=tuple(sorted(orders.items())))
        reading = replace(reading, dates=dates)
        again = [p for p in partitions if misread(found.tallies.get(p.index), orders)]
        found.read(again, paths, options, reading)
        # A run that stops names the currencies of the whole export, as read whole: the
        # parts whose rows hold fewer are read again knowing them.
        known = tuple(sorted(set().union(*found.currencies.values())))
        fewer = [p for p in partitions if found.currencies.get(p.index, known) != known]
        if found.problems and fewer:
            found.read(fewer, paths, options, replace(reading, currencies_known=known))
    finally:
        if not keep:
            for partition in partitions:
                partition.remove()
    if found.problems:
        raise first_problem([found.problems[i] for i in sorted(found.problems)])
    pieces = [found.pieces[p.index] for p in partitions if p.index in found.pieces]
    return pieces, sum(found.totals.values())


def file_orders(tallies: Iterable[dict[int, Tally]]) -> dict[int, str]:
    """Each file's order of numeric dates (by file index), chosen from the tallies of all its
    parts added up, as a whole run chooses it from all its values (read.dates.chosen_order).
    A file whose values leave the order open is left out: it stops the run."""
    summed: dict[int, Tally] = {}
    for tally in tallies:
        for file, counts in tally.items():
            before = summed.get(file, (0, 0, 0))
            summed[file] = (before[0] + counts[0], before[1] + counts[1], before[2] + counts[2])
    chosen = {file: chosen_order(counts) for file, counts in summed.items()}
    return {file: order for file, order in chosen.items() if order is not None}


def misread(tally: dict[int, Tally] | None, orders: dict[int, str]) -> bool:
    """Whether a part whose files' dates tallied so read some file in another order than the
    file's own (or left it open): it is then read again in its files' orders. (A part that
    reads a file as year-first reads it alike in any order.)"""
    return tally is not None and any(
        file in orders and chosen_order(own) not in ("ymd", orders[file])
        for file, own in tally.items()
    )


class _Found:
    """What read_parts has read, by part index: each part's kept Rows, or the problem it
    stopped at; the tally of its files' dates (InputError.date_tally) and its MRR."""

    def __init__(self, spill: str, ahead: Ahead | None, progress: Progress, keep: bool) -> None:
        self.spill, self.ahead, self.progress, self.keep = spill, ahead, progress, keep
        self.pieces: dict[int, Rows] = {}
        self.problems: dict[int, InputError] = {}
        self.tallies: dict[int, dict[int, Tally]] = {}
        self.currencies: dict[int, tuple[str, ...]] = {}  # of a part's rows, once read
        self.totals: dict[int, int] = {}

    def read(
        self,
        partitions: Sequence[Partition],
        paths: Sequence[str],
        options: ReadOptions,
        reading: NormalizeOptions,
    ) -> None:
        """Read `partitions`, each replacing what an earlier read of it found. Once a part
        stopped before its dates were read (a problem no order of dates changes), the rows
        of the others are not kept: they are only read to find their problems."""
        for partition in partitions:
            self.progress(f"reading part {partition.index + 1} of {partition.count} …")
            for found in (self.pieces, self.problems, self.tallies, self.currencies, self.totals):
                found.pop(partition.index, None)
            try:
                piece = load_rows(paths, options, reading, partition)
            except InputError as problem:
                self.problems[partition.index] = problem
                if problem.date_tally is not None:
                    self.tallies[partition.index] = problem.date_tally
                if problem.currencies is not None:
                    self.currencies[partition.index] = problem.currencies
                continue
            self.tallies[partition.index] = piece.date_tally
            if not self.keep and all(chosen_order(t) == "ymd" for t in piece.date_tally.values()):
                # Year-first or typed dates read alike in any order: the part is read again
                # only if the run stops (to name every currency), then from the file itself.
                # Its split files go now, so the disk holds one copy of the data.
                partition.remove()
            if piece.frame.width:  # normalized (an empty part is not)
                self.currencies[partition.index] = piece.currencies
            final = any(p.date_tally is None for p in self.problems.values())
            if final or not piece.frame.height:
                continue
            total = piece.frame.select(pl.col("mrr").cast(pl.Int128).sum()).item() or 0
            path = os.path.join(self.spill, f"part{partition.index}.arrow")
            self.pieces[partition.index] = _kept(piece, path, self.ahead)
            self.totals[partition.index] = total
            del piece


def _kept(piece: Rows, path: str, ahead: Ahead | None) -> Rows:
    """What is kept of a part once read: its partial sums for the report `ahead` names, or
    else its rows written to `path` (read back by Rows.pieces); and its Glance."""
    glance = Glance.of(piece.frame)
    if ahead is not None:
        settings, needs = ahead(piece)
        early = (settings, needs, partial(piece.frame, settings, needs))
        return replace(piece, frame=piece.frame.clear(), glance=glance, early=early)
    try:
        piece.frame.write_ipc(path)
    except (OSError, pl.exceptions.PolarsError) as error:
        if os_reason(error) is None:
            raise
        raise DiskError(
            f"cannot write a part's rows in {os.path.dirname(os.path.dirname(path))}: "
            f"{os_reason(error)}; set TMPDIR to a disk with room (about 110 bytes a row)"
        ) from None
    return replace(piece, frame=piece.frame.clear(), spilled=path, glance=glance)


def first_problem(problems: Sequence[InputError]) -> InputError:
    """The problem a whole run stops at, from the first problem of each part that has one.
    A whole run stops at the first step of the pipeline (and check of that step) that some
    row fails, naming the first such row of the export and counting the others: so does a
    run in parts, over the parts that stopped at that step (the rows that fail it are all
    in them, since a part stops at its first problem). A problem whose place is not known
    (not a row's) is told as the first part that met it tells it."""
    placed = [(p.order, p) for p in problems if isinstance(p, RowProblem) and p.order is not None]
    if len(placed) < len(problems):
        return next(p for p in problems if all(p is not q for _, q in placed))
    step = min(order[:2] for order, _ in placed)
    there = [(order[2], p) for order, p in placed if order[:2] == step]
    _, first = min(there, key=lambda item: (item[0], item[1].row or 0))
    if first.row is None:
        return first
    others = sum(p.others + 1 for _, p in there) - 1
    return row_problem(first.file, first.row, first.column, first.problem, others)


def _has_rows(piece: Rows) -> bool:
    """Whether a part holds MRR rows: in its frame, on disk, or elsewhere (Spark)."""
    held = piece.spilled is not None or piece.early is not None or piece.remote is not None
    return piece.frame.height > 0 or held


def joined(parts: list[Rows], total: int, count: int | None = None) -> Rows:
    """Parts of one export as one Rows: they must agree on the reporting currency, and their
    MRR (`total`, over all parts) must add up within the bounds of one export. (Each file's
    order of dates is chosen over all its parts as they are read: read_parts.) `count`: the
    parts the export was split into, some perhaps empty (by default, those given)."""
    files = ", ".join(parts[0].files)
    _check_across_parts(parts, files, total)
    first = next((p for p in parts if _has_rows(p)), parts[0])
    set_aside: dict[str, int] = {}
    for part in parts:
        for reason, n in part.set_aside.items():
            set_aside[reason] = set_aside.get(reason, 0) + n
    said = {counted(n, f"{reason} set aside") for p in parts for reason, n in p.set_aside.items()}
    notes = list(dict.fromkeys(n for p in parts for n in p.notes if n not in said))
    computed = (
        f"read in {counted(count or len(parts), 'parts')} by customer "
        f"({counted(len(parts[0].files), 'files')})"
    )
    return replace(
        first,
        frame=first.frame.clear(),
        spilled=None,
        glance=None,
        early=None,
        read=sum(p.read for p in parts),
        duplicates=sum(p.duplicates for p in parts),
        trial_rows=sum(p.trial_rows for p in parts),
        zero_rows=sum(p.zero_rows for p in parts),
        unpaid_rows=sum(p.unpaid_rows for p in parts),
        over_discount_rows=sum(p.over_discount_rows for p in parts),
        notes=notes + [counted(n, f"{reason} set aside") for reason, n in set_aside.items()],
        computed=computed,
        set_aside=set_aside,
        parts=parts,
    )


def _check_across_parts(parts: list[Rows], files: str, total: int) -> None:
    """What a whole read decides over all rows, decided over all parts."""
    if total > MAX_TOTAL_MRR:
        raise InputError(
            f"{files}: the MRR of all rows together ({total:,} minor units) is too large to add "
            "up exactly: it would overflow the reports' 64-bit sums (limit 2^62 minor units); "
            "check the amount unit (--amount-unit) and quantities"
        )
    currencies = sorted({p.currency for p in parts if _has_rows(p)})
    if len(currencies) > 1:
        raise InputError(
            f"{files}: the data holds several currencies "
            f"({', '.join(currencies)}) and no --fx rates; currencies are never added together "
            "or converted without rates: give --fx rates.csv (date,currency,rate)"
        )


def last_day(rows: Rows, settings: Settings) -> date | None:
    """The export's last event day on or before the as-of date, over every part (SPEC §12)."""
    if rows.remote is not None:
        return cast(date | None, rows.remote.data_through(rows.shape, settings.as_of))
    return data_through(rows.day_frames(), rows.shape, settings.as_of)


def partials(rows: Rows, settings: Settings, needs: Needs) -> list[Partial]:
    """One partial per part of an export read in parts (one for an export read whole)."""
    if rows.remote is not None:
        return list(rows.remote.partials(settings, needs))
    early = [piece.early for piece in rows.parts if piece.early is not None]
    if early and all(e[:2] == (settings, needs) for e in early) and len(early) == len(rows.parts):
        return [e[2] for e in early]
    return [partial(piece.frame, settings, needs) for piece in rows.pieces()]


__all__ = ["Partition", "joined", "last_day", "load", "partials", "split_column"]
