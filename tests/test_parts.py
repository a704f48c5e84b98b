"""Exports read in parts by customer give the same reports as read whole (issue 5: scale).

A customer's movements depend only on its own rows, so reading the customers in parts,
classifying each part and adding up must change nothing, to the cent, in any mode or level.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date

import pytest
from test_properties import COMBINATIONS

from mrrcli import report
from mrrcli.report import Settings, load
from mrrcli.timeline import Level, Mode, Scope
from tests.conftest import SAMPLE_CSV, SAMPLE_PARQUET

AS_OF = date(2026, 6, 30)


@pytest.fixture(scope="module")
def whole() -> report.Rows:
    return load([str(SAMPLE_CSV)])


@pytest.fixture(scope="module")
def in_parts() -> report.Rows:
    return load([str(SAMPLE_CSV)], parts=4)


def test_parts_hold_every_row_once(whole: report.Rows, in_parts: report.Rows) -> None:
    assert len(in_parts.parts) == 4
    assert all(p.frame.height for p in in_parts.parts)
    assert sum(p.frame.height for p in in_parts.parts) == whole.frame.height
    assert in_parts.read == whole.read
    assert in_parts.paying_rows() == whole.paying_rows()
    customers = [set(p.frame.get_column("customer_id")) for p in in_parts.parts]
    assert sum(len(c) for c in customers) == len(set().union(*customers))  # no customer split


@pytest.mark.parametrize(("mode", "level", "scope"), COMBINATIONS)
def test_every_report_is_the_same_read_in_parts(
    whole: report.Rows, in_parts: report.Rows, mode: Mode, level: Level, scope: Scope
) -> None:
    settings = Settings(as_of=AS_OF, mode=mode, level=level, scope=scope)
    for build in (report.movements, report.metrics, report.all_metrics):
        assert build(in_parts, settings).frame.equals(build(whole, settings).frame), build
    split, one = report.expansion(in_parts, settings), report.expansion(whole, settings)
    assert split.frame.equals(one.frame)
    assert split.extra["top_expanding"].equals(one.extra["top_expanding"])
    assert report.customers(in_parts, settings).frame.equals(
        report.customers(whole, settings).frame
    )


def test_parquet_in_parts() -> None:
    settings = Settings(as_of=AS_OF, mode="snapshot")
    split = report.movements(load([str(SAMPLE_PARQUET)], parts=3), settings)
    assert split.frame.equals(report.movements(load([str(SAMPLE_PARQUET)]), settings).frame)


def test_large_exports_are_read_in_parts_by_the_command_line() -> None:
    command = [sys.executable, "-m", "mrrcli", "movements", str(SAMPLE_CSV)]
    command += ["--as-of", "2026-06-30", "--format", "csv"]
    small = {**os.environ, "MRRCLI_WHOLE_ROWS": "500"}
    split = subprocess.run(command, capture_output=True, text=True, env=small, check=True)
    one = subprocess.run(command, capture_output=True, text=True, check=True)
    assert split.stdout == one.stdout
    assert "read in 4 parts by customer" in split.stderr
    assert "parts" not in one.stderr
