"""The fast engine against a second formulation, every column of every change (issue 5).

`mrrcli.engine.runs` packs key and day into one integer, sorts once and finds runs by comparing
neighbours; `grouped_formulation` nets events with group_by and sorts by two columns. Running
columns must be computed before any aggregation, or MRR silently moves between new and
reactivation: the two must agree exactly, in every mode, level and scope. The fallback paths
(two ids meeting in one packed key; a 64-bit collision) are forced here too.
"""

from __future__ import annotations

from datetime import date, timedelta

import grouped_formulation
import polars as pl
import pytest
from hypothesis import given
from reference import Row
from test_properties import COMBINATIONS, FAST, Dataset, datasets, frame_of

from mrrcli.engine import runs as engine_runs
from mrrcli.engine.keys import CHECK, KEY
from mrrcli.engine.runs import POS
from mrrcli.engine.timeline import classified_changes as compute_changes
from mrrcli.engine.totals import IdentityError
from mrrcli.report import load
from mrrcli.vocabulary import Level, Mode, Scope, Settings
from tests.conftest import SAMPLE_CSV


def second(frame: pl.DataFrame, settings: Settings, ids: bool) -> pl.DataFrame:
    changes = grouped_formulation.classified_changes(frame.lazy(), settings, ids).collect()
    return changes.sort(KEY, "date")


def assert_same(frame: pl.DataFrame, settings: Settings, ids: bool = True) -> None:
    fast = compute_changes(frame, settings, ids)
    slow = second(frame, settings, ids)
    assert fast.columns == slow.columns
    assert fast.schema == slow.schema
    for column in fast.columns:
        assert fast.get_column(column).to_list() == slow.get_column(column).to_list(), column


@pytest.mark.parametrize(("mode", "level", "scope"), COMBINATIONS)
@FAST
@given(data=datasets())
def test_every_column_matches_the_grouped_formulation(
    data: Dataset, mode: Mode, level: Level, scope: Scope
) -> None:
    settings = Settings(as_of=data.as_of, mode=mode, level=level, scope=scope)
    assert_same(frame_of(data.rows), settings)


@pytest.mark.parametrize(("mode", "level", "scope"), COMBINATIONS)
def test_sample_data_matches_the_grouped_formulation(
    mode: Mode, level: Level, scope: Scope
) -> None:
    rows = load([str(SAMPLE_CSV)])
    settings = Settings(as_of=date(2026, 6, 30), mode=mode, level=level, scope=scope)
    assert_same(rows.frame, settings, ids=level == "subscription")


def events(
    keys: list[int], checks: list[int], positions: list[int], deltas: list[int]
) -> pl.DataFrame:
    return pl.DataFrame(
        {KEY: keys, CHECK: checks, POS: positions, "delta": deltas},
        schema={KEY: pl.UInt64, CHECK: pl.UInt64, POS: pl.Int32, "delta": pl.Int64},
    )


def runs_of(
    monkeypatch: pytest.MonkeyPatch, frame: pl.DataFrame, packed: bool
) -> tuple[pl.DataFrame, bool]:
    """engine.runs.sorted_runs on the given events (positions are days since 1970)."""
    monkeypatch.setattr(engine_runs, "_events", lambda rows, settings: frame.lazy())
    epoch = date(1970, 1, 1)
    low, high = frame.get_column(POS).min(), frame.get_column(POS).max()
    rows = pl.DataFrame({"mrr": [1], "start_date": [epoch + timedelta(days=low)]})
    settings = Settings(as_of=epoch + timedelta(days=high))
    return engine_runs.sorted_runs(rows.lazy(), settings, packed)


def test_two_ids_in_one_packed_key_fall_back_to_the_two_column_sort(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Keys 0x100 and 0x101 differ only in the low bits the packed sort gives to positions.
    frame = events(
        [0x100, 0x101, 0x100, 0x101, 0x100],
        [1, 2, 1, 2, 1],
        [19000, 19001, 19010, 19020, 19030],
        [500, 700, 300, -700, -800],
    )
    _, clean = runs_of(monkeypatch, frame, packed=True)
    assert not clean
    runs, clean = runs_of(monkeypatch, frame, packed=False)
    assert clean
    assert runs.select(KEY, POS, "_after").rows() == [
        (0x100, 19000, 500),
        (0x100, 19010, 800),
        (0x100, 19030, 0),
        (0x101, 19001, 700),
        (0x101, 19020, 0),
    ]


def test_the_packed_sort_nets_same_day_events_and_keeps_keys_apart(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    frame = events(
        [7 << 32, 7 << 32, 9 << 32, 7 << 32, 9 << 32],
        [1, 1, 2, 1, 2],
        [100, 100, 100, 130, 160],
        [500, -200, 900, -300, -900],
    )
    runs, clean = runs_of(monkeypatch, frame, packed=True)
    assert clean
    assert runs.select(KEY, POS, "_after").rows() == [
        (7 << 32, 100, 300),
        (7 << 32, 130, 0),
        (9 << 32, 100, 900),
        (9 << 32, 160, 0),
    ]


def test_a_64_bit_collision_stops_the_run(monkeypatch: pytest.MonkeyPatch) -> None:
    # Two customers whose first hash is equal and whose second differs.
    frame = events([5, 5], [1, 2], [19000, 19005], [100, 200])
    monkeypatch.setattr(engine_runs, "_events", lambda rows, settings: frame.lazy())
    with pytest.raises(IdentityError, match="share one hash key"):
        rows = frame_of([Row("a", "a", date(2021, 1, 1), None, 100)])
        compute_changes(rows, Settings(as_of=date(2024, 1, 31)))


def test_the_int128_sort_is_used_and_agrees_with_the_packed_sort() -> None:
    # a: 1000 from Jan 5, 3000 from Feb 10 (same-day plan change), gone Apr 1;
    # b: 500 from Jan 20 to Jan 25 (one month: nets out in snapshot mode), 700 from Mar 3.
    rows = frame_of(
        [
            Row("a", "a1", date(2024, 1, 5), date(2024, 2, 10), 1000),
            Row("a", "a2", date(2024, 2, 10), date(2024, 4, 1), 3000),
            Row("b", "b1", date(2024, 1, 20), date(2024, 1, 25), 500),
            Row("b", "b2", date(2024, 3, 3), None, 700),
        ]
    ).lazy()
    for mode in (Mode.event, Mode.snapshot):
        settings = Settings(as_of=date(2024, 6, 30), mode=mode)
        wide = engine_runs.wide_runs(rows, settings)
        assert wide is not None and wide[1]
        packed, clean = engine_runs.sorted_runs(rows, settings, packed=True)
        assert clean
        # Runs of zero net change may differ (a row within one month is dropped before the
        # sort); the changes, the runs whose MRR moved, are the same.
        moved = pl.col("_after") != pl.col("_after").shift(1).over(KEY).fill_null(0)
        assert wide[0].filter(moved).rows() == packed.select(wide[0].columns).filter(moved).rows()
    # By hand, snapshot mode: a is 1000 at Jan 31, 3000 at Feb 29 and Mar 31, 0 at Apr 30;
    # b is 0 at Jan 31 (its January row ended on Jan 25) and 700 from Mar 31.
    snapshot = Settings(as_of=date(2024, 6, 30), mode=Mode.snapshot)
    changes = compute_changes(rows.collect(), snapshot, ids=True)
    assert sorted(changes.select("customer_id", "month", "movement", "amount").rows()) == [
        ("a", date(2024, 1, 1), "new", 1000),
        ("a", date(2024, 2, 1), "expansion", 2000),
        ("a", date(2024, 4, 1), "churn", 3000),
        ("b", date(2024, 3, 1), "new", 700),
    ]


def test_deltas_too_wide_for_the_int128_sort_fall_back_exactly() -> None:
    # 2^50 minor units leave fewer than 16 bits for the check hash beside a 51-bit delta and
    # the day: the frame sort is used, and the changes still match the grouped formulation.
    big = 2**50
    rows = frame_of(
        [
            Row("a", "a1", date(2024, 1, 5), date(2024, 3, 1), big),
            Row("a", "a2", date(2024, 3, 1), None, big + 1),
            Row("b", "b1", date(2024, 2, 1), None, 1),
        ]
    )
    settings = Settings(as_of=date(2024, 6, 30))
    assert engine_runs.wide_runs(rows.lazy(), settings) is None
    assert_same(rows, settings)
    changes = compute_changes(rows, settings, ids=True)
    # a: new 2^50 on Jan 5, expansion 1 on Mar 1; b: new 1 on Feb 1
    assert sorted(changes.select("customer_id", "date", "movement", "amount").rows()) == [
        ("a", date(2024, 1, 5), "new", big),
        ("a", date(2024, 3, 1), "expansion", 1),
        ("b", date(2024, 2, 1), "new", 1),
    ]
