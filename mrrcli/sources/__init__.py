"""Sources and shapes: what each billing system's export looks like, as data (SPEC §2.4).

A Source maps an export's own headers onto one of the canonical shapes (`periods`,
`invoice-lines`, `snapshots`) and says what it knows about the file: the unit of its amounts,
the zone of timestamps written without an offset, which status values carry no MRR, and a note
for the user when the file cannot show everything (a subscription list has no past upgrades).
Each vendor is a few lines in `vendors.py`; nothing here is specific to one vendor.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from mrrcli.errors import UsageError
from mrrcli.read.files import header_key

Shape = Literal["periods", "invoice-lines", "snapshots"]
# What a source's note says when it is a subscription list (its current state only).
SUBSCRIPTION_LIST = "is a subscription list"

SUBSCRIPTION_LIST_NOTE = (
    "{title} is a subscription list: a plan change overwrites its row, so past upgrades and "
    "downgrades cannot be seen (expansion shows only as added subscriptions)"
)


@dataclass(frozen=True)
class Lookup:
    """Another table of the same export, passed beside the main one and joined in by a key
    (Stripe's invoice lines take their customer and status from the invoices table)."""

    title: str
    signature: tuple[str, ...]  # headers that, all present, identify the table
    key: tuple[str, ...]  # the main table's header holding the key, in order of preference
    table_key: str  # the table's own key header
    # a header added to the main table ← the table's headers for it, in order of preference
    columns: Mapping[str, tuple[str, ...]]
    # lookups of one group are alternatives (Stripe's price table or its older plan table):
    # their rows are pooled and a key must be in one of them
    group: str = ""
    # header → values of this table's rows that are not used (a history table's old rows)
    drop: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    required: bool = False  # the main table cannot be read without this one
    # Its rows become rows of the main table (Chargebee add-ons): `columns` then names the
    # main table's headers they fill, and every other column is the main row's with their key.
    adds_rows: bool = False

    def matches(self, headers: Iterable[str]) -> bool:
        present = {header_key(h) for h in headers}
        return all(header_key(h) in present for h in self.signature)


@dataclass(frozen=True)
class Versions:
    """Rows copied into several versions (Zuora copies every charge into each new subscription
    version): only the rows of each key's latest version count, each part of it once (the
    most recently updated copy when a version repeats a row)."""

    # Each field: the export's headers for it, in order of preference.
    key: tuple[str, ...]  # what is versioned (a charge number)
    version: tuple[str, ...]  # its version, compared as a number when every value is one
    part: tuple[str, ...] = ()  # tells apart rows of one version (a segment)
    updated: tuple[str, ...] = ()  # orders copies of one row


@dataclass(frozen=True)
class Source:
    """One export format, declaratively."""

    name: str
    shape: Shape
    title: str
    # canonical column → the export's headers for it, in order of preference
    columns: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # headers that, all present, identify the export (for --source auto)
    signature: tuple[str, ...] = ()
    amount_unit: Literal["major", "minor"] = "major"
    timezone: str | None = None  # zone of timestamps without an offset (None: --timezone)
    trial_statuses: tuple[str, ...] = ("trialing", "in_trial", "trial", "intrial")
    unpaid_statuses: tuple[str, ...] = ()  # statuses of rows that carry no MRR
    note: str | None = None  # said on stderr whenever the source is used
    # invoice lines whose period end is its last day (…T23:59:59), not the next period's start
    period_end_inclusive: bool = False
    # header → the values of rows that carry MRR (any other value: set aside and counted)
    keep: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # header → values of rows set aside and counted (deleted rows, metered prices)
    drop: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # rows of several versions: only each key's latest version counts
    latest_version: Versions | None = None
    # (id header, updated-at header): a history table whose versions are a history of prices;
    # each version holds from its own update (the first from its start) to the next one's
    price_history: tuple[str, str] | None = None
    # canonical column → headers whose latest value it takes (an item added to a subscription
    # after it started starts when it was added)
    latest_of: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # status → header holding the day such a row stopped paying, when it has no end date
    status_ends: Mapping[str, str] = field(default_factory=dict)
    # other tables of the export that complete the main one
    lookups: tuple[Lookup, ...] = ()

    def mapping(self, headers: Iterable[str]) -> dict[str, str]:
        """canonical → the first of its headers present in the file."""
        return {c: found[0] for c, found in self.fallbacks(headers).items()}

    def fallbacks(self, headers: Iterable[str]) -> dict[str, list[str]]:
        """canonical → every one of its headers present, in order: a row empty in the first
        takes the next (a Future subscription has start_date but no started_at)."""
        present = {header_key(h) for h in headers}
        found: dict[str, list[str]] = {}
        for canonical, candidates in self.columns.items():
            hits = [header_key(c) for c in candidates if header_key(c) in present]
            if hits:
                found[canonical] = list(dict.fromkeys(hits))
        return found

    def matches(self, headers: Iterable[str]) -> bool:
        present = {header_key(h) for h in headers}
        return bool(self.signature) and all(header_key(h) in present for h in self.signature)

    @property
    def caveat(self) -> str | None:
        """What every report built from this export must carry (SPEC §12): the note of a
        subscription list, which cannot show past upgrades and downgrades."""
        return self.note if self.note and SUBSCRIPTION_LIST in self.note else None

    def read_whole_because(self) -> str | None:
        """Why this export must be read whole rather than in parts by customer: a rule of the
        source that must see rows of several customers, or a whole key, at once. None when
        its rows can be split by customer id (every rule then looks at one row or one key).
        Derived from the declaration, so a new rule cannot be forgotten here."""
        if self.shape != "periods":
            return f"{self.shape} are turned into periods per subscription, across customers"
        if self.latest_version is not None:
            return "versions of one charge may name different customers (a history table)"
        if self.price_history is not None:
            return "versions of one subscription may name different customers (a history table)"
        if self.status_ends:
            return "its status rules are counted over the whole export"
        if any(self.customer_from(lookup) for lookup in self.lookups):
            return "its rows take their customer from another table"
        # A table that only adds columns or rows by subscription is read beside the main one,
        # and an export with a table beside it is never split (mrrcli.split.split_column).
        return None

    def customer_from(self, lookup: Lookup) -> bool:
        """Whether the main rows take their customer from this lookup table."""
        wanted = {header_key(h) for h in self.columns.get("customer_id", ())}
        return any(header_key(added) in wanted for added in lookup.columns)


GENERIC: tuple[Source, ...] = (
    Source("periods", "periods", "price periods (SPEC §2.1)"),
    Source("invoice-lines", "invoice-lines", "invoice lines with service periods (SPEC §2.2)"),
    Source("snapshots", "snapshots", "monthly MRR snapshots (SPEC §2.3)"),
)


def all_sources() -> tuple[Source, ...]:
    from mrrcli.sources.vendors import VENDORS

    return (*VENDORS, *GENERIC)


def source_names() -> list[str]:
    return ["auto", *(s.name for s in all_sources())]


def by_name(name: str) -> Source:
    for source in all_sources():
        if source.name == name:
            return source
    raise UsageError(f"unknown --source {name!r}; known: {', '.join(source_names())}")


def lookup_for(headers: Iterable[str]) -> tuple[Source, Lookup] | None:
    """The vendor table these headers identify as a lookup table, if any."""
    from mrrcli.sources.vendors import VENDORS

    headers = list(headers)
    for source in VENDORS:
        for lookup in source.lookups:
            if lookup.matches(headers):
                return source, lookup
    return None


def detect(headers: Iterable[str]) -> tuple[Source, str]:
    """The source an export's headers identify, and why (for the message on stderr)."""
    headers = list(headers)
    present = {header_key(h) for h in headers}
    from mrrcli.sources.vendors import VENDORS

    for source in VENDORS:
        if source.matches(headers):
            shown = ", ".join(source.signature)
            return source, f"{source.title}: its header has {shown}"
    if {"period_start", "period_end"} <= present:
        return by_name("invoice-lines"), "the header has period_start and period_end"
    if {"month", "mrr"} <= present and "start_date" not in present:
        return by_name("snapshots"), "the header has month and mrr"
    return by_name("periods"), "no vendor's header recognised; reading the periods shape"
