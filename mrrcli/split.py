"""Splitting an export's files into parts by customer, in one streaming pass (SPEC §13;
mrrcli.parts reads the parts one at a time), and how many parts an export takes."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from mrrcli.engine.keys import customer_hash
from mrrcli.engine.partials import Needs
from mrrcli.errors import DiskError, InputError
from mrrcli.read.files import expand_paths, header_key, is_parquet, part_column, scan_file
from mrrcli.sources import by_name, detect, lookup_for
from mrrcli.sources.inputs import headers_of
from mrrcli.vocabulary import ReadOptions

PART = "_part"  # the part number of a row, in the streaming split
DONE = "done"  # written beside a file's parts once they are all on disk
GONE = ".gone"  # beside a part's folder once it was read and removed (Partition.remove)


@dataclass(frozen=True)
class Partition:
    """Part `index` of `count` of the customers: the rows whose customer id (in the header
    `column`, each file's own spelling) hashes to it. A customer's rows all fall in one part.
    With `directory`, the files were split there beforehand (split_files): the part's rows
    are read from there, not filtered out of the whole file again."""

    index: int
    count: int
    column: str
    directory: str | None = None

    def part_of(self, column: str) -> pl.Expr:
        """The part a row belongs to, from the file's own name of the customer id column."""
        stripped = pl.col(column).cast(pl.String).str.strip_chars()
        # when/then, not replace("", None): a replace stops Polars' streaming engine, and the
        # split would hold the whole file.
        customer = pl.when(stripped == "").then(None).otherwise(stripped)
        return customer_hash(customer) % self.count

    def keeps(self, column: str) -> pl.Expr:
        """True for the rows of this part (read.files.RowFilter)."""
        return self.part_of(column) == self.index

    def rows(self, index: int, scan: pl.LazyFrame, column: str) -> pl.DataFrame:
        """The part's rows of file `index` (read.files.RowFilter)."""
        if self.directory is None or not os.path.exists(_file_dir(self.directory, index, DONE)):
            return scan.filter(self.keeps(column)).collect()
        folder = _file_dir(self.directory, index, f"{PART}={self.index}")
        if not os.path.isdir(folder):
            if os.path.exists(folder + GONE):
                # Read once and removed: read again (a rare case) from the file itself.
                return scan.filter(self.keeps(column)).collect()
            return scan.head(0).collect()  # no customer of the file falls in this part
        # The sink writes a part's rows in the file's order, in files numbered in that order.
        return pl.scan_parquet(os.path.join(folder, "*.parquet")).collect()

    def remove(self) -> None:
        """The split's files of this part removed (the disk holds one copy of the data). Should
        the part be read again, it is filtered out of the file itself (rows)."""
        if self.directory is None:
            return
        for name in os.listdir(self.directory):
            folder = os.path.join(self.directory, name, f"{PART}={self.index}")
            if os.path.isdir(folder):
                shutil.rmtree(folder, ignore_errors=True)
                with open(folder + GONE, "w"):
                    pass


def _file_dir(directory: str, index: int, *names: str) -> str:
    return os.path.join(directory, f"file{index}", *names)


def split_files(
    paths: Sequence[str], partition: Partition, directory: str, delimiter: str | None = None
) -> dict[str, str]:
    """Every file written to `directory` as `count` parts by customer, in one streaming pass
    over it (the file is read once and never held whole). The parts are Parquet files,
    uncompressed: dictionary and plain encoding take a third of the bytes of Arrow IPC (whose
    strings take 16 bytes each before their text), for about the same CPU, and on 104M rows
    reading the parts back took a quarter of the time (compressing took far more CPU). A file
    that cannot be split is left alone: its parts are then filtered out of it, and reading
    them says what is wrong. Returns the files that could not be written there (a full disk),
    each with the reason."""
    unsplit: dict[str, str] = {}
    for index, path in enumerate(expand_paths(paths)):
        try:
            scan = scan_file(path, delimiter)
            column = part_column(path, scan, partition)
            target = pl.PartitionBy(_file_dir(directory, index), key=PART, include_key=False)
            scan.with_columns(partition.part_of(column).alias(PART)).sink_parquet(
                target, mkdir=True, compression="uncompressed", statistics=False
            )
        except (InputError, pl.exceptions.PolarsError, OSError) as error:
            shutil.rmtree(_file_dir(directory, index), ignore_errors=True)
            why = os_reason(error)
            if why is not None and os.path.exists(path):
                unsplit[path] = why
            continue
        with open(_file_dir(directory, index, DONE), "w"):
            pass
    return unsplit


def os_reason(error: Exception) -> str | None:
    """What the operating system said went wrong ("No space left on device"), also inside a
    Polars error ("parquet: … underlying IO error: No space left on device (os error 28)");
    None for an error of another kind."""
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    found = re.search(r"([^:]*) \(os error \d+\)", str(error))
    if found is not None:
        return found.group(1).strip()
    return str(error) if isinstance(error, OSError) else None


def part_count(paths: Sequence[str], options: ReadOptions, weight: float = 1.0) -> int:
    """How many parts to read an export in (1: whole). With `options.whole_rows` (the
    MRRCLI_WHOLE_ROWS threshold), parts of at most that many rows. Else by memory: an export
    is read whole when the memory it needs (rows_and_bytes, times the `weight` of the report:
    REPORT_WEIGHTS) fits in MEMORY_SHARE of the memory available (available_memory), and
    otherwise in as many parts as it takes for each part to fit in it."""
    rows, needed = rows_and_bytes(paths)
    needed = int(needed * weight)
    if options.whole_rows is not None:
        return 1 if rows <= options.whole_rows else -(-rows // options.whole_rows)
    budget = max(available_memory() // MEMORY_SHARE, 1)
    return 1 if needed <= budget else -(-needed // budget)


def report_weight(needs: Needs | None) -> float:
    """How much more memory than `movements` a report that needs `needs` of each part takes
    per row (REPORT_WEIGHTS); 1 when not known."""
    if needs is None:
        return 1.0
    return max([1.0, *(w for name, w in REPORT_WEIGHTS.items() if getattr(needs, name))])


# Memory a whole run takes at its peak, per row: ROW_BYTES and ROW_COLUMN_BYTES per column
# read (measured: 10.45M rows of 10 columns peak at 3.0-3.6 GB read whole, 1.04M at 0.38 GB).
ROW_BYTES = 160
ROW_COLUMN_BYTES = 20
# Reports that hold more per row than `movements` at their peak (10.45M rows read whole:
# movements 3.1-3.8 GB, cohorts 3.8-5.0 GB, metrics 4.1-5.4 GB, which classifies every change
# twice, by day and by month end), by what they need of each part (engine.partials.Needs).
REPORT_WEIGHTS = {"retention": 1.5, "cohorts": 1.4}
# A whole run, or one part, may take this share of the memory available (1/5: room for the
# operating system, other programs, the page cache of the parts and Polars' own buffers; a
# part of 15M rows, estimated at 5.4 GB with 1/4 of 21 GB, peaked at 5.9 GB).
MEMORY_SHARE = 5
CGROUP = "/sys/fs/cgroup"


def rows_and_bytes(paths: Sequence[str]) -> tuple[int, int]:
    """The rows of an export (estimated for CSV from its first MB) and the memory they need
    read whole. Stdin or an unreadable Parquet file counts as 0: it is read whole (and
    reading it says what is wrong)."""
    rows = needed = 0
    for path in expand_paths(paths):
        if path == "-":
            return 0, 0
        if is_parquet(path):
            try:
                scan = pl.scan_parquet(path)
                count = scan.select(pl.len()).collect().item()
                columns = len(scan.collect_schema())
            except (pl.exceptions.PolarsError, OSError):
                return 0, 0
        else:
            with open(path, "rb") as handle:
                sample = handle.read(1 << 20)
            lines = max(sample.count(b"\n"), 1)
            count = os.path.getsize(path) * lines // max(len(sample), 1)
            columns = len(headers_of(path))
        rows += count
        needed += count * (ROW_BYTES + ROW_COLUMN_BYTES * columns)
    return rows, needed


def available_memory() -> int:
    """Bytes of memory available to this process: the kernel's MemAvailable, or less under a
    container's limit (cgroup v2 memory.max less its usage); 8 GiB when neither says."""
    found: list[int] = []
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    found.append(int(line.split()[1]) * 1024)
    except (OSError, ValueError):
        pass
    try:
        with open(f"{CGROUP}/memory.max") as limit, open(f"{CGROUP}/memory.current") as used:
            found.append(int(limit.read()) - int(used.read()))
    except (OSError, ValueError):
        pass  # no cgroup v2 limit ("max" is no number)
    return min(found) if found else 8 << 30


def temporary_directory(prefix: str) -> str:
    """A new directory in TMPDIR, or one line saying why there is none."""
    try:
        return tempfile.mkdtemp(prefix=prefix)
    except OSError as error:
        raise DiskError(
            f"cannot make a temporary directory in {tempfile.gettempdir()} for a run in parts: "
            f"{os_reason(error)}; set TMPDIR to a writable disk with room"
        ) from None


def split_column(paths: Sequence[str], options: ReadOptions) -> tuple[str | None, str]:
    """The header that holds the customer id when an export can be read in parts: files (not
    stdin) of a source whose rules look at one customer at a time (see
    Source.read_whole_because), no lookup table beside them, and the customer id in one header
    (a source that falls back to a second header for it cannot be split by the first). Else
    None, and why the export is read whole."""
    files = expand_paths(paths)
    if "-" in files:
        return None, "stdin is read whole"
    headers = headers_of(files[0])
    if not headers:
        return None, f"{files[0]} has no header"
    if any(lookup_for(headers_of(path)) is not None for path in files):
        return None, "its rows take their customer from another table"
    chosen = detect(headers)[0] if options.source == "auto" else by_name(options.source)
    because = chosen.read_whole_because()
    if because is not None:
        return None, f"{chosen.name}: {because}"
    if "customer_id" in options.mapping:
        wanted = options.mapping["customer_id"]
    else:
        candidates = chosen.fallbacks(headers).get("customer_id", ["customer_id"])
        if len(candidates) != 1:
            return None, f"{chosen.name} names the customer in {' or '.join(candidates)}"
        wanted = candidates[0]
    column = next((h for h in headers if header_key(h) == header_key(wanted)), None)
    return column, f"{files[0]} has no column {wanted!r}"
