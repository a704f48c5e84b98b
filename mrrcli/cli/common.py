"""What every command shares: the FILE arguments and the common options, merged with the
config file into a Run, with the terminal detected once (or the one a test passed as `obj`)."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

import typer

from mrrcli.cli.config import merge
from mrrcli.cli.errors import errors_handled
from mrrcli.cli.options import (
    AmountUnitOption,
    AsOfOption,
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
    MaxAgeOption,
    ModeOption,
    OutputOption,
    PeriodOption,
    QuietOption,
    ScopeOption,
    SourceOption,
    TimezoneOption,
    ToOption,
    WideOption,
)
from mrrcli.cli.run import Run
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
    ("period", PeriodOption),
    ("wide", WideOption),
    ("max_age", MaxAgeOption),
]
_FLAGS_DEFAULT_FALSE = {"debug"}  # --quiet defaults to None so a config file can set it


def current_terminal(context: typer.Context) -> Terminal:
    """The terminal given to the application (`app(obj=Terminal(...))`), else the detected one."""
    return context.obj if isinstance(context.obj, Terminal) else Terminal.detect()


def report_command(func: Callable[..., None]) -> Callable[..., None]:
    """Give a command the FILE arguments and every common option, merged with the config.

    The command receives a Run (the options and the terminal) first and its own options after.
    """
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
    params = [context, files, *[p.replace(kind=kw) for p in own], *common_params]

    @functools.wraps(func)
    def wrapper(**kwargs: Any) -> None:
        debug = bool(kwargs.get("debug"))
        with errors_handled(debug):
            given = {name: kwargs.pop(name) for name, _ in COMMON_OPTIONS}
            config = given.pop("config")
            options = merge(given, config, kwargs.pop("files"))
            terminal = current_terminal(kwargs.pop("context"))
            func(Run(options, terminal), **kwargs)

    wrapper.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    wrapper.__annotations__ = {p.name: p.annotation for p in params}
    return wrapper
