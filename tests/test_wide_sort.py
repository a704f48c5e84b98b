"""The customer-level sort of one Int128 column (engine.runs.wide_runs), on events given by hand.

The Int128 is built from a 64-bit low half (position, check, biased delta) and the key with its
top bit flipped, and split back with wrapping casts: keys on both sides of the top bit, checks
wider than the bits kept for them, and deltas at the edge of their bits must all come back
exactly, or the wide path must step aside (a collision, deltas too wide).
"""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
import pytest

from mrrcli.engine import runs as engine_runs
from mrrcli.engine.keys import CHECK, KEY
from mrrcli.engine.runs import POS
from mrrcli.vocabulary import Settings

EPOCH = date(1970, 1, 1)
TOP = 1 << 63  # the key's top bit, flipped to sort the key as a signed half


def wide_runs(
    monkeypatch: pytest.MonkeyPatch,
    events: list[tuple[int, int, int, int]],
    as_of: int,
) -> tuple[pl.DataFrame, bool] | None:
    """engine.runs.wide_runs on (key, check, day, delta) events; days since 1970 (event mode)."""
    keys, checks, days, deltas = (list(column) for column in zip(*events, strict=True))
    frame = pl.DataFrame(
        {KEY: keys, CHECK: checks, POS: days, "delta": deltas},
        schema={KEY: pl.UInt64, CHECK: pl.UInt64, POS: pl.Int32, "delta": pl.Int64},
    )
    monkeypatch.setattr(engine_runs, "_events", lambda rows, settings: frame.lazy())
    rows = pl.DataFrame({"mrr": [1], "start_date": [EPOCH + timedelta(days=min(days))]})
    return engine_runs.wide_runs(rows.lazy(), Settings(as_of=EPOCH + timedelta(days=as_of)))


def test_keys_on_both_sides_of_the_top_bit_come_back_in_unsigned_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    big = (1 << 64) - 1
    events = [
        # the largest key: +500 and -200 on day 19000 (one run, net +300), -300 on 19030;
        # its check has bits above the 32 kept (kept: 1)
        (big, 0xFFFF_FFFF_0000_0001, 19000, 500),
        (big, 0xFFFF_FFFF_0000_0001, 19030, -300),
        (big, 0xFFFF_FFFF_0000_0001, 19000, -200),
        # the top bit alone, and the largest key below it
        (TOP, 2, 19020, -700),
        (TOP, 2, 19010, 700),
        (TOP - 1, 3, 19000, 1000),
        (TOP - 1, 3, 19005, -1000),
        # key 0: one event on the last day before the as-of date
        (0, 4, 19029, 1),
    ]
    result = wide_runs(monkeypatch, events, as_of=19030)
    assert result is not None
    runs, clean = result
    assert clean
    # By hand: keys in unsigned order 0 < 2^63 - 1 < 2^63 < 2^64 - 1, days ascending, `_after`
    # the key's MRR after the day: 0 → 1; 2^63 - 1 → 1000, 0; 2^63 → 700, 0;
    # 2^64 - 1 → 500 - 200 = 300 on day 19000, 300 - 300 = 0 on day 19030.
    assert runs.select(KEY, POS, "_after").rows() == [
        (0, 19029, 1),
        (TOP - 1, 19000, 1000),
        (TOP - 1, 19005, 0),
        (TOP, 19010, 700),
        (TOP, 19020, 0),
        (big, 19000, 300),
        (big, 19030, 0),
    ]


def test_wide_deltas_leave_fewer_check_bits_and_still_come_back_exactly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Widest delta 2^40: 41 bits, 42 with the sign; days 19000..19030 take 5 bits above
    # the lowest, so 64 - 5 - 42 = 17 check bits are kept (at least 16: the wide sort applies).
    # The checks (1 << 20) | 5 and (1 << 20) | 6 differ within the 17 bits kept.
    big = 1 << 40
    high = 1 << 20
    events = [
        (7, high | 5, 19000, big),
        (7, high | 5, 19010, -big),
        (7, high | 5, 19010, 3),
        (7, high | 5, 19020, -3),
        (8, high | 6, 19001, 1),
        (8, high | 6, 19002, big - 1),
    ]
    result = wide_runs(monkeypatch, events, as_of=19030)
    assert result is not None
    runs, clean = result
    assert clean
    # By hand: key 7 is 2^40 from day 19000, 2^40 - 2^40 + 3 = 3 from 19010, 0 from 19020;
    # key 8 is 1 from 19001 and 1 + 2^40 - 1 = 2^40 from 19002.
    assert runs.select(KEY, POS, "_after").rows() == [
        (7, 19000, big),
        (7, 19010, 3),
        (7, 19020, 0),
        (8, 19001, 1),
        (8, 19002, big),
    ]


def test_two_ids_meeting_in_one_key_on_one_day_are_found(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Two ids share the 64-bit key 5 and start on the same day: one run of two events whose
    # check hashes (1, 2) differ, so the runs are not clean and the caller falls back.
    result = wide_runs(monkeypatch, [(5, 1, 19000, 100), (5, 2, 19000, 200)], as_of=19030)
    assert result is not None
    _, clean = result
    assert not clean


def test_deltas_leaving_fewer_than_16_check_bits_step_aside(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Widest delta 2^42: 44 bits with the sign; days 19000..19030 take 5: 64 - 5 - 44 = 15
    # check bits, fewer than 16, so the wide sort does not apply.
    big = 1 << 42
    events = [(7, 1, 19000, big), (7, 1, 19010, -big)]
    assert wide_runs(monkeypatch, events, as_of=19030) is None
