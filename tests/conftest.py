"""Shared fixtures: every test runs in a clean environment and working directory."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import settings

# Property tests draw the same examples on every run (the guide: tests are deterministic), so a
# red CI run always means a change broke something, never a new random draw.
settings.register_profile("deterministic", derandomize=True)
settings.load_profile("deterministic")

FIXTURES = Path(__file__).parent / "fixtures"
ROOT = Path(__file__).parent.parent
SAMPLE_CSV = ROOT / "sample_data" / "subscriptions.csv"
SAMPLE_PARQUET = ROOT / "sample_data" / "subscriptions.parquet"
SPEC_EXAMPLE = FIXTURES / "spec_example.csv"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No colour, a fixed terminal width, no TZ from the machine."""
    for name in ("NO_COLOR", "FORCE_COLOR", "COLUMNS", "LINES", "TERM", "TZ"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "200")


@pytest.fixture
def in_tmp(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Run in an empty working directory (no mrrcli.toml is picked up)."""
    monkeypatch.chdir(tmp_path)
    return tmp_path
