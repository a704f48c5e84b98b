"""The command line: Typer options, the commands, and the terminal they write to.
Thin: it parses, calls the library (mrrcli.report), and hands what it returns to mrrcli.present."""

from mrrcli.cli import commands as commands  # registers the commands on the app
from mrrcli.cli.application import app, main

__all__ = ["app", "main"]
