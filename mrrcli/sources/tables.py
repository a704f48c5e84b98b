"""Exports of several tables or several versions of a row, made into one table of the source.

- Tables beside the main one (`Lookup`) are joined in by a key: they add columns (Stripe's
  subscription and price tables to its subscription items) or rows (Chargebee's add-ons, each
  taking the rest of its subscription's row). Alternative tables of one group (Stripe's price
  or older plan table) are pooled.
- A table of versions counts only each key's latest version (Zuora's rate plan charges), or
  reads its versions as a history of prices (Recurly's `subscription_history`).

Everything here looks at the rows of one key at a time, but a key may span customers (a
history table, a table without a customer column): such exports are read whole
(`Source.read_whole_because`, `mrrcli.split.split_column`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

import polars as pl

from mrrcli.errors import InputError, row_problem
from mrrcli.read.duplicates import drop_duplicates
from mrrcli.read.files import FILE_COLUMN, ROW_COLUMN, Table, header_key, read_table
from mrrcli.sources import Lookup, Source

KEY = "_lookup_key"


def _text(column: str) -> pl.Expr:
    """A column as trimmed text, empty as null."""
    return pl.col(column).cast(pl.String).str.strip_chars().replace("", None)


def _dropped(frame: pl.DataFrame, rules: Mapping[str, tuple[str, ...]]) -> pl.DataFrame:
    for header, values in rules.items():
        column = header_key(header)
        if column in frame.columns:
            value = _text(column).str.to_lowercase()
            frame = frame.filter(~value.is_in([v.lower() for v in values]).fill_null(False))
    return frame


def _first_present(candidates: Sequence[str], columns: Sequence[str]) -> str | None:
    return next((header_key(c) for c in candidates if header_key(c) in columns), None)


def missing_required(source: Source, beside: Sequence[Lookup], main_file: str) -> None:
    """A table the source cannot do without, not passed beside the main one, is an error."""
    for lookup in source.lookups:
        group = lookup.group or lookup.title
        if lookup.required and not any((b.group or b.title) == group for b in beside):
            raise InputError(
                f"{main_file}: {source.title} need {group} passed with them (give every table "
                "of the export on the command line; mrrcli tells them apart by their headers)"
            )


def join_beside(
    table: Table, beside: Sequence[tuple[str, Lookup]], source: Source, keep_duplicates: bool
) -> tuple[Table, list[str]]:
    """The tables beside the main one joined in (columns) or appended (rows, whose identical
    copies count once unless `keep_duplicates`), and a note for each table used."""
    groups: dict[str, list[tuple[str, Lookup]]] = {}
    for path, lookup in beside:
        groups.setdefault(lookup.group or lookup.title, []).append((path, lookup))
    missing_required(source, [lookup for _, lookup in beside], table.files[0])
    notes: list[str] = []
    for group, members in groups.items():
        first = members[0][1]
        if first.adds_rows:
            for path, lookup in members:
                table = _add_rows(table, path, lookup, keep_duplicates)
        else:
            table = _add_columns(table, members, group)
        notes.extend(f"{path}: {lookup.title} joined in" for path, lookup in members)
    return table, notes


def _lookup_rows(path: str, lookup: Lookup, other: pl.DataFrame | None = None) -> pl.DataFrame:
    """A lookup table's rows (`other`, else read from `path`) under the names it adds, keyed
    by `KEY`."""
    if other is None:
        other = read_table([path], (), None).frame
    other = _dropped(other, lookup.drop)
    table_key = header_key(lookup.table_key)
    if table_key not in other.columns:
        raise InputError(f"{path}: {lookup.title} have no {lookup.table_key} column")
    picked = []
    for added, candidates in lookup.columns.items():
        found = _first_present(candidates, other.columns)
        if found is not None:
            picked.append(pl.col(found).cast(pl.String).alias(added))
    return other.select(
        _text(table_key).alias(KEY), *picked, pl.col(FILE_COLUMN), pl.col(ROW_COLUMN)
    )


def _add_columns(table: Table, members: Sequence[tuple[str, Lookup]], group: str) -> Table:
    """The group's columns joined onto the main rows by its key (one row per key: the last
    version of a row exported several times, the first table of the group first)."""
    frame = table.frame
    lookup = members[0][1]
    key = _first_present(lookup.key, frame.columns)
    if key is None:
        raise InputError(
            f"{members[0][0]}: {lookup.title} are joined by {' or '.join(lookup.key)}, which "
            "the main file does not have"
        )
    pooled = [
        _lookup_rows(path, member)
        .drop(FILE_COLUMN, ROW_COLUMN)
        .unique(KEY, keep="last", maintain_order=True)
        for path, member in members
    ]
    other = pl.concat(pooled, how="diagonal_relaxed").unique(KEY, keep="first", maintain_order=True)
    joined = frame.with_columns(_text(key).alias(KEY)).join(
        other.with_columns(pl.lit(True).alias("_found")),
        on=KEY,
        how="left",
        maintain_order="left",
    )
    missing = joined.filter(pl.col("_found").is_null())
    if missing.height:
        row = missing.row(0, named=True)
        paths = ", ".join(path for path, _ in members)
        raise row_problem(
            table.files[row[FILE_COLUMN]],
            row[ROW_COLUMN],
            key,
            f"{row[key]!r} is not in {group} ({paths})",
            missing.height - 1,
        )
    return replace(table, frame=joined.drop(KEY, "_found"))


def _add_rows(table: Table, path: str, lookup: Lookup, keep_duplicates: bool) -> Table:
    """The table's rows appended to the main ones: each fills the main headers `columns` names
    (empty where the table has none of their headers) and takes every other column from the
    main row with its key."""
    frame = table.frame
    key = _first_present(lookup.key, frame.columns)
    if key is None:
        raise InputError(
            f"{path}: {lookup.title} are joined by {' or '.join(lookup.key)}, which the main "
            "file does not have"
        )
    read = read_table([path], (), None)
    read = read if keep_duplicates else drop_duplicates(read)
    rows = _lookup_rows(path, lookup, read.frame)
    filled = [header_key(c) for c in lookup.columns]
    rows = rows.rename({c: header_key(c) for c in lookup.columns if c in rows.columns})
    taken = [c for c in frame.columns if c not in (*filled, FILE_COLUMN, ROW_COLUMN)]
    parents = frame.select(*taken).with_columns(_text(key).alias(KEY))
    parents = parents.unique(KEY, keep="last", maintain_order=True)
    joined = rows.join(parents.with_columns(pl.lit(True).alias("_found")), on=KEY, how="left").sort(
        ROW_COLUMN
    )
    missing = joined.filter(pl.col("_found").is_null())
    if missing.height:
        row = missing.row(0, named=True)
        raise row_problem(
            path,
            row[ROW_COLUMN],
            lookup.table_key,
            f"{row[KEY]!r} is not in the main table ({table.files[0]})",
            missing.height - 1,
        )
    index = len(table.files)
    added = joined.select(
        (pl.col(c) if c in joined.columns else pl.lit(None)).cast(frame.schema[c]).alias(c)
        if c != FILE_COLUMN
        else pl.lit(index, dtype=frame.schema[c]).alias(c)
        for c in frame.columns
    )
    copies = [table.duplicate_rows] if table.duplicate_rows is not None else []
    if read.duplicate_rows is not None:
        copies.append(
            read.duplicate_rows.with_columns(pl.lit(index, dtype=pl.UInt16).alias(FILE_COLUMN))
        )
    return replace(
        table,
        frame=pl.concat([frame, added]),
        files=[*table.files, path],
        duplicates=table.duplicates + read.duplicates,
        duplicate_rows=pl.concat(copies) if copies else None,
    )


def latest_versions(frame: pl.DataFrame, source: Source, set_aside: dict[str, int]) -> pl.DataFrame:
    """Rows of several versions: only the rows of each key's latest version count (all its
    parts: a Zuora charge's latest version holds every segment of it), each part once."""
    versions = source.latest_version
    if versions is None:
        return frame
    key = _first_present(versions.key, frame.columns)
    version = _first_present(versions.version, frame.columns)
    if key is None or version is None:
        return frame
    order = _ordering(frame, version)
    latest = frame.filter((order == order.max().over(key)) | order.max().over(key).is_null())
    part = _first_present(versions.part, frame.columns)
    updated = _first_present(versions.updated, frame.columns)
    if updated is not None:
        latest = latest.sort(_text(updated), nulls_last=False, maintain_order=True)
    once = [key] if part is None else [key, part]
    latest = latest.unique(once, keep="last", maintain_order=True).sort(FILE_COLUMN, ROW_COLUMN)
    if frame.height - latest.height:
        set_aside["older versions or repeated copies of a row (history table)"] = (
            frame.height - latest.height
        )
    return latest


def _ordering(frame: pl.DataFrame, column: str) -> pl.Expr:
    """A version column as numbers when every value is one (version 10 after 9), else as text
    (timestamps as exports write them sort as text)."""
    number = _text(column).cast(pl.Float64, strict=False)
    unread = frame.select((_text(column).is_not_null() & number.is_null()).sum()).item()
    return number if unread == 0 else _text(column)


def price_history(
    frame: pl.DataFrame, source: Source, set_aside: dict[str, int]
) -> tuple[pl.DataFrame, str | None]:
    """Each version of a subscription as a period: from its own update (the first version from
    the subscription's start) to the next version's, the last one to the subscription's end;
    a version's end comes earlier when it expired before the next update. Versions written
    after the subscription expired carry nothing and are set aside. With a note for the user
    when the export is such a history."""
    if source.price_history is None:
        return frame, None
    id_column, updated = (header_key(h) for h in source.price_history)
    headers = [c for c in frame.columns if not c.startswith("_")]
    mapping = source.mapping(headers)
    start, end = mapping.get("start_date"), mapping.get("end_date")
    if id_column not in frame.columns or updated not in frame.columns or start is None:
        return frame, None
    frame = frame.sort(id_column, _text(updated), FILE_COLUMN, ROW_COLUMN, nulls_last=True)
    first = pl.int_range(pl.len()).over(id_column) == 0
    since = pl.when(first).then(pl.coalesce(_text(start), _text(updated))).otherwise(_text(updated))
    frame = frame.with_columns(since.alias("_since"))
    following = pl.col("_since").shift(-1).over(id_column)
    expires = _text(end) if end is not None else pl.lit(None, dtype=pl.String)
    until = (
        pl.when(following.is_null() | (expires.is_not_null() & (expires < following)))
        .then(expires)
        .otherwise(following)
    )
    frame = frame.with_columns(until.alias("_until"))
    after_expiry = pl.col("_until").is_not_null() & (pl.col("_until") < pl.col("_since"))
    late = int(frame.select(after_expiry.sum()).item())
    if late:
        set_aside["versions written after their subscription expired"] = late
    frame = frame.filter(~after_expiry).with_columns(pl.col("_since").alias(start))
    if end is not None:
        frame = frame.with_columns(pl.col("_until").alias(end))
    note = (
        f"A history of subscription versions: each version's price holds from its {updated} "
        "until the next version's, so past upgrades and downgrades show"
    )
    return frame.drop("_since", "_until").sort(FILE_COLUMN, ROW_COLUMN), note


def latest_of(frame: pl.DataFrame, source: Source, mapped: Sequence[str]) -> pl.DataFrame:
    """Canonical columns that take the latest of several headers (timestamps of one format and
    zone, compared as written), unless --map names them."""
    for canonical, candidates in source.latest_of.items():
        present = [header_key(c) for c in candidates if header_key(c) in frame.columns]
        if present and canonical not in mapped:
            frame = frame.with_columns(pl.max_horizontal(*map(_text, present)).alias(canonical))
    return frame
