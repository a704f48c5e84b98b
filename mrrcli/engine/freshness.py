"""How fresh an export is (SPEC §12): the last day on which it shows anything happening, and
whether the as-of date is too far past it for the report to be trusted.

`data_through` is a fact of the rows, like the partial sums: the latest of each part's days,
so an export read whole or in parts has the same one. It never looks at file dates, so a run
is reproducible.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

import polars as pl

from mrrcli.vocabulary import DEFAULT_MAX_AGE


def last_event_day(frame: pl.DataFrame, shape: str, as_of: date) -> date | None:
    """The latest day on or before `as_of` on which these rows show something happening.

    A periods row happens on its start and on its end (an end after `as_of` is only
    scheduled); an invoice line on its period start (its end is the next line's start, or an
    end nobody billed); a snapshot on its month, up to the month's last day or `as_of`."""
    if frame.height == 0:
        return None
    start, end = pl.col("start_date"), pl.col("end_date")
    if shape == "snapshots":
        days = pl.min_horizontal(start.dt.month_end(), pl.lit(as_of)).filter(start <= as_of)
    elif shape == "invoice-lines":
        days = start.filter(start <= as_of)
    else:
        days = pl.max_horizontal(start.filter(start <= as_of).max(), end.filter(end <= as_of).max())
    found = frame.select(days.max().alias("day")).item()
    return found if isinstance(found, date) else None


def data_through(frames: Iterable[pl.DataFrame], shape: str, as_of: date) -> date | None:
    """The latest event day of several parts of one export (None when none is on or before
    `as_of`)."""
    days = [day for frame in frames if (day := last_event_day(frame, shape, as_of)) is not None]
    return max(days, default=None)


@dataclass(frozen=True)
class Freshness:
    """How far the as-of date is past the export's last day, and whether that is too far."""

    data_through: date | None
    as_of: date
    max_age: int = DEFAULT_MAX_AGE  # days; 0 disables the test

    @property
    def age(self) -> int | None:
        """Days from the data's last day to the as-of date."""
        return None if self.data_through is None else (self.as_of - self.data_through).days

    @property
    def stale(self) -> bool:
        """More than `max_age` days between the data's last day and the as-of date."""
        return self.max_age > 0 and self.age is not None and self.age > self.max_age

    def ways_out(self) -> str:
        """What the user can do about it: report as of the data's last day, or allow more."""
        return (
            f"give --as-of {self.data_through} to report as of its last day, or --max-age "
            f"{self.age} or more (e.g. max_age = {max(self.age or 0, 90)} in mrrcli.toml) for "
            "an export that can go that long without a change"
        )

    def problem(self, files: Iterable[str] = ()) -> str:
        """The stale export in one line: its last day, its age, and the two ways out."""
        where = ", ".join(files)
        return (
            f"{where + ': ' if where else ''}stale export: it shows nothing after "
            f"{self.data_through}, {self.age} days before the as-of date {self.as_of} (more "
            f"than --max-age {self.max_age}), so the months since read as no change; "
            f"{self.ways_out()}"
        )


__all__ = ["Freshness", "data_through", "last_event_day"]
