"""A large Parquet export read for one report in slices of its rows (SPEC §13).

The streaming split (mrrcli.split) writes every column of every row to disk before any part
is read: on 104.5M rows that costs as much as computing them. When one report is asked of one
Parquet file, it is read instead as `count` slices of consecutive rows. Each slice is read
as a part is (pipeline.load_rows: checked, duplicates dropped, its MRR worked out) and only
numbers are written aside, by customer: each row's key and check hashes, its days and MRR.
Each part of the customers is then read back and reduced to the report's partial sums.

A slice holds rows of any customer. That is sound because every rule of a source that may be
split looks at one row, or one customer's rows, at a time (Source.read_whole_because), and a
row's MRR does not depend on the other rows of its customer (but for its FX rate); the rest
is checked across slices, and the export is read as parts by customer (mrrcli.parts) as
soon as any of it fails, so that every figure, count and error is the one a whole run gives:
- a row that repeats a row of another slice (a duplicate a slice cannot see) is found by a
  hash of what it reads as: rows that read alike hash alike;
- rows set aside are counted before duplicates are judged, so a slice that sets any aside
  could count a duplicate twice;
- a problem with any row: a whole run stops at the first, by step of the pipeline;
- numbers that cannot be written aside (a full TMPDIR);
- numeric dates whose order is chosen over the whole file (typed or year-first dates are
  read alike in any slice);
- a reporting currency, or a set of currencies, that is not the same in every slice;
- rows converted with --fx rates: a subscription takes one rate, that of its first paying
  day (SPEC §3), which its rows in other slices may tell.
"""

from __future__ import annotations

import glob
import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import polars as pl

from mrrcli.engine.keys import HASHED, hashed_keys
from mrrcli.engine.partials import Needs, Partial, partial
from mrrcli.errors import InputError
from mrrcli.normalize.periods import Glance, NormalizeOptions, Rows
from mrrcli.pipeline import load_rows
from mrrcli.read.files import ROW_COLUMN, expand_paths, is_parquet
from mrrcli.read.orders import chosen_order
from mrrcli.read.remote import is_url
from mrrcli.split import os_reason, temporary_directory
from mrrcli.vocabulary import ReadOptions, Settings

ROW_HASH = "_row_hash"  # a hash of the columns of an MRR row, to find repeats across slices
PART = "_part"  # the part of the customers a row belongs to
# The columns of an MRR row whose values make its hash: rows read alike agree in all of them.
HASHED_COLUMNS = ("customer_id", "subscription_id", "plan_id", "start_date", "end_date", "mrr")
# What the reports' partial sums may need, read from numbers (and, for the top expanding
# customers of `expansion`, the customer ids): not every change with ids (audit), nor segments.
PLAIN = ("audit", "segments", "cohort_segments")

# A file of at most this many rows is read in slices whatever its row groups.
SMALL_FILE = 1_000_000

# What a report will ask of each part, given the part's Rows: the settings and needs of its
# partial sums (report.ahead). A part's partial is then computed as soon as it is read.
Ahead = Callable[[Rows], tuple[Settings, Needs]]


class _Unsure(Exception):
    """The slices may not add up to what a whole run gives: read in parts by customer."""


@dataclass(frozen=True)
class Slice:
    """Slice `index` of `count` slices of consecutive rows of a file of `total` rows (a
    read.files.RowFilter). `column` is the customer id's header, which the file must have."""

    index: int
    count: int
    total: int
    column: str

    @property
    def bounds(self) -> tuple[int, int]:
        """The slice's first row (0-based, in the file's order) and how many rows it holds."""
        step = -(-self.total // self.count)
        return self.index * step, step

    def keeps(self, column: str) -> pl.Expr:
        """True for the slice's rows (a Parquet file numbers its rows `_row` from 1)."""
        first, length = self.bounds
        row = pl.col(ROW_COLUMN) - 1
        return (row >= first) & (row < first + length)

    def rows(self, index: int, scan: pl.LazyFrame, column: str) -> pl.DataFrame:
        """The slice's rows of the file (row groups outside it are not read)."""
        first, length = self.bounds
        return scan.slice(first, length).collect()


def _plan(
    paths: Sequence[str], options: ReadOptions, ahead: Ahead | None
) -> tuple[str, Settings, Needs] | None:
    """The file, settings and needs of a run that may be read in slices, or None: one local
    Parquet file, for one report whose sums need no ids and no segments."""
    files = expand_paths(paths)
    if ahead is None or len(files) != 1 or options.by is not None:
        return None
    if files[0] == "-" or is_url(files[0]) or not is_parquet(files[0]):
        return None
    settings, needs = _probed(ahead, files)
    if any(getattr(needs, name) for name in PLAIN):
        return None
    return files[0], settings, needs


def _probed(ahead: Ahead, files: list[str]) -> tuple[Settings, Needs]:
    """The settings and needs of the report `ahead` names (asked of no rows: a periods export
    read without --by, which every export that may be split is)."""
    return ahead(Rows(frame=pl.DataFrame(), currency="", exponent=0, files=files))


def needs_of(ahead: Ahead | None) -> Needs | None:
    """What the report `ahead` names needs of each part (None: no one report)."""
    return None if ahead is None else _probed(ahead, [])[1]


@dataclass
class Job:
    """A run in slices: the file, the customer id's header, how many slices (and parts), the
    report's plan, and the folder the slices' numbers are written to."""

    path: str
    column: str
    count: int
    settings: Settings
    needs: Needs
    directory: str


def computed(count: int) -> str:
    """How a run in slices was computed (Rows.computed, told on stderr)."""
    return f"read in {count} parts by customer (1 file, read once in {count} slices of its rows)"


def read(
    paths: Sequence[str],
    options: ReadOptions,
    reading: NormalizeOptions,
    split: tuple[int, str],
    ahead: Ahead | None,
    progress: Callable[[str], None],
) -> tuple[list[Rows], int] | None:
    """An export read for the report `ahead` names in `split[0]` slices and as many parts by
    customer (whose id is in the header `split[1]`): each part's Rows (its partial sums in
    `early`, the counts and Glance of one slice) and the MRR of all rows. None when the export
    may not be read so, or its slices may not add up to a whole run (see above): it is then
    read in parts by customer (mrrcli.parts)."""
    planned = _plan(paths, options, ahead)
    if planned is None:
        return None
    path, settings, needs = planned
    total = _rows_in_small_groups(path, split[0])
    if total is None:
        return None
    job = Job(path, split[1], split[0], settings, needs, temporary_directory("mrrcli-slices-"))
    try:
        pieces, mrr = _slices(job, options, reading, total, progress)
        sums = _sums(job, progress)
    except _Unsure:
        return None
    finally:
        shutil.rmtree(job.directory, ignore_errors=True)
    # A slice past the last row holds nothing: it takes the others' currency (mrrcli.parts
    # checks that every part of an export holds one).
    first = next((p for p in pieces if p.frame.width), pieces[0])
    early = []
    for piece, sums_of_part in zip(pieces, sums, strict=True):
        if not piece.frame.width:
            piece = replace(piece, currency=first.currency, exponent=first.exponent)
        early.append(replace(piece, early=(settings, needs, sums_of_part)))
    return early, mrr


def _rows_in_small_groups(path: str, count: int) -> int | None:
    """The rows of a Parquet file whose row groups are small beside its `count` slices (at
    most half a slice: a slice decodes only the groups it overlaps, so a file of one large
    group would be decoded once per slice), or that is small (SMALL_FILE rows: decoding it
    again costs little); else None, as for a file that cannot be read."""
    import pyarrow.parquet as pq

    try:
        metadata = pq.read_metadata(path)
    except (OSError, ValueError):
        return None
    groups = [metadata.row_group(i).num_rows for i in range(metadata.num_row_groups)]
    total = int(metadata.num_rows)
    largest = max(groups, default=0)
    return total if largest * 2 <= -(-total // count) or total <= SMALL_FILE else None


def _slices(
    job: Job,
    options: ReadOptions,
    reading: NormalizeOptions,
    total: int,
    progress: Callable[[str], None],
) -> tuple[list[Rows], int]:
    """Every slice read, its numbers written aside by part, and what is kept of it."""
    pieces: list[Rows] = []
    mrr = 0
    for index in range(job.count):
        progress(f"reading part {index + 1} of {job.count} …")
        try:
            piece = load_rows(
                [job.path], options, reading, Slice(index, job.count, total, job.column)
            )
        except InputError:
            raise _Unsure from None
        if piece.frame.width:
            _check(piece, pieces)
            # Int64: normalizing checked that the MRR of the slice's rows stays below 2^62.
            mrr += int(piece.frame.get_column("mrr").sum() or 0)
            _write(piece.frame, index, job)
        glance = Glance.of(piece.frame)
        pieces.append(replace(piece, frame=piece.frame.clear(), glance=glance))
        del piece
    return pieces, mrr


def _check(piece: Rows, earlier: Sequence[Rows]) -> None:
    """A slice that might not add up with the others as a whole run would: see above."""
    if piece.set_aside or any(chosen_order(t) != "ymd" for t in piece.date_tally.values()):
        raise _Unsure
    if any(c != piece.currency for c in piece.currencies):  # converted (normalize.currency)
        raise _Unsure
    read = [p for p in earlier if p.frame.width]  # not an empty slice
    if any((p.currency, p.currencies) != (piece.currency, piece.currencies) for p in read):
        raise _Unsure


def _row_hash() -> pl.Expr:
    """A 64-bit hash of an MRR row's HASHED_COLUMNS: each column hashed alone (with its own
    seed; the customer id's is its key) and the hashes added, several times faster than
    hashing them as one struct."""
    hashes = [pl.col(HASHED["customer"][0])]  # the key of the customer id
    hashes += [pl.col(c).hash(seed=i + 1) for i, c in enumerate(HASHED_COLUMNS[1:])]
    total = hashes[0]
    for more in hashes[1:]:
        total = total + more  # UInt64 additions wrap
    return total


def _write(frame: pl.DataFrame, index: int, job: Job) -> None:
    """A slice's MRR rows as numbers, each part's in its own folder of the slice's folder."""
    customer = pl.col(HASHED["customer"][0])
    # The ids go once hashed; expansion keeps the customer's, to name its top customers.
    ids = ["subscription_id", "plan_id", *([] if job.needs.leaders else ["customer_id"])]
    numbers = (
        frame.lazy()
        .select(*hashed_keys([job.settings.level]), *HASHED_COLUMNS)
        .select(pl.exclude(ids), _row_hash().alias(ROW_HASH), (customer % job.count).alias(PART))
    )
    target = pl.PartitionBy(_folder(job, index), key=PART, include_key=False)
    try:
        numbers.sink_ipc(target, mkdir=True)
    except (OSError, pl.exceptions.PolarsError) as error:
        if os_reason(error) is None:
            raise
        # A full or unwritable TMPDIR: read in parts by customer, which still gives the
        # report (each part read from the file itself when the split cannot be written
        # either) and says so.
        raise _Unsure from None


def _folder(job: Job, index: int) -> str:
    """Where slice `index` writes its numbers, a folder per part in it."""
    return os.path.join(job.directory, f"slice{index:06d}")


def _sums(job: Job, progress: Callable[[str], None]) -> list[Partial]:
    """Each part's partial sums, from its rows of every slice."""
    sums: list[Partial] = []
    for index in range(job.count):
        progress(f"summing part {index + 1} of {job.count} …")
        found = [
            (number, name)
            for number in range(job.count)
            for name in sorted(
                glob.glob(os.path.join(_folder(job, number), f"{PART}={index}", "*"))
            )
        ]
        if not found:
            sums.append(partial(_no_rows(job), job.settings, job.needs))
            continue
        pieces = [pl.read_ipc(name) for _, name in found]
        for _, name in found:
            os.remove(name)
        frame = pl.concat(pieces)
        runs = [(number, p.height) for (number, _), p in zip(found, pieces, strict=True)]
        if _repeated(frame, runs):
            raise _Unsure
        del pieces
        sums.append(partial(frame.drop(ROW_HASH), job.settings, job.needs))
    return sums


def _repeated(frame: pl.DataFrame, slices: list[tuple[int, int]]) -> bool:
    """Whether two slices hold rows that read alike (perhaps one row twice); `slices`: the
    slice of each run of rows of `frame`, and its length. Rows of one slice may read alike
    without being one row (a column no report reads tells them apart)."""
    hashes = frame.get_column(ROW_HASH).sort()
    if not (hashes.slice(1) == hashes.slice(0, hashes.len() - 1)).any():
        return False
    where = pl.concat([pl.repeat(s, n, dtype=pl.UInt32, eager=True) for s, n in slices])
    pairs = frame.select(ROW_HASH).with_columns(where.alias("_slice")).unique()
    return bool(pairs.get_column(ROW_HASH).is_duplicated().any())


def _no_rows(job: Job) -> pl.DataFrame:
    """The numbers of no MRR rows, for a part that holds none."""
    ids = pl.DataFrame(schema={"customer_id": pl.String, "subscription_id": pl.String})
    return ids.select(
        *hashed_keys([job.settings.level]),
        *(["customer_id"] if job.needs.leaders else []),
        pl.lit(None, dtype=pl.Date).alias("start_date"),
        pl.lit(None, dtype=pl.Date).alias("end_date"),
        pl.lit(None, dtype=pl.Int64).alias("mrr"),
    )
