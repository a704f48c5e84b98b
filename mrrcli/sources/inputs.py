"""From files to a `periods` table: read, recognise the source, map headers, convert shapes.

Shared by every report and by `validate`, so both read an export exactly the same way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import polars as pl

from mrrcli.errors import InputError, UsageError
from mrrcli.read import remote
from mrrcli.read.dates import DateParsing
from mrrcli.read.duplicates import (
    SAME_CODE,
    SAME_DATE,
    SAME_ID,
    SAME_MONTH,
    SAME_NUMBER,
    DatesRead,
    drop_duplicates,
)
from mrrcli.read.european import NUMBER_COLUMNS, file_delimiter
from mrrcli.read.files import (
    RowFilter,
    Table,
    expand_paths,
    header_key,
    is_parquet,
    read_table,
    rename_to_canonical,
)
from mrrcli.read.problems import Findings
from mrrcli.sources import Lookup, Source, by_name, detect, lookup_for
from mrrcli.sources.shapes import (
    billing_zone_dates,
    invoice_lines_to_periods,
    snapshots_to_periods,
)
from mrrcli.sources.tables import join_beside, latest_of, latest_versions, price_history
from mrrcli.vocabulary import SHAPE_COLUMNS, counted


@dataclass
class Input:
    """An export read and mapped onto its shape's canonical columns."""

    table: Table
    source: Source
    notes: list[str] = field(default_factory=list)
    set_aside: dict[str, int] = field(default_factory=dict)
    read: int = 0  # data rows in the files, duplicates and rows set aside included


def open_input(
    paths: Sequence[str],
    source: str = "auto",
    mapping: Mapping[str, str] | None = None,
    keep_duplicates: bool = False,
    partition: RowFilter | None = None,
    delimiter: str | None = None,
    dates: DateParsing | None = None,
) -> Input:
    """Read every file, choose the source (said in `notes`), rename headers to canonical.

    Files that are another table of a vendor's export (Stripe invoices beside invoice lines)
    are told apart by their headers and joined in. With `partition`, only the rows of one
    part of the customers are read (see mrrcli.parts). CSV fields are separated by
    `delimiter`, by default the one each header line shows. Duplicate rows are judged on
    their dates as `dates` (the user's reading options) reads them.
    """
    mapping = dict(mapping or {})
    main_files, tables = _main_and_lookup_files(expand_paths(paths), delimiter)
    table = read_table(main_files, (), None, partition=partition, delimiter=delimiter)
    notes: list[str] = []
    _check_types(table.frame, table.files, _headers(table))  # before any column is compared
    chosen = _chosen_source(_headers(table), source, mapping, notes)
    if not keep_duplicates:
        # Judged on the values as read, so the headers' canonical meaning must be known.
        kinds = _compared_as(_headers(table), chosen, mapping)
        table = drop_duplicates(table, kinds, dates_read(chosen, dates or DateParsing()))
    for path, owner, lookup in tables:
        if owner is not chosen:
            raise InputError(
                f"{path}: looks like {lookup.title}, which --source {chosen.name} does not use"
            )
    beside = [(path, lookup) for path, _, lookup in tables]
    table, joined = join_beside(table, beside, chosen, keep_duplicates)
    notes.extend(joined)
    headers = _headers(table)
    _check_mapping(table.files[0], [table.spelling.get(h, h) for h in headers], chosen, mapping)
    read = table.frame.height + table.duplicates
    set_aside: dict[str, int] = {}
    frame = _filter_values(table.frame, chosen, set_aside)
    frame = latest_versions(frame, chosen, set_aside)
    frame, history = price_history(frame, chosen, set_aside)
    if history:
        notes.append(history)
    elif chosen.note:
        notes.append(chosen.note)
    frame = latest_of(frame, chosen, list(mapping))
    frame = _canonical(frame, headers, chosen, mapping)
    _check_types(frame, table.files, SHAPE_COLUMNS[chosen.shape])
    frame = _status_ends(frame, chosen, notes)
    # Ids stripped when judging duplicates stay stripped in a periods export read on its own
    # (other shapes, and joined tables, build their columns afresh); so do its code values.
    stripped, values = frozenset[str](), dict[str, list[str]]()
    if not tables:
        renames = _periods_renames(headers, chosen, mapping)
        stripped = frozenset(renames[h] for h in table.stripped if h in renames)
        values = {renames[h]: found for h, found in table.values.items() if h in renames}
    written = _written(headers, chosen, mapping, table.spelling)
    table = replace(table, frame=frame, stripped=stripped, values=values, written=written)
    return Input(table, chosen, notes, set_aside, read)


def _periods_renames(
    headers: list[str], chosen: Source, mapping: Mapping[str, str]
) -> dict[str, str]:
    """Header → canonical name of the columns that reach normalizing as they were read, only
    renamed: none unless the shape is `periods`, and not a column that the source fills from
    a second header, takes the latest of several headers for, or rebuilds from a history."""
    if chosen.shape != "periods" or chosen.price_history is not None:
        return {}
    wanted = {**chosen.mapping(headers), **mapping}
    renames = rename_to_canonical(headers, SHAPE_COLUMNS[chosen.shape], wanted)
    rebuilt = set(_second_headers(headers, chosen, mapping))
    rebuilt |= {c for c in chosen.latest_of if c not in mapping}
    return {h: c for h, c in renames.items() if c not in rebuilt}


def _written(
    headers: list[str], chosen: Source, mapping: Mapping[str, str], spelling: Mapping[str, str]
) -> dict[str, str]:
    """Canonical column → the header the file writes for it, so that a problem names the
    column the user sees. An invoice line's dates and a snapshot's month become a period's
    start and end: a problem with those names the line's or snapshot's own column."""
    wanted = {**chosen.mapping(headers), **mapping}
    renames = rename_to_canonical(headers, SHAPE_COLUMNS[chosen.shape], wanted)
    written = {canonical: spelling.get(h, h) for h, canonical in renames.items()}
    for period, own in (("start_date", "period_start"), ("end_date", "period_end")):
        if chosen.shape == "invoice-lines" and own in written:
            written[period] = written[own]
    if chosen.shape == "snapshots" and "month" in written:
        written["start_date"] = written["month"]
    return written


def _headers(table: Table) -> list[str]:
    return [c for c in table.frame.columns if not c.startswith("_")]


def _main_and_lookup_files(
    files: list[str], delimiter: str | None = None
) -> tuple[list[str], list[tuple[str, Source, Lookup]]]:
    """The files of the rows to report on, and the lookup tables beside them (by header)."""
    if len(files) == 1:
        return files, []
    main_files: list[str] = []
    tables: list[tuple[str, Source, Lookup]] = []
    for path in files:
        found = lookup_for(headers_of(path, delimiter)) if path != "-" else None
        if found is None:
            main_files.append(path)
        else:
            tables.append((path, *found))
    if not main_files:
        raise InputError(f"{', '.join(files)}: no file holds the rows to report on")
    return main_files, tables


def _chosen_source(
    headers: list[str], source: str, mapping: Mapping[str, str], notes: list[str]
) -> Source:
    """--source, or the source the headers identify (said in `notes` unless plain periods)."""
    if source != "auto":
        return by_name(source)
    chosen, why = detect(headers)
    if chosen.name != "periods" or mapping:
        notes.append(f"reading as --source {chosen.name} ({why})")
    return chosen


def _check_mapping(
    file: str, headers: list[str], chosen: Source, mapping: Mapping[str, str]
) -> None:
    """Every --map names a canonical column of the shape and a header of the file."""
    known = SHAPE_COLUMNS[chosen.shape]
    for canonical in mapping:
        if canonical not in known:
            raise UsageError(
                f"{file}: --map {canonical}=…: {canonical!r} is not a column of the "
                f"{chosen.shape} shape; known: {', '.join(known)}"
            )
    present = {header_key(h) for h in headers}
    for canonical, header in mapping.items():
        if header_key(header) not in present:
            raise InputError(
                f"{file}: --map {canonical}={header}: the file has no column "
                f"{header!r}; its columns are {', '.join(headers)}"
            )


# Canonical columns compared by their value when judging duplicate rows (SPEC §2.5).
_COMPARED_AS = {
    **dict.fromkeys(("customer_id", "subscription_id"), SAME_ID),
    **dict.fromkeys(("currency", "interval", "status"), SAME_CODE),
    **dict.fromkeys(
        ("start_date", "end_date", "trial_end", "period_start", "period_end"), SAME_DATE
    ),
    "month": SAME_MONTH,
    **dict.fromkeys(
        (
            "amount",
            "monthly_amount",
            "mrr",
            "interval_count",
            "quantity",
            "discount_percent",
            "discount_amount",
            "addons_amount",
            "tax_amount",
        ),
        SAME_NUMBER,
    ),
}


def dates_read(chosen: Source, dates: DateParsing) -> DatesRead:
    """How the shape's date columns are read (as to_periods and normalizing read them), for
    judging duplicate rows: in the source's zone; an invoice line's also in the billing
    system's zone (its length); a periods export's order of numeric dates per file."""
    dates = replace(dates, source_timezone=chosen.timezone)
    if chosen.shape == "invoice-lines":
        billing = billing_zone_dates(dates)
        return DatesRead((dates,) if billing == dates else (dates, billing))
    return DatesRead((dates,), per_file=chosen.shape == "periods")


def _compared_as(headers: list[str], chosen: Source, mapping: Mapping[str, str]) -> dict[str, str]:
    """How each header standing for a canonical column is compared for duplicates (the
    parsed value: read.files.drop_duplicates); the others as written."""
    wanted = {**chosen.mapping(headers), **mapping}
    renames = rename_to_canonical(headers, SHAPE_COLUMNS[chosen.shape], wanted)
    return {h: _COMPARED_AS[c] for h, c in renames.items() if c in _COMPARED_AS}


def _second_headers(
    headers: list[str], chosen: Source, mapping: Mapping[str, str]
) -> dict[str, list[str]]:
    """canonical → the headers after its first that fill a row empty in the first (Source.
    fallbacks), for the canonical columns --map does not name and that have more than one."""
    return {
        canonical: found[1:]
        for canonical, found in chosen.fallbacks(headers).items()
        if canonical not in mapping and len(found) > 1
    }


def _canonical(
    frame: pl.DataFrame, headers: list[str], chosen: Source, mapping: Mapping[str, str]
) -> pl.DataFrame:
    """Headers renamed to the shape's canonical columns (the source's names, then --map); a
    row empty in the source's first header for a column takes its next one."""
    wanted = {**chosen.mapping(headers), **mapping}
    fallbacks = {
        canonical: [h for h in others if h in frame.columns]
        for canonical, others in _second_headers(headers, chosen, mapping).items()
    }
    renames = rename_to_canonical(headers, SHAPE_COLUMNS[chosen.shape], wanted)
    # A header already named like a canonical column that another header now fills steps aside.
    clashes = {
        name: f"{name}__unmapped"
        for name in renames.values()
        if name in frame.columns and name not in renames
    }
    frame = frame.rename(clashes).rename(renames)
    for canonical, others in fallbacks.items():
        others = [clashes.get(o, o) for o in others if clashes.get(o, o) in frame.columns]
        if canonical in frame.columns and others:
            frame = frame.with_columns(
                pl.coalesce(_blank_is_null(canonical), *(_blank_is_null(o) for o in others))
            )
    return frame


def _check_types(frame: pl.DataFrame, files: list[str], canonical: Sequence[str]) -> None:
    """A typed (Parquet) column of a type that cannot hold what it must (a number, a date, an
    id), named with its file and the type expected, before any arithmetic meets it."""
    for column in canonical:
        dtype = frame.schema.get(column)
        if dtype is None or dtype in (pl.String, pl.Null):
            continue
        if column in NUMBER_COLUMNS:
            fits, expected = dtype.is_numeric(), "numbers (a numeric type, or text of numbers)"
        else:
            fits, expected = not dtype.is_nested() and dtype != pl.Binary, "single values"
        if not fits:
            file = next((f for f in files if is_parquet(f)), files[0])
            raise InputError(
                f"{file}, column '{column}': holds {dtype} values where {expected} are expected"
            )


def headers_of(path: str, delimiter: str | None = None) -> list[str]:
    """A file's header names, without reading its rows (empty when it cannot be read)."""
    try:
        source = remote.readable(path)  # a URL read on Spark: its head
        if is_parquet(path):
            return list(pl.read_parquet_schema(source))
        separator = file_delimiter(path, delimiter)
        return pl.read_csv(source, n_rows=0, infer_schema=False, separator=separator).columns
    except (pl.exceptions.PolarsError, OSError, ValueError):
        return []


def _blank_is_null(column: str) -> pl.Expr:
    return pl.col(column).cast(pl.String).str.strip_chars().replace("", None).alias(column)


def _filter_values(frame: pl.DataFrame, source: Source, set_aside: dict[str, int]) -> pl.DataFrame:
    """Rows the source says carry no MRR (a usage charge, a deleted row) are set aside."""
    for rule, keep in ((source.keep, True), (source.drop, False)):
        for header, values in rule.items():
            column = header_key(header)
            if column not in frame.columns:
                continue
            value = pl.col(column).cast(pl.String).str.strip_chars().str.to_lowercase()
            listed = value.is_in([v.lower() for v in values]).fill_null(False)
            aside = ~listed if keep else listed
            counts = frame.filter(aside).group_by(value.alias("_value")).len().sort("_value")
            for found, count in counts.iter_rows():
                set_aside[f"rows with {header} {found or '(empty)'}"] = int(count)
            frame = frame.filter(~aside)
    return frame


def _status_ends(frame: pl.DataFrame, source: Source, notes: list[str]) -> pl.DataFrame:
    """Rows in a status that stopped paying without an end date end on the source's day."""
    if "status" not in frame.columns or "end_date" not in frame.columns:
        return frame
    for status, header in source.status_ends.items():
        column = header_key(header)
        if column not in frame.columns:
            continue
        hit = (pl.col("status").cast(pl.String).str.strip_chars().str.to_lowercase() == status) & (
            _blank_is_null("end_date").is_null()
        )
        count = int(frame.select(hit.fill_null(False).sum()).item())
        if count:
            notes.append(
                f"{counted(count, f'{status} rows')} {'has' if count == 1 else 'have'} no end "
                f"date: {'its' if count == 1 else 'their'} MRR is taken to end at "
                f"{header} (the file cannot say since when they stopped paying)"
            )
            frame = frame.with_columns(
                pl.when(hit).then(pl.col(column)).otherwise(pl.col("end_date")).alias("end_date")
            )
    return frame


def to_periods(inp: Input, dates: DateParsing, findings: Findings) -> Table:
    """The input as a `periods` table; lines set aside are counted in `inp.set_aside`."""
    if inp.source.shape == "invoice-lines":
        table, counts = invoice_lines_to_periods(
            inp.table, dates, findings, inp.source.period_end_inclusive
        )
        inp.set_aside.update({k: v for k, v in counts.items() if v})
        return table
    if inp.source.shape == "snapshots":
        return snapshots_to_periods(inp.table, dates, findings)
    return inp.table


__all__ = ["Input", "headers_of", "open_input", "to_periods"]
