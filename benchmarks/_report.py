"""Printing helpers shared by the benchmark scripts: section headers, plain-text tables,
and what the machine is and how busy it was (timings on shared cores carry their load)."""

from __future__ import annotations

import os
import platform
import subprocess
from typing import Any


def header(title: str) -> None:
    print()
    print("=" * 78)
    print(title)
    print("=" * 78, flush=True)


def table(rows: list[list[Any]], head: list[str]) -> str:
    """Columns padded to their widest cell: the first left-aligned, the others right."""
    cols = [head, *rows]
    widths = [max(len(str(r[i])) for r in cols) for i in range(len(head))]
    fmt = "  ".join(f"{{:<{w}}}" if i == 0 else f"{{:>{w}}}" for i, w in enumerate(widths))
    lines = [fmt.format(*head), "  ".join("-" * w for w in widths)]
    lines += [fmt.format(*[str(c) for c in r]) for r in rows]
    return "\n".join(lines)


def machine() -> str:
    """Cores (usable ones) and the CPU model, from ``lscpu`` when it is there."""
    model = platform.processor() or platform.machine()
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
    except OSError:
        pass
    return f"{os.cpu_count()} cores ({len(os.sched_getaffinity(0))} usable), {model}"


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f}"
