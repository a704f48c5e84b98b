"""Benchmark harness behind `make bench`: mrrcli against reference implementations and a floor.

1. Data: writes ~1M and ~10M row `periods` exports with ../shared/bench/gen_periods.py into a
   directory outside the repository (default /tmp/mrrcli-bench; existing files are reused), then a
   single-currency copy of each (currency rewritten to USD with Polars, Parquet and CSV), so that
   no tool depends on exchange rates. Every tool reads the same copy.
2. Check (on the 1M file): the DuckDB SQL reference (bench/ref_duckdb.py) and the pandas reference
   (bench/ref_pandas.py) must agree with `mrrcli movements --mode snapshot` to the cent in every
   month, and mrrcli must give the same answer from Parquet and from CSV; otherwise it stops.
3. Timing: each command is a fresh process; wall time is the median over --repeat runs (done
   round-robin so that drift in machine load hits every command alike), CPU time (user + system)
   likewise, peak memory the largest peak resident set size (wait4 rusage of the command, taken
   by a small launcher process) over the runs. The floor is Polars reading the same file
   (bench/floor.py): Python start-up, imports and I/O, no computation.

The table is printed and written to bench/results.md.

    python bench/run.py                 # 1M and 10M rows, 3 repeats
    python bench/run.py --quick         # 1M rows only
    python bench/run.py --sizes 10m --repeat 5 --timeout 900 --data-dir /data/bench
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import decimal
import importlib.metadata
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
GENERATOR = REPO.parent / "shared" / "bench" / "gen_periods.py"
PYTHON = sys.executable
# gen_periods.py makes ~3.5 rows per customer. 100m is Parquet only (10 relabelled copies of
# 10m, see prepare) and times `movements` only (the export is read in parts, see README
# "Performance"); the references are not run there.
CUSTOMERS = {"1m": 300_000, "10m": 3_000_000, "100m": 30_000_000}
SCALE_SIZES = {"100m"}
CHECK_SIZE = "1m"
MB = 1024 * 1024
MONEY = ("opening", "new", "expansion", "reactivation", "contraction", "churned", "closing")
MRRCLI_MONEY = {
    "opening": "opening_mrr",
    "new": "new_mrr",
    "expansion": "expansion_mrr",
    "reactivation": "reactivation_mrr",
    "contraction": "contraction_mrr",
    "churned": "churned_mrr",
    "closing": "closing_mrr",
}
MRRCLI_COMMANDS: list[tuple[str, list[str]]] = [
    ("mrrcli movements", ["movements"]),
    ("mrrcli movements --mode snapshot", ["movements", "--mode", "snapshot"]),
    ("mrrcli expansion", ["expansion"]),
    ("mrrcli metrics", ["metrics"]),
    ("mrrcli customers", ["customers"]),
    ("mrrcli cohorts", ["cohorts"]),
]


# --------------------------------------------------------------------------------------------
# processes


@dataclass
class Run:
    wall: float
    cpu: float
    peak_kb: int
    returncode: int
    timed_out: bool
    stderr: str
    over_memory: bool = False

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out and not self.over_memory


# A small launcher process spawns the command, stops it if its resident set grows beyond the
# memory limit, and reports its wall time and rusage. Measuring from this process would be wrong:
# a child forked from a large process starts with that process's resident set as its peak RSS,
# and Linux keeps that peak across exec.
LAUNCHER = """
import os, sys, threading, time
report, limit, cmd = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
page = os.sysconf("SC_PAGE_SIZE")
over = threading.Event()
def guard(pid):
    while True:
        try:
            with open(f"/proc/{pid}/statm") as statm:
                rss = int(statm.read().split()[1]) * page
        except (OSError, ValueError, IndexError):
            return
        if rss > limit:
            over.set()
            os.kill(pid, 9)
            return
        time.sleep(0.05)
start = time.perf_counter()
pid = os.posix_spawnp(cmd[0], cmd, os.environ)
if limit:
    threading.Thread(target=guard, args=(pid,), daemon=True).start()
_, status, usage = os.wait4(pid, 0)
wall = time.perf_counter() - start
code = os.waitstatus_to_exitcode(status)
with open(report, "w") as out:
    out.write(f"{wall} {usage.ru_utime + usage.ru_stime} {usage.ru_maxrss} {code} {over.is_set()}")
"""


def run_process(cmd: Sequence[str], timeout: float, memory_limit: int = 0) -> Run:
    """Run `cmd` in a fresh session: wall time, CPU time, peak RSS (KB) and how it ended.

    The command is killed after `timeout` seconds or once its resident set exceeds
    `memory_limit` bytes (0: no limit).
    """
    with tempfile.TemporaryFile() as err, tempfile.NamedTemporaryFile("r") as report:
        expired = threading.Event()
        start = time.perf_counter()
        proc = subprocess.Popen(
            [PYTHON, "-I", "-S", "-c", LAUNCHER, report.name, str(memory_limit), *cmd],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=err,
            start_new_session=True,
        )

        def kill() -> None:
            expired.set()
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)

        timer = threading.Timer(timeout, kill)
        timer.start()
        try:
            returncode = proc.wait()
        except BaseException:
            kill()
            proc.wait()
            raise
        finally:
            timer.cancel()
        outer = time.perf_counter() - start
        err.seek(0)
        stderr = err.read().decode(errors="replace")
        fields = report.read().split()
    if len(fields) == 5 and returncode == 0 and not expired.is_set():
        wall, cpu, peak_kb, code, over = fields  # Linux reports ru_maxrss in kilobytes
        return Run(float(wall), float(cpu), int(peak_kb), int(code), False, stderr, over == "True")
    return Run(outer, 0.0, 0, returncode or 1, expired.is_set(), stderr)


def run_checked(cmd: Sequence[str], what: str, timeout: float = 3600.0, memory: int = 0) -> Run:
    result = run_process(cmd, timeout, memory)
    if not result.ok:
        state = f"exit {result.returncode}"
        if result.timed_out:
            state = f"stopped after {timeout:.0f} s"
        elif result.over_memory:
            state = f"stopped above {memory / MB:,.0f} MB"
        sys.exit(f"bench: {what} failed ({state}): {' '.join(cmd)}\n{result.stderr[-2000:]}")
    return result


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------
# data


@dataclass(frozen=True)
class Dataset:
    size: str
    parquet: Path
    csv: Path
    rows: int
    as_of: dt.date

    def path(self, fmt: str) -> Path:
        return self.parquet if fmt == "parquet" else self.csv


def generate(size: str, data_dir: Path, generator: Path) -> Path:
    """The generator's multi-currency Parquet file for `size`, generated unless present."""
    raw = data_dir / f"rows_{size}.parquet"
    if raw.exists():
        return raw
    partial = data_dir / f"rows_{size}.partial"
    log(f"bench: generating {size} rows into {raw} (this takes a while for 10m) ...")
    run_checked(
        [
            PYTHON,
            str(generator),
            "--customers",
            str(CUSTOMERS[size]),
            "--out",
            str(partial),
            "--formats",
            "parquet",
        ],
        f"generating {size}",
    )
    partial.with_suffix(".partial.parquet").replace(raw)
    return raw


def prepare(size: str, data_dir: Path, generator: Path, as_of: dt.date | None) -> Dataset:
    """Single-currency Parquet and CSV copies of the `size` export, written unless present."""
    parquet = data_dir / f"rows_{size}_usd.parquet"
    csv = data_dir / f"rows_{size}_usd.csv"
    if size in SCALE_SIZES and not parquet.exists():
        # gen_periods.py holds its whole output in memory: at 30M customers it needs more than
        # 24 GiB. The 100m export is ten copies of the 10m one with the ids relabelled (ten
        # times the customers, the same shape), streamed to disk.
        source = prepare("10m", data_dir, generator, as_of).parquet
        log(f"bench: writing {parquet.name}: 10 relabelled copies of {source.name} ...")
        tmp_parquet = parquet.with_name(parquet.name + ".tmp")
        copies = [
            pl.scan_parquet(source).with_columns(
                pl.col("customer_id") + f"_{k}", pl.col("subscription_id") + f"_{k}"
            )
            for k in range(10)
        ]
        pl.concat(copies).sink_parquet(tmp_parquet, compression="zstd", row_group_size=1_000_000)
        tmp_parquet.replace(parquet)
    elif size not in SCALE_SIZES and not (parquet.exists() and csv.exists()):
        raw = generate(size, data_dir, generator)
        log(f"bench: writing the single-currency (USD) copies {parquet.name}, {csv.name} ...")
        frame = pl.read_parquet(raw).with_columns(pl.lit("USD").alias("currency"))
        tmp_parquet = parquet.with_name(parquet.name + ".tmp")
        tmp_csv = csv.with_name(csv.name + ".tmp")
        frame.write_parquet(tmp_parquet, compression="zstd", row_group_size=1_000_000)
        frame.write_csv(tmp_csv, date_format="%Y-%m-%d")
        del frame
        tmp_parquet.replace(parquet)
        tmp_csv.replace(csv)
    stats = (
        pl.scan_parquet(parquet)
        .select(
            pl.len().alias("rows"),
            pl.max_horizontal(
                pl.col("start_date").max(), (pl.col("end_date") - pl.duration(days=1)).max()
            ).alias("last_day"),
        )
        .collect()
        .row(0, named=True)
    )
    # the data's end: the last day on which any row is in force (end_date is exclusive)
    return Dataset(size, parquet, csv, int(stats["rows"]), as_of or stats["last_day"])


def warm_cache(*paths: Path) -> None:
    """Read the files once so that no tool pays for a cold page cache."""
    for path in paths:
        with path.open("rb") as handle:
            while handle.read(1 << 24):
                pass


# --------------------------------------------------------------------------------------------
# commands


def mrrcli_executable() -> str:
    beside = Path(PYTHON).parent / "mrrcli"
    found = str(beside) if beside.exists() else shutil.which("mrrcli")
    if found is None:
        sys.exit("bench: mrrcli is not installed (run `make install`)")
    return found


def mrrcli_cmd(args: Sequence[str], path: Path, as_of: dt.date) -> list[str]:
    return [
        mrrcli_executable(),
        *args,
        str(path),
        "--as-of",
        as_of.isoformat(),
        "--format",
        "csv",
        "-q",
    ]


LEAN_SCRIPT = "lean_snapshot.py"  # the bar of issue 15: one job, by hand, in Polars
LEAN_LABEL = "lean Polars script (snapshot)"
SNAPSHOT_LABEL = "mrrcli movements --mode snapshot"


def reference_cmd(script: str, parquet: Path, as_of: dt.date, memory: int) -> list[str]:
    cmd = [PYTHON, str(BENCH / script), str(parquet), "--as-of", as_of.isoformat()]
    if script == "ref_duckdb.py" and memory:
        # DuckDB's own limit (default 80% of RAM) below the guard, so that it spills rather than
        # being stopped; its limit covers the buffer manager, not every allocation
        cmd += ["--memory-limit", f"{memory * 0.6 / MB:.0f}MB"]
    return cmd


def floor_cmd(path: Path) -> list[str]:
    return [PYTHON, str(BENCH / "floor.py"), str(path)]


# --------------------------------------------------------------------------------------------
# the reference check


def cents(text: str) -> int:
    value = decimal.Decimal(text) * 100
    if value != value.to_integral_value():
        raise ValueError(f"not a whole number of cents: {text}")
    return int(value)


def money(cents: int) -> str:
    """Integer cents as a decimal string in major units, e.g. -1234 -> -12.34."""
    sign = "-" if cents < 0 else ""
    whole, part = divmod(abs(cents), 100)
    return f"{sign}{whole}.{part:02d}"


def read_movements(path: Path, names: dict[str, str]) -> dict[str, dict[str, int]]:
    """month -> {opening, new, ...} in integer cents, read exactly (as text, never as floats)."""
    frame = pl.read_csv(path, infer_schema=False)
    return {
        row["month"]: {key: cents(row[column]) for key, column in names.items()}
        for row in frame.iter_rows(named=True)
    }


def compare(
    expected: dict[str, dict[str, int]], actual: dict[str, dict[str, int]], name: str
) -> list[str]:
    problems: list[str] = []
    for month in sorted(set(expected) | set(actual)):
        if month not in actual:
            problems.append(f"{name}: month {month} missing (mrrcli has it)")
        elif month not in expected:
            problems.append(f"{name}: month {month} not in mrrcli's output")
        else:
            for key in MONEY:
                want, got = expected[month][key], actual[month][key]
                if want != got:
                    problems.append(
                        f"{name}: {month} {key}: mrrcli {money(want)}, {name} {money(got)}"
                        f" (difference {'+' if got > want else ''}{money(got - want)})"
                    )
    return problems


def check(data: Dataset, work: Path, timeout: float, memory: int) -> str:
    """Stop unless both references and mrrcli's CSV run agree with mrrcli to the cent."""
    log(f"bench: checking the references against mrrcli on {data.parquet.name} ...")
    outputs: dict[str, Path] = {}
    commands: dict[str, list[str]] = {}
    for label, path in (("mrrcli", data.parquet), ("mrrcli (CSV input)", data.csv)):
        out = work / f"check_{len(outputs)}.csv"
        cmd = mrrcli_cmd(["movements", "--mode", "snapshot"], path, data.as_of)
        commands[label] = [*cmd, "--output", str(out)]
        outputs[label] = out
    for label, script in (
        ("duckdb", "ref_duckdb.py"),
        ("pandas", "ref_pandas.py"),
        ("lean Polars", LEAN_SCRIPT),
    ):
        out = work / f"check_{len(outputs)}.csv"
        cmd = reference_cmd(script, data.parquet, data.as_of, memory)
        commands[label] = [*cmd, "-o", str(out)]
        outputs[label] = out
    for label, cmd in commands.items():
        run_checked(cmd, f"check run of {label}", timeout, memory)
    expected = read_movements(outputs["mrrcli"], MRRCLI_MONEY)
    problems: list[str] = []
    for label in ("mrrcli (CSV input)", "duckdb", "pandas", "lean Polars"):
        same = label.startswith("mrrcli") or label == "lean Polars"
        names = MRRCLI_MONEY if same else {key: key for key in MONEY}
        problems += compare(expected, read_movements(outputs[label], names), label)
    if problems:
        log("bench: REFERENCE CHECK FAILED: the references disagree with mrrcli")
        for problem in problems:
            log(f"  {problem}")
        sys.exit(3)
    months = sorted(expected)
    summary = (
        "DuckDB and pandas references and the lean Polars script agree with "
        f"`mrrcli movements --mode snapshot` to the cent "
        f"in all {len(months)} months ({months[0]} to {months[-1]}, 7 amounts each) on the "
        f"{data.size} file ({data.rows:,} rows); mrrcli gives the same from Parquet and CSV."
    )
    log(f"bench: ok: {summary}")
    return summary


# --------------------------------------------------------------------------------------------
# timing


@dataclass
class Entry:
    label: str
    fmt: str
    rows: int | None
    cmd: list[str]
    floor_key: tuple[str, str] | None  # (size, format) of the floor it is compared with
    is_floor: bool = False
    runs: list[Run] = field(default_factory=list)

    @property
    def finished(self) -> list[Run]:
        return [run for run in self.runs if run.ok]

    @property
    def median(self) -> float | None:
        return statistics.median(run.wall for run in self.finished) if self.finished else None

    @property
    def cpu(self) -> float | None:
        return statistics.median(run.cpu for run in self.finished) if self.finished else None

    @property
    def peak_mb(self) -> float | None:
        peaks = [run.peak_kb for run in self.finished]
        return max(peaks) / 1024 if peaks else None

    @property
    def failed(self) -> bool:
        return any(not run.ok and not run.timed_out and not run.over_memory for run in self.runs)

    @property
    def timed_out(self) -> bool:
        return any(run.timed_out for run in self.runs)

    @property
    def over_memory(self) -> bool:
        return any(run.over_memory for run in self.runs)

    @property
    def done(self) -> bool:
        """Not to be run again: it failed or was stopped."""
        return any(not run.ok for run in self.runs)


def entries_for(data: Dataset, memory: int) -> list[Entry]:
    entries: list[Entry] = []
    if data.size in SCALE_SIZES:
        entries.append(
            Entry(
                "Polars read (floor)",
                "parquet",
                data.rows,
                floor_cmd(data.parquet),
                None,
                is_floor=True,
            )
        )
        for label, args in MRRCLI_COMMANDS[:2]:
            cmd = mrrcli_cmd(args, data.parquet, data.as_of)
            entries.append(Entry(label, "parquet", data.rows, cmd, (data.size, "parquet")))
        return entries
    for fmt in ("parquet", "csv"):
        what = "Polars read (floor)" if fmt == "parquet" else "Polars read + parse (floor)"
        entries.append(Entry(what, fmt, data.rows, floor_cmd(data.path(fmt)), None, is_floor=True))
    for fmt in ("parquet", "csv"):
        for label, args in MRRCLI_COMMANDS:
            cmd = mrrcli_cmd(args, data.path(fmt), data.as_of)
            entries.append(Entry(label, fmt, data.rows, cmd, (data.size, fmt)))
    for label, script in (
        ("DuckDB SQL reference (snapshot)", "ref_duckdb.py"),
        ("pandas reference (snapshot)", "ref_pandas.py"),
        (LEAN_LABEL, LEAN_SCRIPT),
    ):
        cmd = reference_cmd(script, data.parquet, data.as_of, memory)
        entries.append(Entry(label, "parquet", data.rows, cmd, (data.size, "parquet")))
    return entries


def time_entries(entries: list[Entry], repeat: int, timeout: float, memory: int) -> None:
    """Run every entry `repeat` times, round-robin; one that failed or was stopped is not rerun."""
    for round_ in range(1, repeat + 1):
        for entry in entries:
            if entry.done:
                continue
            run = run_process(entry.cmd, timeout, memory)
            entry.runs.append(run)
            if run.timed_out:
                state = f"> {timeout:.0f} s, stopped"
            elif run.over_memory:
                state = f"above {memory / MB:,.0f} MB after {run.wall:.0f} s, stopped"
            elif run.returncode != 0:
                state = f"FAILED (exit {run.returncode}): {run.stderr.strip()[-500:]}"
            else:
                state = f"{run.wall:.2f} s, CPU {run.cpu:.2f} s, {run.peak_kb / 1024:.0f} MB"
            where = f" ({entry.fmt}, {human_rows(entry.rows)} rows)" if entry.rows else ""
            log(f"  [{round_}/{repeat}] {entry.label}{where}: {state}")


# --------------------------------------------------------------------------------------------
# report


def human_rows(rows: int | None) -> str:
    if rows is None:
        return "–"
    if rows >= 1_000_000:
        return f"{rows / 1_000_000:.2f}M"
    return f"{rows:,}"


def table(
    entries: list[Entry], floors: dict[tuple[str, str], Entry], timeout: float, memory: int
) -> str:
    lines = [
        "| tool / command | format | rows | median wall s | peak memory MB | × floor (wall) "
        "| median CPU s |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for entry in entries:
        median, cpu, peak = entry.median, entry.cpu, entry.peak_mb
        wall, ratio = "failed", "–"
        if entry.timed_out:
            wall = f"> {timeout:.0f}"
        elif entry.over_memory:
            wall = "stopped"
        elif not entry.failed and median is not None:
            wall = f"{median:.2f}"
            floor = floors.get(entry.floor_key) if entry.floor_key else None
            base = floor.median if floor is not None else None
            ratio = "1.0" if entry.is_floor else (f"{median / base:.1f}" if base else "–")
        stopped = entry.done
        memory_mb = "–" if peak is None or stopped else f"{peak:,.0f}"
        if entry.over_memory:
            memory_mb = f"> {memory / MB:,.0f}"
        cpu_s = "–" if cpu is None or stopped else f"{cpu:.2f}"
        label = entry.label if entry.is_floor else f"`{entry.label}`"
        lines.append(
            f"| {label} | {entry.fmt} | {human_rows(entry.rows)} | {wall} | {memory_mb} | {ratio} "
            f"| {cpu_s} |"
        )
    return "\n".join(lines)


def lean_ratios(entries: list[Entry]) -> list[str]:
    """Issue 15's bar: mrrcli's snapshot movements of the Parquet file against the lean
    Polars script that does only that (wall and CPU medians)."""
    found = {(e.label, e.fmt): e for e in entries if not e.done}
    lean, snapshot = found.get((LEAN_LABEL, "parquet")), found.get((SNAPSHOT_LABEL, "parquet"))
    if lean is None or snapshot is None or not lean.median or not lean.cpu:
        return []
    wall = (snapshot.median or 0) / lean.median
    cpu = (snapshot.cpu or 0) / lean.cpu
    return [
        f"`{SNAPSHOT_LABEL}` (Parquet) ÷ {LEAN_LABEL}: {wall:.2f}× wall, {cpu:.2f}× CPU.",
        "",
    ]


def versions() -> str:
    names = ("mrrcli", "polars", "duckdb", "pandas", "pyarrow", "numpy")
    found: list[str] = []
    for name in names:
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            found.append(f"{name} {importlib.metadata.version(name)}")
    return ", ".join(found)


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def write_report(
    path: Path,
    args: argparse.Namespace,
    datasets: list[Dataset],
    tables: list[str],
    check_summary: str,
) -> str:
    as_of = ", ".join(f"{data.size}: {data.as_of}" for data in datasets)
    text = "\n".join(
        [
            "# mrrcli benchmark",
            "",
            f"Run {dt.datetime.now().strftime('%Y-%m-%d %H:%M')} on {os.cpu_count()} CPUs "
            f"({cpu_model()}), Python {platform.python_version()}; {versions()}.",
            "",
            "Data: `gen_periods.py` exports with the currency column rewritten to USD (one "
            "currency, so no tool depends on exchange rates), as Parquet and CSV in "
            f"`{args.data_dir}`. `--as-of` is the data's last day ({as_of}); output goes to "
            "/dev/null. Every command runs as a fresh process: wall time is the median of "
            f"{args.repeat} runs, peak memory the largest peak RSS over them, CPU the median of "
            "user + system time (less sensitive than wall time to other load on the machine). "
            "× floor is the ratio to Polars merely reading the same file (Parquet) or parsing it "
            "(CSV) in its own process. The references read the Parquet file and compute "
            "snapshot-mode movements only. A run is stopped after "
            f"{args.timeout:.0f} s"
            + (f" or above {args.memory_limit:,} MB resident." if args.memory_limit else "."),
            "",
            f"Check: {check_summary}",
            "",
            *tables,
            "",
        ]
    )
    path.write_text(text)
    return text


def help_entries() -> list[Entry]:
    mrrcli = mrrcli_executable()
    return [
        Entry(
            "python -c 'import polars' (floor)",
            "–",
            None,
            [PYTHON, "-c", "import polars"],
            None,
            is_floor=True,
        ),
        Entry("mrrcli --help", "–", None, [mrrcli, "--help"], ("help", "–")),
        Entry("mrrcli movements --help", "–", None, [mrrcli, "movements", "--help"], ("help", "–")),
    ]


# --------------------------------------------------------------------------------------------


def default_memory_limit() -> int:
    """75% of MemAvailable, in MB (0 when /proc/meminfo cannot be read)."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 3 // 4 // 1024
    return 0


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="1m,10m", help="comma-separated: 1m, 10m, 100m")
    parser.add_argument("--quick", action="store_true", help="1M rows only (= --sizes 1m)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per command (median)")
    parser.add_argument("--help-repeat", type=int, default=10, help="runs of each --help")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per run")
    parser.add_argument("--data-dir", type=Path, default=Path("/tmp/mrrcli-bench"))
    parser.add_argument("--generator", type=Path, default=GENERATOR)
    parser.add_argument("--as-of", type=dt.date.fromisoformat, help="default: the data's end")
    parser.add_argument("--output", type=Path, default=BENCH / "results.md")
    parser.add_argument(
        "--memory-limit",
        type=int,
        default=default_memory_limit(),
        help="stop a command whose resident set exceeds this many MB (default: 75%% of the "
        "memory available at start; 0: no limit)",
    )
    parser.add_argument("--skip-check", action="store_true", help="do not check the references")
    args = parser.parse_args(argv)
    args.sizes = ["1m"] if args.quick else [s.strip() for s in args.sizes.split(",") if s.strip()]
    unknown = [size for size in args.sizes if size not in CUSTOMERS]
    if unknown or not args.sizes:
        parser.error(f"--sizes takes {', '.join(CUSTOMERS)}, not {', '.join(unknown) or '-'}")
    if args.repeat < 1 or args.help_repeat < 1:
        parser.error("--repeat and --help-repeat must be at least 1")
    args.data_dir = args.data_dir.resolve()
    if args.data_dir.is_relative_to(REPO):
        parser.error(f"--data-dir must be outside the repository ({REPO})")
    if not args.generator.exists():
        parser.error(f"generator not found: {args.generator}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    args.data_dir.mkdir(parents=True, exist_ok=True)
    memory = args.memory_limit * MB
    sizes = list(dict.fromkeys(args.sizes))
    needed = sizes if args.skip_check or CHECK_SIZE in sizes else [CHECK_SIZE, *sizes]
    datasets = {size: prepare(size, args.data_dir, args.generator, args.as_of) for size in needed}

    if args.skip_check:
        check_summary = "skipped (--skip-check)."
    else:
        with tempfile.TemporaryDirectory(dir=args.data_dir) as work:
            check_summary = check(datasets[CHECK_SIZE], Path(work), args.timeout, memory)

    log(f"bench: timing --help, {args.help_repeat} runs each ...")
    helps = help_entries()
    time_entries(helps, args.help_repeat, args.timeout, memory)
    help_floor = {("help", "–"): helps[0]}
    tables = ["## Start-up", "", table(helps, help_floor, args.timeout, memory), ""]

    all_entries: list[Entry] = []
    for size in sizes:
        data = datasets[size]
        log(f"bench: timing {size} ({data.rows:,} rows), {args.repeat} runs each ...")
        warm_cache(data.parquet, *([] if size in SCALE_SIZES else [data.csv]))
        entries = entries_for(data, memory)
        time_entries(entries, args.repeat, args.timeout, memory)
        all_entries += entries
        floors = {(size, entry.fmt): entry for entry in entries if entry.is_floor}
        heading = f"## {human_rows(data.rows)} rows"
        tables += [heading, "", table(entries, floors, args.timeout, memory), ""]
        tables += lean_ratios(entries)

    text = write_report(args.output, args, [datasets[s] for s in sizes], tables, check_summary)
    print(text)
    log(f"bench: wrote {args.output}")
    failures = [entry for entry in helps + all_entries if entry.failed]
    for entry in failures:
        log(f"bench: FAILED: {entry.label} ({entry.fmt}): {entry.runs[-1].stderr.strip()[-500:]}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
