"""The segment of each row (SPEC §9): a column of the export, or a customer attribute from an
`--attributes` file joined on the customer id. Chosen once, carried on Rows as `segment`."""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from mrrcli.errors import InputError, UsageError
from mrrcli.read.files import ROW_COLUMN, expand_paths, header_key, read_table
from mrrcli.sources.inputs import headers_of

NONE_SEGMENT = "(none)"
# The export's own columns a segment can be (besides any column mapped with --map).
EXPORT_SEGMENTS = ("plan_id", "interval", "currency", "subscription_id")


def segment_value(value: pl.Expr) -> pl.Expr:
    """A row's segment: its value as text, trimmed; empty (or absent) → `(none)`."""
    text = value.cast(pl.String).str.strip_chars()
    return pl.when(text.is_null() | (text == "")).then(pl.lit(NONE_SEGMENT)).otherwise(text)


def segment_source(by: str, mapping: Mapping[str, str], attributes: str | None) -> str:
    """Where `--by` is read: "export" (one of its columns) or "attributes"; a usage error
    listing the columns it can take when it is neither. An --attributes file that is not there
    is an input error naming it, whatever `by` is (never a misleading "not a column")."""
    if attributes is not None:
        expand_paths([attributes])
    export = [*EXPORT_SEGMENTS, *(c for c in mapping if c not in EXPORT_SEGMENTS)]
    if header_key(by) in export:
        return "export"
    extra: list[str] = []
    if attributes is not None:
        headers = [h.replace("\ufeff", "").strip() for h in headers_of(attributes)]
        extra = [h for h in headers if header_key(h) != "customer_id"]
        if header_key(by) in {header_key(h) for h in extra}:
            return "attributes"
    raise UsageError(
        f"--by {by}: not a column it can take; choose one of {', '.join([*export, *extra])}"
        + ("" if attributes else " (or a column of an --attributes file)")
    )


def read_attributes(path: str, by: str) -> pl.DataFrame:
    """`customer_id, segment` of an attributes file: one row per customer (stripped id), the
    `by` column as segment. An input error names the file and row of a customer given twice,
    or the file when it has no `customer_id` column."""
    table = read_table([path], ("customer_id",))
    frame = table.frame
    if "customer_id" not in frame.columns:
        raise InputError(f"{path}: an --attributes file needs a customer_id column")
    column = header_key(by)
    ids = pl.col("customer_id").cast(pl.String).str.strip_chars()
    frame = frame.select(
        ids.alias("customer_id"), segment_value(pl.col(column)).alias("segment"), ROW_COLUMN
    )
    missing = frame.filter(pl.col("customer_id").is_null() | (pl.col("customer_id") == ""))
    if missing.height:
        row = missing.get_column(ROW_COLUMN)[0]
        raise InputError(f"{path} row {row}, column customer_id: the customer id is empty")
    twice = frame.filter(pl.col("customer_id").is_duplicated()).sort(ROW_COLUMN)
    if twice.height:
        first = twice.row(0, named=True)
        again = twice.filter(pl.col("customer_id") == first["customer_id"]).row(1, named=True)
        raise InputError(
            f"{path} row {again[ROW_COLUMN]}, column customer_id: customer "
            f"{first['customer_id']} is already on row {first[ROW_COLUMN]}; an attributes "
            "file holds one row per customer"
        )
    return frame.select("customer_id", "segment")


def with_attributes(frame: pl.DataFrame, attributes: pl.DataFrame) -> tuple[pl.DataFrame, int]:
    """MRR rows with the `segment` of their customer's attributes (`(none)` when it is not
    there), and how many paying customers were not there (a customer whose rows all carry 0
    MRR, a trial never converted, is in no segment of any report, so it is not counted)."""
    joined = frame.drop("segment", strict=False).join(
        attributes, on="customer_id", how="left", maintain_order="left"
    )
    missing = pl.col("segment").is_null() & (pl.col("mrr") > 0)
    unattributed = joined.filter(missing).get_column("customer_id").n_unique()
    return joined.with_columns(pl.col("segment").fill_null(NONE_SEGMENT)), unattributed


__all__ = [
    "EXPORT_SEGMENTS",
    "NONE_SEGMENT",
    "read_attributes",
    "segment_source",
    "segment_value",
    "with_attributes",
]
