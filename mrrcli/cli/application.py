"""The Typer application, its command registration and the console-script entry point."""

from __future__ import annotations

import inspect
import os
import re
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

import typer

from mrrcli import __version__
from mrrcli.cli.errors import say, silence_stdout
from mrrcli.errors import ExitCode

if TYPE_CHECKING:
    from mrrcli.present.terminal import Terminal

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
    from mrrcli.cli.pictures import PictureCommand  # --chart PATH.png (SPEC §11)

    class Command(PictureCommand):
        """Its usage line names the arguments plainly (`FILE...`), without the braces Typer
        puts around required ones (`{files}` read as a placeholder left unfilled)."""

        def collect_usage_pieces(self, ctx: Any) -> list[str]:
            pieces: list[str] = super().collect_usage_pieces(ctx)
            return [re.sub(r"^\{(.*)\}$", r"\1", piece) for piece in pieces]

    app.command(help=unwrap_help(func.__doc__), cls=Command)(func)
    return func


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


# Polars' allocator (jemalloc) keeps freed pages for 10 s before giving them back (its default
# is about 10 ms of "dirty" and none of "muzzy" pages): a report frees and allocates buffers of
# the same sizes over and over, part after part, and page faults then took a third of a large
# run's time (bench/results.md: 104.5M rows in 52 s, 36 s with this). Read once, as Polars is
# first imported; a value the user set is kept.
ALLOCATOR = ("_RJEM_MALLOC_CONF", "dirty_decay_ms:10000,muzzy_decay_ms:10000")


def main(terminal: Terminal | None = None) -> None:
    """Console-script entry point; `terminal` stands in for the detected one (tests)."""
    os.environ.setdefault(*ALLOCATOR)
    _defer_rich_markdown()
    try:
        app(obj=terminal)
    except BrokenPipeError:
        silence_stdout()
        sys.exit(0)
    except KeyboardInterrupt:
        say("interrupted")
        sys.exit(int(ExitCode.INTERRUPTED))
