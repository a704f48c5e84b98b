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
from collections.abc import Sequence
from dataclasses import dataclass, replace

import polars as pl

from mrrcli.engine.keys import customer_hash
from mrrcli.engine.partials import Needs, Partial, partial
from mrrcli.errors import InputError
from mrrcli.normalize.periods import MAX_TOTAL_MRR, Rows
from mrrcli.pipeline import load_rows, no_dated_copies, normalize_options
from mrrcli.read.files import expand_paths, header_key, is_parquet
from mrrcli.sources import by_name, detect, lookup_for
from mrrcli.sources.inputs import headers_of
from mrrcli.vocabulary import ReadOptions, Settings

# Parts hold about this many rows each when an export is split by size.
PART_ROWS = 12_000_000


@dataclass(frozen=True)
class Partition:
    """Part `index` of `count` of the customers: the rows whose customer id (in the header
    `column`, each file's own spelling) hashes to it. A customer's rows all fall in one part."""

    index: int
    count: int
    column: str

    def keeps(self, column: str) -> pl.Expr:
        """True for the rows of this part (read.files.RowFilter)."""
        customer = pl.col(column).cast(pl.String).str.strip_chars().replace("", None)
        return customer_hash(customer) % self.count == self.index


def load(paths: Sequence[str], options: ReadOptions) -> Rows:
    """Read an export whole, or in parts when it is large (or `options.parts` says so) and
    its source allows it; Rows of a split export hold each part's rows in `parts`."""
    rows = _load(paths, options)
    no_dated_copies([piece.frame for piece in rows.pieces()], rows.files)
    return rows


def _load(paths: Sequence[str], options: ReadOptions) -> Rows:
    count = options.parts if options.parts is not None else part_count(paths, options)
    column = split_column(paths, options) if count > 1 else None
    if column is None:
        return load_rows(paths, options)
    partitions = [Partition(i, count, column) for i in range(count)]
    reading = normalize_options(options)
    pieces = [load_rows(paths, options, reading, p) for p in partitions]
    if (
        len({p.currency for p in pieces if p.frame.height}) > 1
        and options.fx
        and not options.currency
    ):
        # Parts chose different reporting currencies; the whole export holds several, and
        # with rates it is reported in USD, as when read whole.
        reading = replace(reading, reporting_currency="USD")
        pieces = [load_rows(paths, options, reading, p) for p in partitions]
    return joined([p for p in pieces if p.frame.height] or pieces[:1])


def part_count(paths: Sequence[str], options: ReadOptions) -> int:
    """How many parts to read an export in: by its number of rows (estimated for CSV)."""
    rows = 0
    for path in expand_paths(paths):
        if path == "-":
            return 1
        if is_parquet(path):
            try:
                rows += pl.scan_parquet(path).select(pl.len()).collect().item()
            except (pl.exceptions.PolarsError, OSError):
                return 1  # read whole: reading it says what is wrong, with the file's name
        else:
            with open(path, "rb") as handle:
                sample = handle.read(1 << 20)
            lines = max(sample.count(b"\n"), 1)
            rows += os.path.getsize(path) * lines // max(len(sample), 1)
    if rows <= options.whole_rows:
        return 1
    return -(-rows // min(PART_ROWS, options.whole_rows))


def split_column(paths: Sequence[str], options: ReadOptions) -> str | None:
    """The header that holds the customer id when an export can be read in parts: files (not
    stdin) of a source whose rules look at one customer at a time (see
    Source.read_whole_because), no lookup table beside them, and the customer id in one header
    (a source that falls back to a second header for it cannot be split by the first)."""
    files = expand_paths(paths)
    if "-" in files:
        return None
    headers = headers_of(files[0])
    if not headers or any(lookup_for(headers_of(path)) is not None for path in files):
        return None
    chosen = detect(headers)[0] if options.source == "auto" else by_name(options.source)
    if chosen.read_whole_because() is not None:
        return None
    if "customer_id" in options.mapping:
        wanted = options.mapping["customer_id"]
    else:
        candidates = chosen.fallbacks(headers).get("customer_id", ["customer_id"])
        if len(candidates) != 1:
            return None
        wanted = candidates[0]
    return next((h for h in headers if header_key(h) == header_key(wanted)), None)


def joined(parts: list[Rows]) -> Rows:
    """Parts of one export as one Rows: they must agree on the reporting currency and on how
    dates are read, and their MRR must add up within the bounds of one export."""
    files = ", ".join(parts[0].files)
    _check_across_parts(parts, files)
    first = next((p for p in parts if p.frame.height), parts[0])
    set_aside: dict[str, int] = {}
    for part in parts:
        for reason, n in part.set_aside.items():
            set_aside[reason] = set_aside.get(reason, 0) + n
    said = {f"{n:,} {reason} set aside" for p in parts for reason, n in p.set_aside.items()}
    notes = list(dict.fromkeys(n for p in parts for n in p.notes if n not in said))
    notes.append(f"read in {len(parts)} parts by customer ({len(parts[0].files)} file(s))")
    return replace(
        first,
        frame=first.frame.clear(),
        read=sum(p.read for p in parts),
        duplicates=sum(p.duplicates for p in parts),
        trial_rows=sum(p.trial_rows for p in parts),
        zero_rows=sum(p.zero_rows for p in parts),
        over_discount_rows=sum(p.over_discount_rows for p in parts),
        notes=notes + [f"{n:,} {reason} set aside" for reason, n in set_aside.items()],
        set_aside=set_aside,
        parts=parts,
    )


def _check_across_parts(parts: list[Rows], files: str) -> None:
    """What a whole read decides over all rows, decided over all parts."""
    orders = set().union(*(p.date_orders for p in parts)) & {"mdy", "dmy"}
    if len(orders) > 1:
        raise InputError(
            f"{files}: numeric dates are day-first in some rows and month-first in others; "
            "give --date-format"
        )
    total = sum(
        p.frame.select(pl.col("mrr").cast(pl.Int128).sum()).item() or 0
        for p in parts
        if p.frame.height
    )
    if total > MAX_TOTAL_MRR:
        raise InputError(
            f"{files}: the MRR of all rows together ({total:,} minor units) is too large to add "
            "up exactly: it would overflow the reports' 64-bit sums (limit 2^62 minor units); "
            "check the amount unit (--amount-unit) and quantities"
        )
    currencies = sorted({p.currency for p in parts if p.frame.height})
    if len(currencies) > 1:
        raise InputError(
            f"{files}: the data holds several currencies "
            f"({', '.join(currencies)}) and no --fx rates; currencies are never added together "
            "or converted without rates: give --fx rates.csv (date,currency,rate)"
        )


def partials(rows: Rows, settings: Settings, needs: Needs) -> list[Partial]:
    """One partial per part of an export read in parts (one for an export read whole)."""
    return [partial(piece.frame, settings, needs) for piece in rows.pieces()]


__all__ = ["Partition", "joined", "load", "partials", "split_column"]
