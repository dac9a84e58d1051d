"""handbill against pandoc, side by side: wall time and peak memory, alternating runs.

    pip install pypandoc-binary        # pandoc 3.9, in the same environment or another
    python benchmarks/run.py [--runs 5] [--sizes 0.01,5,50] [--pandoc PATH]

Builds the default book (with its cover) and generated books of the given sizes in
megabytes, each with both tools, alternating so machine noise hits both alike, and
prints medians, the ratio handbill/pandoc, and the peak memory (PSS) of each tool's
whole process tree (handbill renders large books in worker processes). Memory is
sampled in separate runs: sampling slows a large process down.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from generate import generate  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


def find_pandoc(given: str | None) -> str:
    if given:
        return given
    try:
        import pypandoc

        return pypandoc.get_pandoc_path()
    except (ImportError, OSError):
        found = shutil.which("pandoc")
        if not found:
            sys.exit("pandoc not found: pip install pypandoc-binary, or pass --pandoc PATH")
        return found


def tree_memory(pid: int) -> int:
    """Proportional set size (PSS) of a process and all its descendants, in bytes.

    PSS divides pages shared between processes among them, so forked workers are not
    counted once per worker for the memory they share with their parent (RSS would).
    """
    total = 0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            with open(f"/proc/{current}/smaps_rollup") as rollup:
                for line in rollup:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1]) * 1024
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as children:
                    pending.extend(int(child) for child in children.read().split())
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return total


def timed(command: list[str]) -> float:
    """Wall time of one run, with nothing watching it."""
    started = time.perf_counter()
    process = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - started
    if process.returncode != 0:
        sys.exit(f"{command[0]} failed: {process.stderr.decode()[-500:]}")
    return elapsed


def peak_memory(command: list[str]) -> int:
    """Peak memory of one run, sampled every 5 ms per 100 MB the process holds. Reading a
    large process's memory map takes the kernel a while and slows the process down, so these
    runs are not timed, and a process of several GB is sampled less often."""
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak = 0
    while process.poll() is None:
        current = tree_memory(process.pid)
        peak = max(peak, current)
        time.sleep(0.005 * max(1.0, current / 100e6))
    return peak


def commands(book: Path, out: Path, pandoc: str, cover: Path | None) -> dict[str, list[str]]:
    sources = sorted(str(path) for path in book.glob("*.md"))
    pandoc_command = [pandoc, *sources, "-o", str(out / "pandoc.epub"), "--metadata", "title=Benchmark"]
    if cover:
        pandoc_command.append(f"--epub-cover-image={cover}")
    handbill = shutil.which("handbill") or sys.exit("handbill is not installed (pip install .)")
    return {"handbill": [handbill, "build", str(book), "-o", str(out / "handbill.epub")], "pandoc": pandoc_command}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="timed runs of each tool, alternating")
    parser.add_argument("--memory-runs", type=int, default=1, help="further runs of each tool to sample memory")
    parser.add_argument("--sizes", default="0.01,5", help="generated book sizes in MB, comma-separated")
    parser.add_argument("--pandoc")
    arguments = parser.parse_args()
    pandoc = find_pandoc(arguments.pandoc)
    work = Path(tempfile.mkdtemp(prefix="handbill-bench-"))
    cases = [("statement (default book, with cover)", REPO / "content", REPO / "assets" / "cover.png")]
    for size in (float(text) for text in arguments.sizes.split(",") if text):
        chapters = max(1, round(450 * size / 5))
        cases.append(
            (f"generated {size:g} MB, {chapters} chapters", generate(work / f"book-{size:g}", size, chapters), None)
        )

    print(f"{'book':40} {'tool':9} {'median s':>9} {'peak MB':>8}")
    for name, book, cover in cases:
        tools = commands(book, work, pandoc, cover)
        walls: dict[str, list[float]] = {tool: [] for tool in tools}
        for _ in range(arguments.runs):
            for tool, command in tools.items():
                walls[tool].append(timed(command))
        medians = {}
        for tool, command in tools.items():
            wall = statistics.median(walls[tool])
            peak = max(peak_memory(command) for _ in range(arguments.memory_runs)) / 1024 / 1024
            medians[tool] = (wall, peak)
            print(f"{name:40} {tool:9} {wall:9.2f} {peak:8.0f}")
        time_ratio = medians["handbill"][0] / medians["pandoc"][0]
        memory_ratio = medians["handbill"][1] / medians["pandoc"][1]
        print(f"{'':40} {'ratio':9} {time_ratio:9.2f}x {memory_ratio:7.2f}x")
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
