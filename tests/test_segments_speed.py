"""What makes segments cheap (SPEC §9; issue 13's speed): one sort of the events by key,
position and segment; the flows summed per position before they get a month; each
segment's rows span its life only, so `--by subscription_id` does not build months ×
subscriptions rows."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_properties import COMBINATIONS, FAST, Dataset, datasets, frame_of

from mrrcli.engine.keys import KEY
from mrrcli.engine.partials import Needs, combine, partial
from mrrcli.engine.segment_runs import segment_rows, segment_runs
from mrrcli.engine.segments import SEGMENT, allocated, allocation_plan, segment_flows
from mrrcli.engine.timeline import classified_changes
from mrrcli.vocabulary import Level, Mode, Scope, Settings


def _allocation(frame: pl.DataFrame, settings: Settings) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The runs and the allocation of rows with a `segment` column."""
    changes = classified_changes(frame.lazy(), settings, ids=False)
    runs = segment_runs(segment_rows(frame.lazy(), settings), settings)
    return runs, allocated(runs, changes, settings)


def _frame(rows: list[tuple[str, str, str, date, date | None, int]]) -> pl.DataFrame:
    """customer, subscription, segment, start, end (exclusive), MRR in cents."""
    columns = ["customer_id", "subscription_id", "segment", "start_date", "end_date", "mrr"]
    return pl.DataFrame(rows, schema=columns, orient="row").with_columns(
        pl.col("start_date", "end_date").cast(pl.Date)
    )


def test_one_sort_and_the_levels_on_a_hand_example() -> None:
    """X pays 100.00 on basic from Jan 10 to Apr 10. Y pays 100.00 on basic from Jan 5 and
    moves to pro at 180.00 on Feb 10."""
    frame = _frame(
        [
            ("X", "x1", "basic", date(2024, 1, 10), date(2024, 4, 10), 10000),
            ("Y", "y1", "basic", date(2024, 1, 5), date(2024, 2, 10), 10000),
            ("Y", "y2", "pro", date(2024, 2, 10), None, 18000),
        ]
    )
    settings = Settings(as_of=date(2024, 5, 31))
    runs, allocation = _allocation(frame, settings)
    # Five changes in segments: X +100 (Jan 10), −100 (Apr 10); Y +100 basic (Jan 5), and on
    # Feb 10 −100 basic, +180 pro: the two changes of Y's day are neighbours, basic first.
    assert runs.height == 5
    assert runs.equals(runs.sort(KEY, "_pos", SEGMENT))
    # By hand: X new 100.00 on Jan 10, churn 100.00 on Apr 10, in basic; Y new 100.00 on
    # Jan 5 in basic, then on Feb 10 basic moved_out 100.00 (100.00 → 0.00) and pro moved_in
    # 100.00 and expansion 80.00 (0.00 → 180.00).
    kinds = ["new_mrr", "expansion_mrr", "churned_mrr", "moved_in_mrr", "moved_out_mrr"]
    got = allocation.sort("date", SEGMENT).select(
        "date", pl.col(SEGMENT).cast(pl.String), "mrr_before", "mrr_after", *kinds
    )
    assert got.rows() == [
        (date(2024, 1, 5), "basic", 0, 10000, 10000, 0, 0, 0, 0),
        (date(2024, 1, 10), "basic", 0, 10000, 10000, 0, 0, 0, 0),
        (date(2024, 2, 10), "basic", 10000, 0, 0, 0, 0, 0, 10000),
        (date(2024, 2, 10), "pro", 0, 18000, 0, 8000, 0, 10000, 0),
        (date(2024, 4, 10), "basic", 10000, 0, 0, 0, 10000, 0, 0),
    ]


@st.composite
def mixed(draw: st.DrawFn) -> tuple[Dataset, list[str]]:
    """Random rows where some customers keep one segment over their life and others mix."""
    data = draw(datasets())
    customers = sorted({r.customer_id for r in data.rows})
    mono = {c: draw(st.sampled_from([None, "a", "b"])) for c in customers}
    labels = [mono[r.customer_id] or draw(st.sampled_from(["a", "b", "c"])) for r in data.rows]
    return data, labels


@pytest.mark.parametrize(("mode", "level", "scope"), COMBINATIONS)
@FAST
@given(case=mixed())
def test_flows_by_position_and_levels_per_segment(
    case: tuple[Dataset, list[str]], mode: Mode, level: Level, scope: Scope
) -> None:
    """The flows summed per position, then per month, equal the flows of every change given
    its month; each change's b_v is the a_v of the key's previous change in the segment."""
    data, labels = case
    settings = Settings(as_of=data.as_of, mode=mode, level=level, scope=scope)
    frame = frame_of(data.rows).with_columns(pl.Series(SEGMENT, labels))
    changes = classified_changes(frame.lazy(), settings, ids=False)
    runs, allocation = _allocation(frame, settings)
    order = ["month", SEGMENT]
    by_month = segment_flows(allocation).sort(order)
    lazily = allocation_plan(runs, changes, settings, calendar=False)
    assert segment_flows(lazily, settings).sort(order).equals(by_month)
    previous = pl.col("mrr_after").shift(1).over(KEY, SEGMENT, order_by="date").fill_null(0)
    chained = allocation.select((pl.col("mrr_before") == previous).all()).item()
    assert chained


def test_a_segment_per_subscription_spans_its_life_not_every_month() -> None:
    """20 customers of one subscription each, subscription k paying 10.00 from the first of month
    k (Jan 2020 = month 0) for two months; the last one never ends. As of 2024-12-31 the
    report has 60 months, so every month × segment would be 20 × 60 = 1,200 rows."""
    rows = []
    for k in range(20):
        start = date(2020 + k // 12, k % 12 + 1, 1)
        m = k + 2
        end = None if k == 19 else date(2020 + m // 12, m % 12 + 1, 1)
        rows.append((f"c{k:02d}", f"s{k:02d}", f"s{k:02d}", start, end, 1000))
    settings = Settings(as_of=date(2024, 12, 31), level=Level.customer)
    combined = combine([partial(_frame(rows), settings, Needs(segments=True))], settings)
    assert combined.segments is not None
    table = combined.segments.flows
    # By hand: subscriptions 0–18 have rows in months k (new), k + 1 (kept) and k + 2
    # (churned on the 1st): 19 × 3 = 57; subscription 19 from month 19 (Aug 2021) to
    # Dec 2024, month 59: 41 rows. 98 in all.
    assert combined.movements.height == 60
    assert table.height == 19 * 3 + 41
    first = table.filter(pl.col(SEGMENT) == "s00").select("month", "new_mrr", "churned_mrr")
    assert first.rows() == [
        (date(2020, 1, 1), 1000, 0),
        (date(2020, 2, 1), 0, 0),
        (date(2020, 3, 1), 0, 1000),
    ]
