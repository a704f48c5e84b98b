"""Messages on stderr, and errors turned into one line and an exit code (see errors.ExitCode):
never a traceback unless --debug."""

from __future__ import annotations

import contextlib
import os
import sys
import traceback
from collections.abc import Iterator

import typer

from mrrcli.errors import ExitCode, MrrError


def printable(text: str) -> str:
    """A message safe for a terminal: control characters from a file are shown escaped."""
    return "".join(
        ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text
    )


def say(message: str) -> None:
    """One line for people, on stderr (never on stdout, which carries data)."""
    typer.echo(f"mrrcli: {printable(message)}", err=True)


def silence_stdout() -> None:
    """The reader went away (`| head`): nothing more goes to stdout."""
    with contextlib.suppress(OSError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


@contextlib.contextmanager
def errors_handled(debug: bool) -> Iterator[None]:
    """Domain errors → one line on stderr and their exit code; never a traceback."""
    try:
        yield
    except MrrError as error:
        if debug:
            traceback.print_exc()
        say(f"error: {error}")
        raise typer.Exit(int(error.exit_code)) from None
    except KeyboardInterrupt:
        say("interrupted")
        raise typer.Exit(int(ExitCode.INTERRUPTED)) from None
    except BrokenPipeError:
        silence_stdout()
        raise typer.Exit(0) from None
    except (typer.Exit, typer.Abort, SystemExit):
        raise
    except Exception as error:  # a bug or an unforeseen input: say so in one line
        if debug:
            traceback.print_exc()
        first = str(error).strip().splitlines()[0] if str(error).strip() else ""
        say(f"error: {type(error).__name__}: {first} (run with --debug for details)")
        raise typer.Exit(int(ExitCode.DATA_ERROR)) from None
