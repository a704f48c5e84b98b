"""The command line: parse options, call the core, hand a frame to a renderer. Nothing else.

Domain errors are caught here only, printed as one line on stderr, and turned into exit codes
(see errors.ExitCode). Polars is imported inside commands so `--help` stays fast.
"""

import contextlib
import functools
import inspect
import os
import sys
import traceback
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Annotated, Any

import typer

from mrrcli import __version__
from mrrcli.cli.options import (
    AmountUnitOption,
    AsOfOption,
    CommonOptions,
    ConfigOption,
    CurrencyOption,
    DateFormatOption,
    DaysPerMonthOption,
    DebugOption,
    Files,
    FormatOption,
    FromOption,
    FxOption,
    KeepDuplicatesOption,
    LevelOption,
    MapOption,
    ModeOption,
    Movement,
    OutputOption,
    QuietOption,
    ScopeOption,
    SourceOption,
    TimezoneOption,
    ToOption,
    merge,
)
from mrrcli.errors import ExitCode, InputError, MrrError, UsageError

if TYPE_CHECKING:
    from rich.table import Table

    from mrrcli.report import Report, Rows, Settings
    from mrrcli.vocabulary import ReadOptions

app = typer.Typer(
    name="mrrcli",
    no_args_is_help=True,
    rich_markup_mode="rich",
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    help="Exact monthly MRR movements and Expansion MRR from SaaS billing exports.\n\n"
    "Point it at a CSV or Parquet export of price periods (customer_id, start_date, end_date, "
    "amount, ...) and get new, expansion, contraction, churn and reactivation MRR per month, "
    "reconciled to the cent.",
    epilog="Exit codes: 0 ok, 1 bad input, 2 wrong usage, 3 a check failed, 130 interrupted.",
)

# The options every report shares, with the names they take in CommonOptions.
COMMON_OPTIONS: list[tuple[str, Any]] = [
    ("source", SourceOption),
    ("mapping", MapOption),
    ("config", ConfigOption),
    ("currency", CurrencyOption),
    ("fx", FxOption),
    ("amount_unit", AmountUnitOption),
    ("timezone", TimezoneOption),
    ("date_format", DateFormatOption),
    ("keep_duplicates", KeepDuplicatesOption),
    ("as_of", AsOfOption),
    ("month_from", FromOption),
    ("month_to", ToOption),
    ("mode", ModeOption),
    ("level", LevelOption),
    ("scope", ScopeOption),
    ("days_per_month", DaysPerMonthOption),
    ("format", FormatOption),
    ("output", OutputOption),
    ("quiet", QuietOption),
    ("debug", DebugOption),
]
_FLAGS_DEFAULT_FALSE = {"debug"}  # --quiet defaults to None so a config file can set it


def unwrap_help(doc: str | None) -> str:
    """A docstring as help text: paragraphs re-flowed, indented example lines kept as they are.

    Typer keeps single line breaks of later paragraphs, so prose wrapped at 100 columns in the
    source would wrap twice on the terminal.
    """
    paragraphs = inspect.cleandoc(doc or "").split("\n\n")
    flowed = []
    for paragraph in paragraphs:
        lines = paragraph.splitlines()
        if any(line.startswith(" ") for line in lines):
            flowed.append(paragraph)  # an example: keep its lines
        else:
            flowed.append(" ".join(line.strip() for line in lines))
    return "\n\n".join(flowed)


def command(func: Callable[..., None]) -> Callable[..., None]:
    """Register a command with its docstring re-flowed as help."""
    app.command(help=unwrap_help(func.__doc__))(func)
    return func


def printable(text: str) -> str:
    """A message safe for a terminal: control characters from a file are shown escaped."""
    return "".join(
        ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text
    )


def note(message: str, common: CommonOptions | None = None) -> None:
    """A message for people, on stderr (never on stdout, which carries data)."""
    if common is not None and common.quiet:
        return
    typer.echo(f"mrrcli: {printable(message)}", err=True)


@contextlib.contextmanager
def progress(message: str, common: CommonOptions, delay: float = 2.0) -> Iterator[None]:
    """A spinner on stderr, only on a terminal and only once work takes more than `delay` s."""
    if common.quiet or not sys.stderr.isatty():
        yield
        return
    import threading

    from rich.console import Console

    status = Console(stderr=True).status(message, spinner="dots")
    timer = threading.Timer(delay, status.start)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
        status.stop()


@contextlib.contextmanager
def errors_handled(debug: bool) -> Iterator[None]:
    """Domain errors → one line on stderr and their exit code; never a traceback."""
    try:
        yield
    except MrrError as error:
        if debug:
            traceback.print_exc()
        typer.echo(f"mrrcli: error: {printable(str(error))}", err=True)
        raise typer.Exit(int(error.exit_code)) from None
    except KeyboardInterrupt:
        typer.echo("mrrcli: interrupted", err=True)
        raise typer.Exit(int(ExitCode.INTERRUPTED)) from None
    except BrokenPipeError:
        _quiet_broken_pipe()
    except (typer.Exit, typer.Abort, SystemExit):
        raise
    except Exception as error:  # a bug or an unforeseen input: say so in one line
        if debug:
            traceback.print_exc()
        first = str(error).strip().splitlines()[0] if str(error).strip() else ""
        typer.echo(
            f"mrrcli: error: {type(error).__name__}: {printable(first)} "
            "(run with --debug for details)",
            err=True,
        )
        raise typer.Exit(int(ExitCode.DATA_ERROR)) from None


def _quiet_broken_pipe() -> None:
    """The reader went away (`| head`): stop quietly, with nothing more on stdout."""
    with contextlib.suppress(OSError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    raise typer.Exit(0)


def report_command(func: Callable[..., None]) -> Callable[..., None]:
    """Give a command the FILE arguments and every common option, merged with the config.

    The command receives a CommonOptions as its first argument and its own options after.
    """
    own = [p for p in inspect.signature(func).parameters.values() if p.name != "common"]
    kw = inspect.Parameter.KEYWORD_ONLY
    files = inspect.Parameter("files", kw, annotation=Files)
    common_params = [
        inspect.Parameter(
            name,
            kw,
            annotation=annotation,
            default=False if name in _FLAGS_DEFAULT_FALSE else None,
        )
        for name, annotation in COMMON_OPTIONS
    ]
    params = [files, *[p.replace(kind=kw) for p in own], *common_params]

    @functools.wraps(func)
    def wrapper(**kwargs: Any) -> None:
        debug = bool(kwargs.get("debug"))
        with errors_handled(debug):
            given = {name: kwargs.pop(name) for name, _ in COMMON_OPTIONS}
            config = given.pop("config")
            common = merge(given, config, kwargs.pop("files"))
            func(common, **kwargs)

    wrapper.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    wrapper.__annotations__ = {p.name: p.annotation for p in params}
    return wrapper


def _settings(common: CommonOptions) -> "Settings":
    from mrrcli.report import Settings
    from mrrcli.vocabulary import today as as_of_default

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
    )


def _load(common: CommonOptions, settings: "Settings") -> tuple["Rows", "Settings"]:
    """Load the export; snapshots hold month-end values, so they are compared in snapshot mode."""
    from mrrcli.report import for_shape

    rows = _load_rows(common)
    shaped = for_shape(rows, settings)
    if shaped.mode != settings.mode:
        rows.notes.append("snapshots hold month-end MRR: reporting in --mode snapshot")
    return rows, shaped


def reading_options(common: CommonOptions) -> "ReadOptions":
    """How an export is read, for `report.load` and `report.validate`."""
    from mrrcli.vocabulary import (
        AmountUnit,
        ReadOptions,
        parse_fraction,
        whole_rows_from_environment,
    )

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
    )


def _load_rows(common: CommonOptions) -> "Rows":
    from mrrcli.report import load

    with progress(f"reading {', '.join(common.files)} …", common):
        return load(common.files, reading_options(common))


def tell(rows: "Rows", common: CommonOptions) -> None:
    """After a report is out: what was read, used and set aside, on stderr. (Said last, so a
    run that fails says one line: its error.)"""
    for message in rows.notes:
        note(message, common)
    parts = [f"{rows.read:,} rows read, {rows.paying_rows():,} carry MRR"]
    if rows.duplicates:
        parts.append(
            f"{rows.duplicates:,} duplicate rows counted once (--keep-duplicates counts them)"
        )
    if rows.trial_rows:
        parts.append(f"{rows.trial_rows:,} trial rows count as 0 MRR")
    if rows.zero_rows:
        parts.append(f"{rows.zero_rows:,} rows carry 0 MRR (zero amount or full discount)")
    note("; ".join(parts), common)


def resolve_output_format(common: CommonOptions) -> str:
    """The format to write: --format, or --output's extension, or by whether stdout is a tty."""
    from mrrcli.present.formats import resolve_format

    return resolve_format(common.format, common.output, sys.stdout.isatty())  # type: ignore[arg-type]


def write_report_file(path: str, text: str | None) -> None:
    """Write a report file atomically; a folder that cannot be written is a usage error."""
    from mrrcli.present.formats import write_atomic

    try:
        write_atomic(path, text or "")
    except OSError as error:
        raise UsageError(f"{path}: cannot write the report: {error.strerror}") from None


def deliver(rendered: "str | Table", common: CommonOptions) -> None:
    """Text or a Rich table to --output (as text) or stdout (a table printed with Rich)."""
    from mrrcli.present.formats import table_text

    if common.output is not None:
        text = rendered if isinstance(rendered, str) else table_text(rendered)
        write_report_file(common.output, text)
    elif isinstance(rendered, str):
        sys.stdout.write(rendered)
        sys.stdout.flush()
    else:
        from rich.console import Console

        Console().print(rendered)


def emit(report: "Report", common: CommonOptions, chart: bool = False) -> None:
    """Write the report where and how it was asked for; a chart only on a terminal."""
    from mrrcli.present.formats import print_table, render_text, table_text

    fmt = resolve_output_format(common)
    if common.output is not None:
        text = table_text(report) if fmt == "table" else render_text(report, fmt)  # type: ignore[arg-type]
        write_report_file(common.output, text)
        note(f"wrote {report.frame.height:,} rows to {common.output}", common)
        return
    if fmt == "table":
        print_table(report, chart=chart and sys.stdout.isatty())
        if chart and not sys.stdout.isatty():
            note("--chart draws on a terminal only", common)
        return
    if chart:
        note("--chart draws on a terminal only, with the table format", common)
    sys.stdout.write(render_text(report, fmt))  # type: ignore[arg-type]
    sys.stdout.flush()


ChartOption = Annotated[
    bool,
    typer.Option(
        "--chart",
        help="Below the table, draw monthly bars and the closing MRR line (terminal only).",
        rich_help_panel="Output",
    ),
]


@command
@report_command
def movements(common: CommonOptions, chart: ChartOption = False) -> None:
    """Monthly MRR movements: new, expansion, reactivation, contraction, churn.

    One row per month: opening MRR, each movement, net new MRR and closing MRR, with
    opening + new + expansion + reactivation - contraction - churned = closing to the cent.

    [bold]Example[/bold]

        $ mrrcli movements sample_data/subscriptions.csv --as-of 2026-06-30
    """
    from mrrcli.report import movements as movements_report

    settings = _settings(common)
    rows, settings = _load(common, settings)
    emit(movements_report(rows, settings), common, chart)
    tell(rows, common)


@command
@report_command
def expansion(common: CommonOptions, chart: ChartOption = False) -> None:
    """Expansion MRR, the Expansion MRR rate, its share of opening MRR and of new MRR.

    Flows are day-normalized (value x 30.4375 / days) before the month-over-month rate, so
    February is not penalised for being short. benchmark_met: expansion >= 30% of new MRR. On a
    terminal, the customers with the most expansion in the last month follow the table.

    [bold]Example[/bold]

        $ mrrcli expansion sample_data/subscriptions.csv --from 2026-01
    """
    from mrrcli.report import expansion as expansion_report

    settings = _settings(common)
    rows, settings = _load(common, settings)
    emit(expansion_report(rows, settings), common, chart)
    tell(rows, common)


@command
@report_command
def metrics(common: CommonOptions) -> None:
    """Growth, quick ratio, gross and net MRR churn, NRR, GRR, ARPA and customer counts.

    [bold]Example[/bold]

        $ mrrcli metrics sample_data/subscriptions.csv --as-of 2026-06-30
    """
    from mrrcli.report import metrics as metrics_report

    settings = _settings(common)
    rows, settings = _load(common, settings)
    emit(metrics_report(rows, settings), common)
    tell(rows, common)


MonthOption = Annotated[
    str | None,
    typer.Option("--month", help="Only this month, YYYY-MM.", show_default=False),
]
MovementOption = Annotated[
    Movement | None,
    typer.Option("--movement", help="Only this movement.", show_default=False),
]
CustomerOption = Annotated[
    str | None,
    typer.Option("--customer", help="Only this customer id.", show_default=False),
]


@command
@report_command
def customers(
    common: CommonOptions,
    month: MonthOption = None,
    movement: MovementOption = None,
    customer: CustomerOption = None,
) -> None:
    """Every movement per customer and day: the audit trail behind each monthly total.

    Rows of a month sum exactly to that month's movements. Filter with --month, --movement
    and --customer. Rows are sorted by date; with --month, largest amount first.

    [bold]Example[/bold]

        $ mrrcli customers sample_data/subscriptions.csv --as-of 2026-06-30 \\
            --month 2026-03 --movement expansion
    """
    from mrrcli.cli.options import parse_month
    from mrrcli.report import customers as customers_report

    if month is not None:
        month = parse_month(month, "--month").strftime("%Y-%m")
    settings = _settings(common)
    rows, settings = _load(common, settings)
    report = customers_report(
        rows,
        settings,
        month=month,
        movement=movement.value if movement else None,
        customer=customer,
    )
    emit(report, common)
    tell(rows, common)


@command
@report_command
def validate(common: CommonOptions) -> None:
    """Check an export the way the reports read it and list every problem found.

    Each problem names the file, the first spreadsheet rows, the column and how many rows share
    it; a summary of rows read, used and set aside goes to stderr. Exit 0 when there are no
    errors (warnings alone are fine), 1 when there are.

    [bold]Example[/bold]

        $ mrrcli validate export.csv --map customer_id="Account ID"
    """
    from mrrcli.present.formats import render_problems
    from mrrcli.report import validate as validate_files

    with progress(f"reading {', '.join(common.files)} …", common):
        result = validate_files(common.files, reading_options(common))
    deliver(render_problems(result, resolve_output_format(common)), common)
    note(result.summary(), common)
    if result.errors:
        raise typer.Exit(int(ExitCode.DATA_ERROR))


RuleOption = Annotated[
    list[str],
    typer.Option(
        "--rule",
        "-r",
        help="METRIC OP NUMBER, e.g. 'expansion_to_new>=0.30' (repeatable; ratios as fractions, "
        "money in major units).",
        show_default=False,
    ),
]
CheckMonthOption = Annotated[
    str | None,
    typer.Option(
        "--month",
        help="Month to check, YYYY-MM.  [default: the last complete month before --as-of]",
        show_default=False,
    ),
]


@command
@report_command
def check(common: CommonOptions, rule: RuleOption, month: CheckMonthOption = None) -> None:
    """Evaluate threshold rules on one month's metrics, for alerts from cron.

    Prints each rule with the metric's value and pass or fail. Exit 0 when all pass, 3 when
    any fails (an empty value, such as a ratio over 0, fails), 2 for a malformed rule or an
    unknown metric. Any column of movements, expansion or metrics is a metric.

    [bold]Example[/bold]

        $ mrrcli check export.csv -r 'expansion_to_new>=0.30' -r 'nrr>=1'
    """
    from mrrcli.checks import evaluate, last_complete_month, parse_rule
    from mrrcli.cli.options import parse_month
    from mrrcli.present.formats import render_outcomes
    from mrrcli.report import all_metrics
    from mrrcli.vocabulary import EXPANSION_COLUMNS, METRICS_COLUMNS, MOVEMENTS_COLUMNS

    known = set(MOVEMENTS_COLUMNS) | set(EXPANSION_COLUMNS) | set(METRICS_COLUMNS)
    known -= {"month"}
    rules = [parse_rule(text, known) for text in rule]
    settings = _settings(common)
    target = (
        parse_month(month, "--month") if month else last_complete_month(settings.as_of)
    ).strftime("%Y-%m")
    rows, settings = _load(common, settings)
    report = all_metrics(rows, settings)
    found = report.frame.filter(report.frame.get_column("month") == target)
    if found.height == 0:
        months = report.frame.get_column("month").to_list()
        span = f"{months[0]} to {months[-1]}" if months else "no month"
        message = f"no data for {target}: the report covers {span}"
        if month is not None:
            raise UsageError(f"--month {target}: {message}")
        raise InputError(message)
    outcomes = evaluate(rules, target, found.row(0, named=True))
    deliver(render_outcomes(outcomes, resolve_output_format(common), report.currency), common)
    tell(rows, common)
    if not all(outcome.passed for outcome in outcomes):
        raise typer.Exit(int(ExitCode.CHECK_FAILED))


def _version(value: bool) -> None:
    if value:
        typer.echo(f"mrrcli {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    """Exact monthly MRR movements and Expansion MRR from SaaS billing exports."""


def _defer_rich_markdown() -> None:
    """Typer's help renderer imports rich.markdown (and markdown-it), which mrrcli's help never
    uses: a fifth of every start-up. Stand in a module that imports the real one on first use.
    """
    if "rich.markdown" in sys.modules:
        return
    import importlib
    import types

    placeholder = types.ModuleType("rich.markdown")

    def real() -> types.ModuleType:
        if sys.modules.get("rich.markdown") is placeholder:
            del sys.modules["rich.markdown"]
        return importlib.import_module("rich.markdown")

    class Markdown:
        def __new__(cls, *args: Any, **kwargs: Any) -> Any:
            return real().Markdown(*args, **kwargs)

    def attribute(name: str) -> Any:
        if name.startswith("__"):  # the import system probing, not a user of the module
            raise AttributeError(name)
        return getattr(real(), name)

    placeholder.Markdown = Markdown  # type: ignore[attr-defined]
    placeholder.__getattr__ = attribute  # type: ignore[method-assign]
    sys.modules["rich.markdown"] = placeholder


def main() -> None:
    """Console-script entry point."""
    _defer_rich_markdown()
    try:
        app()
    except BrokenPipeError:
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(0)
    except KeyboardInterrupt:
        typer.echo("mrrcli: interrupted", err=True)
        sys.exit(int(ExitCode.INTERRUPTED))
