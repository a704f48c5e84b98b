"""Peak memory, wall and CPU time of `movements` read whole, split by the streaming split
(`--parts N`), and on Spark (`--engine spark`), each a fresh process under /usr/bin/time -v;
medians of `--repeat` runs taken in turn, and every output checked to be the same bytes as the
whole run. `--spark ''` leaves Spark out.

    python bench/scale.py /tmp/mrrcli-bench/rows_1m_usd.parquet --as-of 2025-12-31 --parts 4
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path


def measure(command: list[str], env: dict[str, str]) -> tuple[float, float, float, bytes]:
    """Wall seconds, CPU seconds (user + system), peak resident MB and stdout of one run."""
    with tempfile.TemporaryFile() as out:
        timed = ["/usr/bin/time", "-v", *command]
        done = subprocess.run(timed, stdout=out, stderr=subprocess.PIPE, env=env, check=False)
        out.seek(0)
        stdout = out.read()
    text = done.stderr.decode(errors="replace")
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{text[-2000:]}")
    wall = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", text)
    peak = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
    user = re.search(r"User time \(seconds\): ([\d.]+)", text)
    system = re.search(r"System time \(seconds\): ([\d.]+)", text)
    assert wall and peak and user and system, text
    hours, minutes, seconds = wall.groups()
    total = int(hours or 0) * 3600 + int(minutes) * 60 + float(seconds)
    cpu = float(user.group(1)) + float(system.group(1))
    return total, cpu, int(peak.group(1)) / 1024, stdout


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("export")
    parser.add_argument("--as-of", required=True)
    parser.add_argument("--parts", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--spark", default="local[2]", help="Spark master; '' for none")
    parser.add_argument("--before", help="a checkout of mrrcli before the streaming split")
    args = parser.parse_args()
    base = [sys.executable, "-m", "mrrcli", "movements", args.export, "--as-of", args.as_of]
    base += ["-f", "csv", "--max-age", "0"]
    here = str(Path(__file__).resolve().parent.parent)
    env = {**os.environ, "PYTHONPATH": here}
    runs = [
        ("whole", base, env),
        (f"--parts {args.parts}", [*base, "--parts", str(args.parts)], env),
    ]
    if args.before:
        # The earlier split: each part filtered out of the whole file, every part kept.
        rows = int(
            subprocess.check_output(
                [
                    sys.executable,
                    "-c",
                    "import polars as pl,sys;"
                    f"print(pl.scan_parquet({args.export!r}).select(pl.len()).collect().item())",
                ]
            )
        )
        old = {
            **os.environ,
            "PYTHONPATH": args.before,
            "MRRCLI_WHOLE_ROWS": str(-(-rows // args.parts)),
        }
        runs.append((f"before: {args.parts} parts (MRRCLI_WHOLE_ROWS)", base, old))
    if args.spark:
        spark = [*base, "--engine", "spark", "--spark-master", args.spark]
        runs.append((f"--engine spark --spark-master {args.spark}", spark, env))
    # Interleaved (A, B, A, B, ...), so that load from other work falls on every run alike.
    measured: dict[str, list[tuple[float, float, float]]] = {name: [] for name, _, _ in runs}
    expected: bytes | None = None
    for _ in range(args.repeat):
        for name, command, environment in runs:
            wall, cpu, peak, stdout = measure(command, environment)
            expected = stdout if expected is None else expected
            assert stdout == expected, f"{name}: output differs from the whole run"
            measured[name].append((wall, cpu, peak))
    print("| run | median wall s | median CPU s | median peak MB | walls s | CPU s | peaks MB |")
    print("|---|---:|---:|---:|---|---|---|")
    for name, figures in measured.items():
        walls, cpus, peaks = (list(column) for column in zip(*figures, strict=True))
        print(
            f"| `{name}` | {statistics.median(walls):.2f} | {statistics.median(cpus):.2f} | "
            f"{statistics.median(peaks):,.0f} | {', '.join(f'{w:.1f}' for w in walls)} | "
            f"{', '.join(f'{c:.1f}' for c in cpus)} | {', '.join(f'{p:,.0f}' for p in peaks)} |"
        )


if __name__ == "__main__":
    main()
