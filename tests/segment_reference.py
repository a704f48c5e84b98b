"""A second, plain implementation of the segment allocation (SPEC §9), to check
mrrcli.engine.segments: per key and observation day, dicts and loops, no vectorisation.

The unsegmented classification comes from the plain reference (tests/reference.py); the
allocation below is written from the SPEC text alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from reference import (
    RefSettings,
    Row,
    _observations,
    changes,
    daily_mrr,
    key_of,
    month_start,
    mrr_on,
)

Allocation = tuple[tuple[str, ...], date, str, str, int]  # key, day, segment, kind, amount


def shares(total: int, weights: dict[str, int]) -> dict[str, int]:
    """`total` over `weights` in proportion, whole units, largest remainder, ties to the
    first segment in sort order."""
    whole = sum(weights.values())
    floors = {v: total * w // whole for v, w in weights.items()}
    remainders = {v: total * w % whole for v, w in weights.items()}
    leftover = total - sum(floors.values())
    for v in sorted(weights, key=lambda s: (-remainders[s], s))[:leftover]:
        floors[v] += 1
    return floors


def allocate(
    kind: str, before: dict[str, int], after: dict[str, int]
) -> list[tuple[str, str, int]]:
    """(segment, kind, amount) of one key's change, given the unsegmented kind."""
    deltas = {v: after.get(v, 0) - before.get(v, 0) for v in sorted({*before, *after})}
    deltas = {v: d for v, d in deltas.items() if d != 0}
    total_before, total_after = sum(before.values()), sum(after.values())
    out: list[tuple[str, str, int]] = []
    if total_before == 0:
        return [(v, kind, d) for v, d in deltas.items() if d > 0]
    if total_after == 0:
        return [(v, "churn", -d) for v, d in deltas.items() if d < 0]
    gains = {v: d for v, d in deltas.items() if d > 0}
    losses = {v: -d for v, d in deltas.items() if d < 0}
    p, n = sum(gains.values()), sum(losses.values())
    kept = min(p, n)
    if p >= n:
        out += [(v, "moved_out", x) for v, x in losses.items()]
        moved = shares(kept, gains) if gains else {}
        for v, x in gains.items():
            out += [(v, "moved_in", moved[v]), (v, "expansion", x - moved[v])]
    else:
        out += [(v, "moved_in", x) for v, x in gains.items()]
        moved = shares(kept, losses)
        for v, x in losses.items():
            out += [(v, "moved_out", moved[v]), (v, "contraction", x - moved[v])]
    return [(v, k, x) for v, k, x in out if x > 0]


def segment_allocations(
    rows: Sequence[Row], segments: Sequence[str], settings: RefSettings
) -> list[Allocation]:
    """Every (key, day, segment, kind, amount) of the rows, each row in its segment."""
    kinds = {(c.key, c.day): c.movement for c in changes(rows, settings)}
    days, _ = daily_mrr(rows, settings)
    by_key: dict[tuple[str, ...], list[tuple[Row, str]]] = {}
    for row, segment in zip(rows, segments, strict=True):
        by_key.setdefault(key_of(row, settings.level), []).append((row, segment))
    result: list[Allocation] = []
    for key, pairs in sorted(by_key.items()):
        names = sorted({s for _, s in pairs})
        series = {v: [mrr_on([r for r, s in pairs if s == v], day) for day in days] for v in names}
        points = {v: _observations(days, series[v], settings) for v in names}
        previous = dict.fromkeys(names, 0)
        for i, (day, _) in enumerate(points[names[0]] if names else []):
            current = {v: points[v][i][1] for v in names}
            if current != previous:
                kind = kinds.get((key, day), "")
                for segment, movement, amount in allocate(kind, previous, current):
                    result.append((key, day, segment, movement, amount))
            previous = current
    return result


def monthly_by_segment(allocations: Sequence[Allocation]) -> dict[tuple[date, str, str], int]:
    """(month, segment, kind) → amount."""
    sums: dict[tuple[date, str, str], int] = {}
    for _, day, segment, kind, amount in allocations:
        index = (month_start(day), segment, kind)
        sums[index] = sums.get(index, 0) + amount
    return sums


# --- periods and the trailing twelve months (SPEC §5 --period, §9, §10) -------------------------

Retention = tuple[int, int, int]  # base, kept, capped


def segment_level(rows: Sequence[Row], segments: Sequence[str], day: date) -> dict[str, int]:
    """Each segment's MRR at the end of `day`: the rows in force that day, by their segment."""
    level: dict[str, int] = {}
    for row, segment in zip(rows, segments, strict=True):
        level[segment] = level.get(segment, 0) + mrr_on([row], day)
    return level


def period_flows(
    allocations: Sequence[Allocation], first: date, last: date
) -> dict[tuple[str, str], int]:
    """(segment, kind) → the amount summed over the months first..last (first days)."""
    sums: dict[tuple[str, str], int] = {}
    for (month, segment, kind), amount in monthly_by_segment(allocations).items():
        if first <= month <= last:
            sums[segment, kind] = sums.get((segment, kind), 0) + amount
    return sums


def month_end_transfers(
    rows: Sequence[Row], segments: Sequence[str], as_of: date
) -> dict[tuple[str, str, date], int]:
    """(customer, segment, month) → moved_out − moved_in of the month-end allocation at
    customer level (the transfers NRR/GRR count as retained, §9)."""
    month_ends = RefSettings(as_of=as_of, mode="snapshot", level="customer", scope="strict")
    moved: dict[tuple[str, str, date], int] = {}
    for key, day, segment, kind, amount in segment_allocations(rows, segments, month_ends):
        sign = {"moved_out": 1, "moved_in": -1}.get(kind, 0)
        index = (key[0], segment, month_start(day))
        moved[index] = moved.get(index, 0) + sign * amount
    return moved


def segment_retention(
    rows: Sequence[Row],
    segments: Sequence[str],
    transfers: dict[tuple[str, str, date], int],
    opening: date,
    closing: date,
) -> dict[str, Retention]:
    """Per segment v, over the customers paying in v at the end of `opening`: their MRR in v
    then (base), retained = their MRR in v at the end of `closing` + their moved_out − moved_in
    in v in the months after `opening`'s through `closing`'s (kept; `transfers` from
    month_end_transfers), and Σ min(then, retained) (capped)."""
    out: dict[str, Retention] = {}
    for customer in sorted({r.customer_id for r in rows}):
        for segment in sorted(set(segments)):
            own = [
                r
                for r, s in zip(rows, segments, strict=True)
                if r.customer_id == customer and s == segment
            ]
            then = mrr_on(own, opening)
            if then <= 0:
                continue
            retained = mrr_on(own, closing) + sum(
                amount
                for (c, v, month), amount in transfers.items()
                if (c, v) == (customer, segment)
                and month_start(opening) < month <= month_start(closing)
            )
            base, kept, capped = out.get(segment, (0, 0, 0))
            out[segment] = (base + then, kept + retained, capped + min(then, retained))
    return out
