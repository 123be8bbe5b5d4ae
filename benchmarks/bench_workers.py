#!/usr/bin/env python
"""How populate scales with worker processes on one machine (issue 15), and how long a
worker takes from launch to its first make.

Run from the repository root::

    .venv/bin/python benchmarks/bench_workers.py                 # 1 and all-cores workers
    .venv/bin/python benchmarks/bench_workers.py --workers 1 2 4 --recordings 16
    # issue 15's two 16-core targets, each against its baseline in the same run:
    .venv/bin/python benchmarks/bench_workers.py --workers 1 16 --threads 1 \
        --recordings 32 --frames 500 --size 256     # 16 workers against one
    .venv/bin/python benchmarks/bench_workers.py --workers 1 --threads 1 16 \
        --recordings 32 --frames 500 --size 256     # one worker, 16 threads against one

A fresh home with its embedded PostgreSQL server; for each worker count N a schema of its
own holds the same ``--recordings`` synthetic recordings (imported untimed). Then N
``napari-photon worker`` processes (``--threads cores/N`` each, so N workers share the
cores instead of each starting a pool per core; ``--threads K [K ...]``: K each, whatever
N, every N with every K) make
``MotionCorrected``, ``ROI`` and ``Trace`` of every recording, keys reserved in
DataJoint's jobs table. Timed: from launching the workers until the last key's line
(read from the workers' output as it comes, then checked against the tables).

Printed per run: wall time, rows made per second (a Trace row per ROI), speed-up against
the first run (the baseline, normally one worker) and efficiency (speed-up over the
resources added: N / N0 workers, or N x K / (N0 x K0) cores with ``--threads``); and "launch to first make": from
a worker's launch to the start of its first make (its first key line's arrival minus that
key's own seconds): imports, connecting, reserving; and "cores busy": the machine's busy
CPU time over the wall time (every process: the workers, the database server, this one),
which bounds what more workers can add: one worker that keeps 1.2 of 2 cores busy leaves
2 / 1.2 = 1.67x for two.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _report import header, load, machine, table

TABLES = ("MotionCorrected", "ROI", "Trace")


def _prepare(pipeline, n: int, frames: int, size: int) -> list[dict]:
    from napari_photon import synthetic

    keys = []
    for i in range(n):
        mouse = i + 1
        pipeline.Mouse.insert1({"mouse_id": mouse, "strain": "C57BL/6J", "sex": "M"},
                               skip_duplicates=True)
        key = {"mouse_id": mouse, "session_date": "2026-12-04"}
        pipeline.Session.insert1({**key, "experimenter": "bench", "notes": ""},
                                 skip_duplicates=True)
        folder = pipeline.session_folder(key)
        folder.mkdir(parents=True, exist_ok=True)
        if not (folder / "a.tif").exists():
            movie = synthetic.make_movie(n_frames=frames, shape=(size, size), n_neurons=20,
                                         seed=100 + i).movie
            synthetic.write_tiff(folder / "a.tif", movie)
        keys.append(key)
    pipeline.populate(keys, tables=(pipeline.Recording,))
    return keys


def _done(pipeline, keys) -> bool:
    for name in TABLES:
        counts = pipeline.table_counts(pipeline.table(name), keys)
        if counts.error:
            raise RuntimeError(f"{name}: {counts.error} key(s) failed")
        if not counts.total or counts.done < counts.total:
            return False
    return True


def _busy_seconds() -> float | None:
    """CPU seconds the whole machine has spent busy (Linux's /proc/stat), or None."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    except OSError:
        return None
    ticks = [int(f) for f in fields]
    idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)  # idle and iowait
    return (sum(ticks[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _run(schema: str, pipeline, keys, n_workers: int, threads: int
         ) -> tuple[float, list, float | None]:
    """Launch ``n_workers`` workers; the wall time until they have printed a line for every
    key (read as they come, nothing polled: on two cores a polling parent takes CPU from the
    workers), checked against the tables afterwards; and each worker's launch to first
    make."""
    args = ["worker", "--schema", schema, "--poll", "0.2", "--threads", str(threads)]
    for name in TABLES:
        args += ["--table", name]
    env = {**os.environ, "MPLBACKEND": "Agg"}
    env.pop("DISPLAY", None)
    expected = len(keys) * len(TABLES)  # one Trace key per ROI set
    made: list[float] = []
    failed: list[str] = []
    firsts: list[float] = []
    all_made = threading.Event()
    lock = threading.Lock()
    busy_before = _busy_seconds()
    launched = time.monotonic()
    workers = [subprocess.Popen([sys.executable, "-m", "napari_photon.cli", *args], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
               for _ in range(n_workers)]

    def read(worker: subprocess.Popen) -> None:
        first = True
        for line in worker.stdout:
            words = line.split()
            if len(words) < 4 or words[-1] != "s" or words[-3] not in ("done", "error"):
                continue
            now = time.monotonic()
            with lock:
                if words[-3] == "error":
                    failed.append(line.strip())
                made.append(now)
                if first:
                    firsts.append(now - launched - float(words[-2]))
                    first = False
                if failed or len(made) >= expected:
                    all_made.set()
        all_made.set()  # a worker that exits early ends the wait too

    readers = [threading.Thread(target=read, args=(w,), daemon=True) for w in workers]
    for reader in readers:
        reader.start()
    try:
        if not all_made.wait(timeout=3600):
            raise RuntimeError("the workers did not finish within an hour")
        wall = (made[-1] if made else time.monotonic()) - launched
        busy_after, busy_at = _busy_seconds(), time.monotonic()
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        for worker in workers:
            worker.wait(timeout=120)
    if failed:
        raise RuntimeError(f"a key failed: {failed[0]}")
    if not _done(pipeline, keys):
        raise RuntimeError(f"{len(made)} key lines of {expected}, and keys are missing")
    cores_busy = (None if busy_before is None or busy_after is None
                  else (busy_after - busy_before) / (busy_at - launched))
    return wall, firsts, cores_busy


def main() -> int:
    cores = len(os.sched_getaffinity(0))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workers", type=int, nargs="+", default=sorted({1, cores}))
    ap.add_argument("--recordings", type=int, default=8)
    ap.add_argument("--frames", type=int, default=1000)
    ap.add_argument("--size", type=int, default=192)
    ap.add_argument("--threads", type=int, nargs="+", default=None,
                    help="threads of every worker, one run per count (default: cores / N, "
                         "so N workers share the cores); 1 measures how workers alone "
                         "scale, 1 16 with one worker how one worker scales")
    args = ap.parse_args()
    warnings.filterwarnings("ignore", message="No datajoint.json found")
    home = Path(tempfile.mkdtemp(prefix="napari-photon-bench-workers-"))
    os.environ["NAPARI_PHOTON_HOME"] = str(home)
    for var in [v for v in os.environ if v.startswith("DJ_")]:
        del os.environ[var]
    from napari_photon import db, pipeline

    db.EmbeddedPostgres(home).start(persistent=True)  # one server for every process
    header(f"workers on one machine: {machine()}")
    print(f"{args.recordings} recordings of {args.frames} x {args.size} x {args.size}; "
          f"tables {', '.join(TABLES)}; {load()}", flush=True)
    runs = [(n, k or max(1, cores // n)) for n in args.workers for k in args.threads or [None]]
    rows, first = [], None
    try:
        for n, threads in runs:
            schema = f"bench_workers_{n}_{threads}"
            chosen = pipeline.activate(schema)
            keys = _prepare(chosen, args.recordings, args.frames, args.size)
            wall, firsts, cores_busy = _run(schema, chosen, keys, n, threads)
            n_keys = sum(len(chosen.table(t) & keys) for t in TABLES)
            first = first or (wall, n, threads)
            speedup = first[0] / wall
            added = n * threads / (first[1] * first[2]) if args.threads else n / first[1]
            rows.append([n, threads, f"{wall:.1f} s", f"{n_keys / wall:.2f}",
                         f"{speedup:.2f}x", f"{speedup / added:.0%}",
                         f"{statistics.median(firsts):.2f} s" if firsts else "-",
                         f"{cores_busy:.2f}" if cores_busy is not None else "-"])
            print(f"  {n} worker(s) of {threads} thread(s): {wall:.1f} s", flush=True)
    finally:
        db.EmbeddedPostgres(home).stop()
        shutil.rmtree(home, ignore_errors=True)
    print()
    print(table(rows, ["workers", "threads each", "wall", "rows/s", "speed-up",
                       "efficiency", "launch to first make", "cores busy"]))
    print(f"speed-up: against the first run ({runs[0][0]} worker(s) of {runs[0][1]} "
          "thread(s)) in this invocation; a timing, not a test")
    return 0


if __name__ == "__main__":
    sys.exit(main())
