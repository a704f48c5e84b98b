"""The fast engine against a second formulation, every column of every change (issue 5).

`mrrcli.engine.timeline` packs key and day into one integer, sorts once and finds runs by comparing
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

from mrrcli.engine import timeline
from mrrcli.engine.keys import CHECK, KEY
from mrrcli.engine.timeline import POS
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
    """timeline._sorted_runs on the given events (positions are days since 1970)."""
    monkeypatch.setattr(timeline, "_events", lambda rows, settings: frame.lazy())
    epoch = date(1970, 1, 1)
    low, high = frame.get_column(POS).min(), frame.get_column(POS).max()
    rows = pl.DataFrame({"mrr": [1], "start_date": [epoch + timedelta(days=low)]})
    settings = Settings(as_of=epoch + timedelta(days=high))
    return timeline._sorted_runs(rows.lazy(), settings, packed)


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
    monkeypatch.setattr(timeline, "_events", lambda rows, settings: frame.lazy())
    with pytest.raises(IdentityError, match="share one hash key"):
        rows = frame_of([Row("a", "a", date(2021, 1, 1), None, 100)])
        compute_changes(rows, Settings(as_of=date(2024, 1, 31)))
