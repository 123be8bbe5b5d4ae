"""Issue 3's benchmark in one command: motion correction, then ROI detection and traces.

Each part prints its figures against baselines measured in the same run (the design
document's algorithms, and suite2p when its separate environment can be installed):

    .venv/bin/python benchmarks/bench_algorithms.py            # full size (about 15 min)
    .venv/bin/python benchmarks/bench_algorithms.py --quick    # smoke run
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
PARTS = ("bench_motion.py", "bench_detection.py")


def main(argv: list[str]) -> int:
    failed = 0
    for part in PARTS:
        print(f"\n{'#' * 78}\n# {part} {' '.join(argv)}\n{'#' * 78}", flush=True)
        failed |= subprocess.run([sys.executable, str(HERE / part), *argv]).returncode
    return failed


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
