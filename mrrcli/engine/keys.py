"""Keys: the 64-bit hashes that stand for a customer (or subscription) id in the engine.

Sorting and grouping integers is several times faster than strings. The engine proves that
distinct ids got distinct keys (timeline.classified_changes); reading in parts (mrrcli.parts)
splits by the same customer hash, so a part holds whole keys and a collision never spans parts.
"""

from __future__ import annotations

import polars as pl

from mrrcli.vocabulary import Level, Settings, level_keys

KEY = "_key"  # the hash of the key's ids (customer, or customer and subscription)
CUSTOMER = "_customer"  # the hash of the customer id, for counts of customers
CHECK = "_check"  # a second, independent hash of the key's ids
CHECK_SEED = 7
# Keys hashed as the rows were read (mrrcli.batches), which then carry no id text: the key
# and check hash of each level, by Level value. The engine takes them instead of hashing ids.
HASHED = {"customer": ("_key_c", "_check_c"), "subscription": ("_key_s", "_check_s")}


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


def key_columns(rows: pl.LazyFrame, settings: Settings) -> list[pl.Expr]:
    """`_key`, `_check` (32 bits) and at subscription level `_customer` of each row: hashed
    from the key's ids, or taken from the keys the rows carry (hashed_keys)."""
    hashed = HASHED[settings.level.value]
    if hashed[0] in rows.collect_schema():
        key, check = pl.col(hashed[0]), pl.col(hashed[1])
        customer = pl.col(HASHED["customer"][0])
    else:
        key = id_hash(settings.keys)
        check = id_hash(settings.keys, CHECK_SEED).cast(pl.UInt32, wrap_numerical=True)
        customer = customer_hash(pl.col("customer_id"))
    ids = [key.alias(KEY), check.alias(CHECK)]
    return ids + ([customer.alias(CUSTOMER)] if settings.level == Level.subscription else [])


def hashed_keys(levels: list[Level]) -> list[pl.Expr]:
    """The keys and check hashes of MRR rows at each of `levels` (always the customer's, for
    customer-level sums), as key_columns takes them: the rows may then drop their id text."""
    wanted = [Level.customer, *(level for level in levels if level != Level.customer)]
    found: list[pl.Expr] = []
    for level in dict.fromkeys(wanted):
        keys = level_keys(level)
        check = id_hash(keys, CHECK_SEED).cast(pl.UInt32, wrap_numerical=True)
        found += [id_hash(keys).alias(HASHED[level.value][0]), check.alias(HASHED[level.value][1])]
    return found


def with_key(rows: pl.LazyFrame, settings: Settings) -> pl.LazyFrame:
    """Rows with `_key`, the hash of the key's ids; at subscription level also `_customer`,
    the hash of the customer id, for counts."""
    return rows.with_columns(
        c for c in key_columns(rows, settings) if c.meta.output_name() != CHECK
    )


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
