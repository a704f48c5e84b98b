"""The command line: Typer options, the commands, and the one place that knows the terminal.
Thin: it parses, calls the library (mrrcli.report), and hands frames to mrrcli.present."""

from mrrcli.cli.commands import app, main

__all__ = ["app", "main"]
