"""The one place that knows the terminal: whether stdout and stderr (and stdin) are terminals,
how wide it is and whether colour is wanted (NO_COLOR). Detected once per command run; tests
pass their own (like httpie's Environment). Nothing else asks a stream whether it is a tty."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console


def _is_tty(stream: IO[str] | None) -> bool:
    try:
        return stream is not None and stream.isatty()
    except ValueError:  # a closed stream
        return False


@dataclass(frozen=True)
class Terminal:
    """Where the output goes, as far as rendering and progress are concerned."""

    stdout_is_terminal: bool = False
    stderr_is_terminal: bool = False
    width: int | None = None  # None: as Rich measures it (COLUMNS, the terminal, else 80)
    color: bool = True  # False under NO_COLOR (styles such as bold stay)
    stdin_is_terminal: bool = False  # `-` would wait for typing, not read an export

    @classmethod
    def detect(cls, environ: Mapping[str, str] | None = None) -> Terminal:
        """The terminal this process writes to, now."""
        environ = os.environ if environ is None else environ
        return cls(
            stdout_is_terminal=_is_tty(sys.stdout),
            stderr_is_terminal=_is_tty(sys.stderr),
            color=environ.get("NO_COLOR", "") == "",
            stdin_is_terminal=_is_tty(sys.stdin),
        )

    def console(self, stderr: bool = False) -> Console:
        """A Rich console on stdout (or stderr) as this terminal allows.

        A terminal is said so; otherwise Rich is left to its environment (FORCE_COLOR)."""
        from rich.console import Console

        is_terminal = self.stderr_is_terminal if stderr else self.stdout_is_terminal
        return Console(
            stderr=stderr,
            width=self.width,
            no_color=not self.color,
            force_terminal=True if is_terminal else None,
        )
