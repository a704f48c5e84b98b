"""From files to a `periods` table: read, recognise the source, map headers, convert shapes.

Shared by every report and by `validate`, so both read an export exactly the same way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import polars as pl

from mrrcli.dates import DateParsing
from mrrcli.errors import InputError
from mrrcli.normalize import PERIODS_COLUMNS, Findings
from mrrcli.read import Table, header_key, read_table, rename_to_canonical
from mrrcli.shapes import (
    INVOICE_LINE_COLUMNS,
    SNAPSHOT_COLUMNS,
    invoice_lines_to_periods,
    snapshots_to_periods,
)
from mrrcli.sources import Source, by_name, detect

SHAPE_COLUMNS = {
    "periods": PERIODS_COLUMNS,
    "invoice-lines": INVOICE_LINE_COLUMNS,
    "snapshots": SNAPSHOT_COLUMNS,
}


@dataclass
class Input:
    """An export read and mapped onto its shape's canonical columns."""

    table: Table
    source: Source
    notes: list[str] = field(default_factory=list)
    set_aside: dict[str, int] = field(default_factory=dict)


def open_input(
    paths: Sequence[str],
    source: str = "auto",
    mapping: Mapping[str, str] | None = None,
    keep_duplicates: bool = False,
) -> Input:
    """Read every file, choose the source (said in `notes`), rename headers to canonical."""
    table = read_table(paths, (), None, keep_duplicates=keep_duplicates)
    headers = [c for c in table.frame.columns if not c.startswith("_")]
    notes: list[str] = []
    if source == "auto":
        chosen, why = detect(headers)
        if chosen.name != "periods" or mapping:
            notes.append(f"reading as --source {chosen.name} ({why})")
    else:
        chosen = by_name(source)
    if chosen.note:
        notes.append(chosen.note)
    present = {header_key(h) for h in headers}
    for canonical, header in (mapping or {}).items():
        if header_key(header) not in present:
            raise InputError(
                f"{table.files[0]}: --map {canonical}={header}: the file has no column "
                f"{header!r}; its columns are {', '.join(headers)}"
            )
    wanted = {**chosen.mapping(headers), **dict(mapping or {})}
    renames = rename_to_canonical(headers, SHAPE_COLUMNS[chosen.shape], wanted)
    frame = table.frame
    # A header already named like a canonical column that another header now fills steps aside.
    clashes = {
        name: f"{name}__unmapped"
        for name in renames.values()
        if name in frame.columns and name not in renames
    }
    frame = frame.rename(clashes).rename(renames)
    table = Table(frame, table.files, table.duplicates, table.header_rows)
    return Input(table, chosen, notes)


def to_periods(inp: Input, dates: DateParsing, findings: Findings) -> Table:
    """The input as a `periods` table; lines set aside are counted in `inp.set_aside`."""
    if inp.source.shape == "invoice-lines":
        table, counts = invoice_lines_to_periods(inp.table, dates, findings)
        inp.set_aside.update({k: v for k, v in counts.items() if v})
        return table
    if inp.source.shape == "snapshots":
        return snapshots_to_periods(inp.table, dates, findings)
    return inp.table


def dates_for(inp: Input, date_format: str | None, timezone: str) -> DateParsing:
    return DateParsing(
        date_format=date_format, timezone=timezone, source_timezone=inp.source.timezone
    )


__all__ = ["Input", "dates_for", "open_input", "pl", "to_periods"]
