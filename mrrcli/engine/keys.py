"""Keys: the 64-bit hashes that stand for a customer (or subscription) id in the engine.

Sorting and grouping integers is several times faster than strings. The engine proves that
distinct ids got distinct keys (timeline.classified_changes); reading in parts (mrrcli.parts)
splits by the same customer hash, so a part holds whole keys and a collision never spans parts.
"""

from __future__ import annotations

import polars as pl

from mrrcli.vocabulary import Level, Settings

KEY = "_key"  # the hash of the key's ids (customer, or customer and subscription)
CUSTOMER = "_customer"  # the hash of the customer id, for counts of customers
CHECK = "_check"  # a second, independent hash of the key's ids
CHECK_SEED = 7


def id_hash(columns: list[str] | list[pl.Expr], seed: int = 0) -> pl.Expr:
    """The 64-bit hash of ids that keys are made of (seed 0: the key; CHECK_SEED: the
    independent check hash). A single id is hashed as its own column, twice as fast as a
    struct of one field."""
    if len(columns) == 1:
        column = columns[0]
        return (pl.col(column) if isinstance(column, str) else column).hash(seed=seed)
    return pl.struct(columns).hash(seed=seed)


def customer_hash(customer_id: pl.Expr) -> pl.Expr:
    """The customer key of a customer id column, as a customer-level run computes it."""
    return id_hash([customer_id.alias("customer_id")])


def with_key(rows: pl.LazyFrame, settings: Settings) -> pl.LazyFrame:
    """Rows with `_key`, the hash of the key's ids; at subscription level also `_customer`,
    the hash of the customer id, for counts."""
    keyed = rows.with_columns(id_hash(settings.keys).alias(KEY))
    if settings.level == Level.subscription:
        keyed = keyed.with_columns(customer_hash(pl.col("customer_id")).alias(CUSTOMER))
    return keyed


def customer_ids(
    rows: pl.LazyFrame, settings: Settings, among: pl.Series | None = None
) -> pl.LazyFrame:
    """`_customer` → `customer_id`, one row per customer: names for customer keys (only the
    keys in `among`, an imploded list, when given)."""
    keyed = with_key(rows, settings)
    if settings.level == Level.customer:
        keyed = keyed.with_columns(pl.col(KEY).alias(CUSTOMER))
    if among is not None:
        keyed = keyed.filter(pl.col(CUSTOMER).is_in(among))
    return keyed.select(CUSTOMER, "customer_id").unique(CUSTOMER)
