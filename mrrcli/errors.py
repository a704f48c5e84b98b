"""Domain errors and the exit codes they map to (SPEC §7.1)."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes, documented in the README for scripts."""

    OK = 0
    DATA_ERROR = 1
    USAGE = 2
    CHECK_FAILED = 3
    INTERRUPTED = 130


class MrrError(Exception):
    """Base of every error mrrcli reports as one line, never as a traceback."""

    exit_code: ExitCode = ExitCode.DATA_ERROR


class InputError(MrrError):
    """Bad input: a file that cannot be read or a value that cannot be trusted."""

    # Raised once the dates were read: what each file's dates told (file index → the values
    # each order cannot read, read.dates.Tally). A run in parts chooses each file's order from
    # all its parts' tallies, and reads again a part that stopped in another (mrrcli.parts).
    date_tally: dict[int, tuple[int, int, int]] | None = None
    # Raised once currencies were read: the currencies its rows hold (a run in parts names
    # those of all its parts, as a whole run does: mrrcli.parts).
    currencies: tuple[str, ...] | None = None


class DiskError(MrrError):
    """The temporary disk a run in parts writes to (TMPDIR) is missing, full or unwritable."""


class UsageError(MrrError):
    """Wrong usage: an option value or a combination of options that makes no sense."""

    exit_code = ExitCode.USAGE


class RowProblem(InputError):
    """A problem of a file, or of a value on a row of it (row_problem), with its parts kept:
    a run in parts tells from them the problem a whole run would stop at
    (mrrcli.parts.first_problem)."""

    def __init__(
        self,
        message: str,
        file: str,
        row: int | None,
        column: str | None,
        problem: str,
        others: int,
    ) -> None:
        super().__init__(message)
        self.file, self.row, self.column = file, row, column
        self.problem, self.others = problem, others
        # Where the run stopped (read.problems.Findings): its step, the check of that step,
        # and the index of the file. None: not known.
        self.order: tuple[int, int, int] | None = None

    def __reduce__(self) -> tuple[object, ...]:
        # Pickled whole (a Spark bucket sends its problem to the driver), `order`, `date_tally`
        # and `currencies` included.
        fields = (str(self), self.file, self.row, self.column, self.problem, self.others)
        state = {"order": self.order, "date_tally": self.date_tally, "currencies": self.currencies}
        return (type(self), fields, state)


def row_problem(
    file: str, row: int | None, column: str | None, problem: str, others: int = 0
) -> RowProblem:
    """An InputError naming the file, spreadsheet row and column of a bad value."""
    where = file
    if row is not None:
        where += f", row {row}"
    if column is not None:
        where += f", column '{column}'"
    message = f"{where}: {problem}"
    if others == 1:
        message += " (1 other row has the same problem)"
    elif others > 1:
        message += f" ({others:,} other rows have the same problem)"
    return RowProblem(message, file, row, column, problem, others)
