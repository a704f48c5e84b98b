"""One command run: its options and its terminal, and what every command does with them —
Settings and ReadOptions built in one place, the export read (with a spinner on a terminal),
the result written by the one output path, and the notes on stderr."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mrrcli.cli.errors import say
from mrrcli.cli.options import CommonOptions
from mrrcli.errors import UsageError
from mrrcli.present.terminal import Terminal
from mrrcli.vocabulary import counted

if TYPE_CHECKING:
    from mrrcli.present.document import Document, Report
    from mrrcli.present.formats import Format
    from mrrcli.report import Rows, Settings
    from mrrcli.validate import Validation
    from mrrcli.vocabulary import ReadOptions


@dataclass(frozen=True)
class Run:
    """The options of one command run, after the config file, and the terminal it writes to."""

    options: CommonOptions
    terminal: Terminal

    def note(self, message: str) -> None:
        """A message for people, on stderr; none with --quiet."""
        if not self.options.quiet:
            say(message)

    @contextlib.contextmanager
    def progress(self, message: str, delay: float = 2.0) -> Iterator[Callable[[str], None]]:
        """A spinner on stderr, only on a terminal and only once work takes `delay` s. The
        work may tell it what it is doing now (the function yielded: its words replace
        `message`)."""
        if self.options.quiet or not self.terminal.stderr_is_terminal:
            yield _untold
            return
        import threading

        status = self.terminal.console(stderr=True).status(message, spinner="dots")
        timer = threading.Timer(delay, status.start)
        timer.daemon = True
        timer.start()
        try:
            yield lambda words: status.update(words)
        finally:
            timer.cancel()
            status.stop()

    def settings(self) -> Settings:
        """What the reports compute, from the period and classification options."""
        from mrrcli.report import Settings
        from mrrcli.vocabulary import today as as_of_default

        common = self.options
        as_of = common.as_of or as_of_default()
        if common.month_from and common.month_to and common.month_from > common.month_to:
            raise UsageError("--from is after --to")
        if common.month_to and common.month_to > as_of.replace(day=1):
            raise UsageError(
                f"--to {common.month_to:%Y-%m} is after the as-of month {as_of:%Y-%m}; "
                "give a later --as-of"
            )
        if common.month_from and common.month_from > as_of:
            raise UsageError(f"--from {common.month_from:%Y-%m} is after --as-of {as_of}")
        return Settings(
            as_of=as_of,
            mode=common.mode,  # type: ignore[arg-type]
            level=common.level,  # type: ignore[arg-type]
            scope=common.scope,  # type: ignore[arg-type]
            month_from=common.month_from,
            month_to=common.month_to,
            period=common.period,  # type: ignore[arg-type]
            max_age=common.max_age,
        )

    def read_options(self) -> ReadOptions:
        """How an export is read, for `report.load` and `report.validate`."""
        from mrrcli.vocabulary import (
            AmountUnit,
            Engine,
            ReadOptions,
            parse_fraction,
            whole_rows_from_environment,
        )

        common = self.options
        return ReadOptions(
            source=common.source,
            mapping=common.mapping,
            currency=common.currency,
            amount_unit=AmountUnit(common.amount_unit) if common.amount_unit else None,
            days_per_month=parse_fraction(common.days_per_month, "--days-per-month"),
            timezone=common.timezone,
            date_format=common.date_format,
            fx=common.fx,
            keep_duplicates=common.keep_duplicates,
            whole_rows=whole_rows_from_environment(),
            parts=common.parts,
            engine=Engine(common.engine),
            spark_master=common.spark_master,
            buckets=common.buckets,
            delimiter=common.delimiter,
            decimal_comma=common.decimal_comma,
            by=common.by,
            attributes=common.attributes,
        )

    def segmented(self, by: str | None, attributes: Any) -> Run:
        """This run with --by and --attributes (the commands that take them, SPEC §9)."""
        import os
        from dataclasses import replace

        by = by if by is not None else self.options.by  # the command line over the config
        if attributes is None:
            attributes = self.options.attributes
        if attributes is not None and by is None:
            raise UsageError("--attributes needs --by, the attribute to segment by")
        path = os.fspath(attributes) if attributes is not None else None
        return replace(self, options=replace(self.options, by=by, attributes=path))

    def _reading(self) -> contextlib.AbstractContextManager[Callable[[str], None]]:
        return self.progress(f"reading {', '.join(self.options.files)} …")

    def validation(self) -> Validation:
        """The export checked the way the reports read it."""
        from mrrcli.report import validate

        with self._reading():
            return validate(self.options.files, self.read_options())

    def load(
        self,
        settings: Settings | None = None,
        build: Callable[..., Report] | None = None,
        **filters: Any,
    ) -> tuple[Rows, Settings]:
        """The export's rows; snapshots hold month-end values, so they are compared in
        snapshot mode. `build`: the one report they are read for (with its `filters`), whose
        partial sums an export read in parts computes as it goes (report.ahead)."""
        from mrrcli.report import ahead, for_shape, load

        settings = self.settings() if settings is None else settings
        plan = ahead(build, settings, **filters) if build is not None else None
        with self._reading() as progress:
            rows = load(self.options.files, self.read_options(), plan, progress)
        shaped = for_shape(rows, settings)
        if shaped.mode != settings.mode:
            rows.notes.append("snapshots hold month-end MRR: reporting in --mode snapshot")
        _check_period_has_data(rows, shaped)
        return rows, shaped

    def report(
        self,
        build: Callable[..., Report],
        chart: bool = False,
        picture: str | None = None,
        **filters: Any,
    ) -> tuple[Report, Rows]:
        """Read the export, write the report `build` makes of it (and its chart as a `picture`
        file), then say what was read."""
        if picture is not None:
            from mrrcli.cli.pictures import check_chart

            check_chart(picture)
        rows, settings = self.load(build=build, **filters)
        report = build(rows, settings, **filters)
        self.emit(report, chart)
        if picture is not None:
            from mrrcli.cli.pictures import write_chart

            write_chart(report, picture)
            self.note(f"wrote the chart to {picture}")
        self.tell(rows)
        if report.stale:
            # Said even with --quiet: the numbers of the months after the data are not true.
            assert report.freshness is not None
            say(f"warning: {report.freshness.problem(report.files)}")
        return report, rows

    def tell(self, rows: Rows) -> None:
        """After a result is out: what was read, used and set aside, on stderr. (Said last, so
        a run that fails says one line: its error.)"""
        for message in rows.notes:
            self.note(message)
        if rows.computed is not None:
            self.note(rows.computed)
        self.note(self.read_summary(rows))

    def read_summary(self, rows: Rows) -> str:
        """What was read, used and set aside, in one line."""
        paying = rows.paying_rows()
        parts = [f"{counted(rows.read, 'rows read')}, {paying:,} {_verb(paying, 'carry')} MRR"]
        if rows.duplicates:
            them = "it" if rows.duplicates == 1 else "them"
            parts.append(
                f"{counted(rows.duplicates, 'duplicate rows')} counted once "
                f"(--keep-duplicates counts {them})"
            )
        if rows.trial_rows:
            parts.append(
                f"{counted(rows.trial_rows, 'trial rows')} {_verb(rows.trial_rows, 'count')} "
                "as 0 MRR"
            )
        if rows.zero_rows:
            parts.append(
                f"{counted(rows.zero_rows, 'rows')} {_verb(rows.zero_rows, 'carry')} 0 MRR "
                "(zero amount or full discount)"
            )
        if rows.unpaid_rows:
            n = rows.unpaid_rows
            parts.append(
                f"{counted(n, 'rows')} whose status never paid {_verb(n, 'count')} as 0 MRR"
            )
        if rows.over_discount_rows:
            n = rows.over_discount_rows
            parts.append(
                f"{counted(n, 'rows')} {'has' if n == 1 else 'have'} a discount larger than the "
                "price (counted as 0 MRR)"
            )
        return "; ".join(parts)

    def format(self) -> Format:
        """--format, or --output's extension, or by whether stdout is a terminal."""
        from mrrcli.present.formats import resolve_format

        return resolve_format(
            self.options.format,  # type: ignore[arg-type]
            self.options.output,
            self.terminal.stdout_is_terminal,
        )

    def deliver(self, document: Document) -> None:
        """Write a document where and how it was asked for."""
        from mrrcli.present.output import write

        write(document, self.format(), self.options.output, self.terminal, self.options.wide)

    def emit(self, report: Report, chart: bool = False) -> None:
        """Write a report; the chart only with a table on a terminal, and a note where not."""
        from mrrcli.present.output import report_document, write

        fmt, output = self.format(), self.options.output
        on_terminal = self.terminal.stdout_is_terminal
        if chart and output is None and fmt != "table":
            self.note("--chart draws on a terminal only, with the table format")
        drawn = chart and output is None and fmt == "table" and on_terminal
        document = report_document(report, chart=drawn)
        write(document, fmt, output, self.terminal, self.options.wide)
        if output is not None:
            self.note(f"wrote {counted(report.frame.height, 'rows')} to {output}")
        elif chart and fmt == "table" and not on_terminal:
            self.note("--chart draws on a terminal only")


def _check_period_has_data(rows: Rows, settings: Settings) -> None:
    """An --as-of (or --to) before the export's first day with MRR leaves nothing to report:
    almost always a mistyped date, so a usage error rather than an empty table."""
    from mrrcli.report import first_paying_day

    first = first_paying_day(rows)
    if first is None:
        return
    if settings.as_of < first:
        raise UsageError(
            f"--as-of {settings.as_of} is before the export's first day with MRR, {first}: "
            "there is nothing to report; give a later --as-of"
        )
    if settings.month_to is not None and settings.month_to < first.replace(day=1):
        raise UsageError(
            f"--to {settings.month_to:%Y-%m} is before the export's first month with MRR, "
            f"{first:%Y-%m}: there is nothing to report"
        )


def _verb(n: int, verb: str) -> str:
    """`verb` agreeing with a count of `n` ("1 carries", "2 carry")."""
    if n != 1:
        return verb
    return verb[:-1] + "ies" if verb.endswith("y") else verb + "s"


def _untold(words: str) -> None:
    """What the work is doing, told to no one (no spinner: --quiet, or not a terminal)."""
