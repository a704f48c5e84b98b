"""A report's table fitted to a width (SPEC §11): money abbreviated first (`213.9k`), then the
least important columns left out, never a number wrapped. Pure text arithmetic, no Rich."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal

GAP = 3  # between two columns: a space of padding, the box's blank divider, a space of padding

# Per report, the columns left out first when a table does not fit (least important first).
# Columns named in neither list (e.g. a segment) go after these; the essential ones never go.
LEAVE_OUT_FIRST: dict[str, tuple[str, ...]] = {
    "movements": (
        "days",
        "opening_mrr",  # the previous month's closing
        "reactivation_mrr",
        "contraction_mrr",
        "churned_mrr",
        "new_mrr",
        "expansion_mrr",
    ),
    "expansion": (
        "days",
        "opening_mrr",
        "benchmark_met",  # also shown by expansion ÷ new in bold
        "expanded_customers",
        "expansion_pct_of_opening",
        "new_mrr",
        "expansion_mrr_daynorm",
    ),
    "metrics": (
        "customers_opening",
        "reactivated_customers",
        "contracted_customers",
        "expanded_customers",
        "new_customers",
        "churned_customers",
        "opening_mrr",
        "customers_closing",
        "arpa",
        "quick_ratio",
        "net_mrr_churn_rate",
        "grr",
        "nrr",
        "gross_mrr_churn_rate",
        "grr_ttm",
        "nrr_ttm",
        "mrr_growth_rate",
    ),
    "customers": ("month", "subscription_id", "mrr_before", "mrr_after"),
}
# Columns that only repeat another (a movement's month is in its date): left out before any
# money is abbreviated, since nothing is lost.
REPEATED: dict[str, tuple[str, ...]] = {"customers": ("month",)}
ESSENTIAL: dict[str, frozenset[str]] = {
    "movements": frozenset({"month", "net_new_mrr", "closing_mrr"}),
    "expansion": frozenset({"month", "expansion_mrr", "expansion_rate", "expansion_to_new"}),
    "metrics": frozenset({"month", "closing_mrr", "net_new_mrr"}),
    "customers": frozenset({"date", "customer_id", "movement", "amount"}),
}
_UNITS = ((Decimal(10**9), "B"), (Decimal(10**6), "M"), (Decimal(10**3), "k"))


def abbreviate(value: Decimal) -> str:
    """Money in at most five significant characters: 213,912.50 → 213.9k, -1,234,567 → -1.2M,
    999,960 → 1.0M, 324.33 → 324, 0.40 → 0.40 (half-up rounding; the sign is kept; an amount
    under one unit keeps its cents, so that it never shows as 0)."""
    magnitude = abs(value)
    sign = "-" if value < 0 else ""
    for index, (unit, suffix) in enumerate(_UNITS):
        if magnitude >= unit:
            shown = (magnitude / unit).quantize(Decimal("0.1"), ROUND_HALF_UP)
            if shown >= 1000 and index > 0:  # 999,960 rounds to 1000.0k: say 1.0M
                bigger, bigger_suffix = _UNITS[index - 1]
                shown = (magnitude / bigger).quantize(Decimal("0.1"), ROUND_HALF_UP)
                suffix = bigger_suffix
            return f"{sign}{shown}{suffix}"
    if 0 < magnitude < Decimal("0.995"):  # under one unit: the cents, never a bare 0
        return f"{sign}{magnitude.quantize(Decimal('0.01'), ROUND_HALF_UP)}"
    whole = magnitude.quantize(Decimal(1), ROUND_HALF_UP)
    if whole >= 1000:  # 999.6 rounds to 1000: say 1.0k
        return f"{sign}1.0k"
    return f"{sign if whole else ''}{whole}"


def table_width(widths: Sequence[int]) -> int:
    """The width of a table whose columns are `widths` wide (no outer edge)."""
    return sum(widths) + GAP * (len(widths) - 1) if widths else 0


def leave_out(kind: str, widths: Mapping[str, int], width: int) -> list[str]:
    """The columns to leave out, in order, so that the rest fits `width` (as few as can be;
    never an essential one, so the rest may still be too wide)."""
    essential = ESSENTIAL.get(kind, frozenset())
    listed = LEAVE_OUT_FIRST.get(kind, ())
    present = [c for c in listed if c in widths]
    others = [c for c in widths if c not in listed and c not in essential]
    kept = dict(widths)
    left: list[str] = []
    for column in [*present, *others]:
        if table_width(list(kept.values())) <= width:
            break
        del kept[column]
        left.append(column)
    return left


def fitted_widths(least: list[int], widest: list[int], width: int | None) -> list[int]:
    """Column widths that fit `width` (None: every column at its widest): the widest column
    that may still shrink (above its `least`) loses one character at a time."""
    widths = [max(low, high) for low, high in zip(least, widest, strict=True)]
    excess = table_width(widths) - width if width is not None else 0
    shrinkable = [index for index, low in enumerate(least) if widths[index] > low]
    while excess > 0 and shrinkable:
        index = max(shrinkable, key=lambda i: widths[i])
        widths[index] -= 1
        excess -= 1
        shrinkable = [i for i in shrinkable if widths[i] > least[i]]
    return widths
