"""How long the console script takes to answer `--help` and `--version` (issue 14 asks for --help under 0.2 s).

    python bench/cli_startup.py [runs]
"""
from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

SCRIPT = Path(sys.executable).parent / "releasebot"


def timed(*args: str, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([str(SCRIPT), *args], capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    for args in (("--help",), ("--version",), ("release", "--help")):
        t = timed(*args, runs=runs)
        print(f"releasebot {' '.join(args):<16} median {statistics.median(t) * 1000:6.0f} ms   max {max(t) * 1000:6.0f} ms"
              f"   ({runs} runs)")


if __name__ == "__main__":
    main()
