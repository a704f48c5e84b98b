"""Rows of more fields than their header, read on Spark (`--engine spark`, SPEC §2.5).

Spark drops the fields of a CSV row beyond its header where Polars stops (an unquoted
`1,000.00` read as 1): each CSV file is read with EXTRA columns beyond its header's, `x0`, `x1`,
…, and the first row with a field in them stops the run with the local run's line.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mrrcli.errors import row_problem
from mrrcli.read.european import delimiter_name, file_delimiter

EXTRA = 8


def csv_schema(width: int) -> Any:
    """The header's `width` columns c0, c1, … and EXTRA more, all text."""
    from pyspark.sql.types import StringType, StructField, StructType

    names = [f"c{j}" for j in range(width)] + [f"x{j}" for j in range(EXTRA)]
    return StructType([StructField(name, StringType()) for name in names])


def first_extra(columns: Sequence[str]) -> list[Any]:
    """The aggregate of a read partition's first row (`_id`) with a field beyond its header."""
    from pyspark.sql import functions as F

    extra = [F.col(c) for c in columns if c.startswith("x")]
    if not extra:
        return [F.lit(None).cast("long")]
    return [F.min(F.when(F.coalesce(*extra).isNotNull(), F.col("_id")))]


def stop_at_extra(
    union: Any,
    files: Sequence[str],
    widths: Sequence[int | None],
    counts: Sequence[tuple[int, int, int, int | None]],
    offsets: Mapping[int, int],
    delimiter: str | None,
) -> None:
    """Stops at the first row of the first file that has a field beyond its header, as the
    local run names it: `N fields where the header has M`."""
    found = [
        (file, offsets[file << 32 | pid] + first - (pid << 33) + 2, first)
        for file, pid, _, first in counts
        if first is not None
    ]
    if not found:
        return
    file, row, first = min(found)
    width = widths[file] or 0
    extra = union.filter(f"_file = {file} and _id = {first}").first()
    fields = width + max(j + 1 for j in range(EXTRA) if extra[f"x{j}"] is not None)
    separator = file_delimiter(files[file], delimiter)
    raise row_problem(
        files[file],
        row,
        None,
        f"{fields} fields where the header has {width} (separated by "
        f"'{delimiter_name(separator)}'; check quoting, or give --delimiter)",
    )
