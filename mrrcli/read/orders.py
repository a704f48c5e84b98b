"""The order of a file's numeric dates (year-first, month-first, day-first), chosen from how
many of its values each order cannot read (SPEC §2.5; read.dates reads them)."""

from __future__ import annotations

# How many values of a file's date columns each field order ("ymd", "mdy", "dmy", in that
# order) cannot read. Counts add up over the parts of a file, and the order a file is read in
# is chosen from them alone (chosen_order): a run in parts chooses each file's order from its
# parts' tallies added up, as a whole run chooses it from the whole file (SPEC §13).
Tally = tuple[int, int, int]
TALLY_ORDERS = ("ymd", "mdy", "dmy")


def chosen_order(tally: Tally) -> str | None:
    """The order a file whose values tally so is read in: year-first when it reads every
    value, else day-first or month-first when exactly one of them does (None when both do:
    no day above 12 tells which), else the order that reads most values (the first of those
    that read as many), the values it cannot read being reported."""
    clean = [order for order, failures in zip(TALLY_ORDERS, tally, strict=True) if not failures]
    if "ymd" in clean:
        return "ymd"
    if clean == ["mdy", "dmy"]:
        return None
    if clean:
        return clean[0]
    return TALLY_ORDERS[tally.index(min(tally))]
