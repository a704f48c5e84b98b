"""What every command shares: the FILE arguments and the common options, merged with the
config file into a Run, with the terminal detected once (or the one a test passed as `obj`)."""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Callable
from typing import Any

import typer

from mrrcli.cli.config import merge
from mrrcli.cli.errors import errors_handled
from mrrcli.cli.options import (
    INPUT,
    OUTPUT,
    PERIOD,
    AmountUnitOption,
    AsOfOption,
    BucketsOption,
    CommonOptions,
    ConfigOption,
    CurrencyOption,
    DateFormatOption,
    DaysPerMonthOption,
    DebugOption,
    DecimalCommaOption,
    DelimiterOption,
    EngineOption,
    Files,
    FormatOption,
    FromOption,
    FxOption,
    KeepDuplicatesOption,
    LevelOption,
    MapOption,
    MaxAgeOption,
    ModeOption,
    OutputOption,
    PartsOption,
    PeriodOption,
    QuietOption,
    ScopeOption,
    SourceOption,
    SparkMasterOption,
    TimezoneOption,
    ToOption,
    WideOption,
)
from mrrcli.cli.run import Run
from mrrcli.errors import UsageError
from mrrcli.present.terminal import Terminal

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
    ("delimiter", DelimiterOption),
    ("decimal_comma", DecimalCommaOption),
    ("period", PeriodOption),
    ("wide", WideOption),
    ("max_age", MaxAgeOption),
    ("parts", PartsOption),
    ("engine", EngineOption),
    ("spark_master", SparkMasterOption),
    ("buckets", BucketsOption),
]
_FLAGS_DEFAULT_FALSE = {"debug"}  # --quiet defaults to None so a config file can set it


def current_terminal(context: typer.Context) -> Terminal:
    """The terminal given to the application (`app(obj=Terminal(...))`), else the detected one."""
    return context.obj if isinstance(context.obj, Terminal) else Terminal.detect()


# Help panels in the same order for every command, the most used first: a command's own
# options (the default panel, with --help), then these; a panel not listed here comes last.
PANEL_ORDER = (PERIOD, OUTPUT, INPUT)


def _panel(parameter: inspect.Parameter) -> str | None:
    """The help panel of a parameter declared as Annotated[..., typer.Option(...)]."""
    info = next(iter(getattr(parameter.annotation, "__metadata__", ())), None)
    return getattr(info, "rich_help_panel", None)


def _panel_rank(parameter: inspect.Parameter) -> int:
    panel = _panel(parameter)
    if panel is None:
        return 0
    return PANEL_ORDER.index(panel) + 1 if panel in PANEL_ORDER else len(PANEL_ORDER) + 1


def _plain_help(parameter: inspect.Parameter) -> inspect.Parameter:
    """Option help is plain text: a `[` (`[default: today, UTC]`, `a [map] table`) is shown as
    written, not taken for Rich markup and swallowed."""
    for info in getattr(parameter.annotation, "__metadata__", ()):
        if isinstance(getattr(info, "help", None), str):
            info.help = re.sub(r"(?<!\\)\[", r"\\[", info.help)
    return parameter


def _parameters(func: Callable[..., None], leave_out: tuple[str, ...]) -> list[inspect.Parameter]:
    """The command's parameters: context, FILE..., then its own options and the common ones
    (but those of the panels `leave_out`) in PANEL_ORDER."""
    own = [p for p in inspect.signature(func).parameters.values() if p.name != "run"]
    kw = inspect.Parameter.KEYWORD_ONLY
    context = inspect.Parameter("context", kw, annotation=typer.Context)
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
    options = [p.replace(kind=kw) for p in own] + [
        p for p in common_params if _panel(p) not in leave_out
    ]
    return [context, files, *sorted(map(_plain_help, options), key=_panel_rank)]


# Commands that write their own kind of file (`report -o report.html|.eml`): the extensions
# of the table formats do not apply to their --output.
OWN_OUTPUT = ("report",)


def _start(options: CommonOptions, terminal: Terminal, command: str) -> Run:
    """The Run of a command, once the options that need no data are known to make sense."""
    if "-" in options.files and terminal.stdin_is_terminal:
        raise UsageError(
            "'-' reads an export from stdin, which is a terminal here: pipe a file in "
            "(mrrcli movements - < export.csv) or name the file"
        )
    run = Run(options, terminal)
    if command not in OWN_OUTPUT:
        run.format()  # an -o mrrcli cannot write is a usage error before anything is read
    return run


def report_command(
    func: Callable[..., None], leave_out: tuple[str, ...] = ()
) -> Callable[..., None]:
    """Give a command the FILE arguments and every common option (but those of the panels
    `leave_out`), merged with the config.

    The command receives a Run (the options and the terminal) first and its own options after.
    """
    params = _parameters(func, leave_out)

    @functools.wraps(func)
    def wrapper(**kwargs: Any) -> None:
        debug = bool(kwargs.get("debug"))
        with errors_handled(debug):
            given = {name: kwargs.pop(name, None) for name, _ in COMMON_OPTIONS}
            config = given.pop("config")
            options = merge(given, config, kwargs.pop("files"))
            terminal = current_terminal(kwargs.pop("context"))
            func(_start(options, terminal, func.__name__), **kwargs)

    wrapper.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    wrapper.__annotations__ = {p.name: p.annotation for p in params}
    return wrapper


def reading_command(func: Callable[..., None]) -> Callable[..., None]:
    """A command that reads an export but reports on no period (`validate`): the common
    options without those of the period and the classification."""
    return report_command(func, leave_out=(PERIOD,))
