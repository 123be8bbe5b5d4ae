#!/usr/bin/env python
"""What making one key through DataJoint's populate costs the populate runners, per key.

Run from the repository root::

    .venv/bin/python benchmarks/bench_populate_overhead.py            # 20 keys, 7 rounds

On a fresh embedded PostgreSQL in a temporary home, a scratch schema holds a ``Computed``
table whose ``make`` inserts one integer, so what is timed is the jobs-table protocol,
not the science. Each round makes ``--keys`` keys per way, after the same
``jobs.refresh`` and listing of pending keys:

* ``_populate1`` -- the baseline: the runners' old per-key step, DataJoint's private
  ``Table._populate1(key, jobs=...)``;
* ``reserved`` -- :func:`~napari_photon.pipeline._key_steps.populate_reserved`,
  ``table.populate(key, reserve_jobs=True, max_calls=1, refresh=False)`` (the child
  process and main-thread workers);
* ``in thread`` -- :func:`~napari_photon.pipeline._key_steps.populate_in_thread`,
  ``jobs.reserve`` + ``table.populate(key, max_calls=1)`` + ``jobs.complete``, in a
  helper thread (the in-thread runner);
* ``one call`` -- a single ``table.populate(reserve_jobs=True)`` for all keys
  (DataJoint's own loop: the floor).

Printed: the median milliseconds per key over the rounds, and each way's ratio to the
baseline measured in the same run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import threading
import time
import warnings
from collections.abc import Callable
from pathlib import Path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--keys", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=7)
    args = ap.parse_args()
    warnings.filterwarnings("ignore", message="No datajoint.json found")
    home = Path(tempfile.mkdtemp(prefix="napari-photon-bench-overhead-"))
    os.environ["NAPARI_PHOTON_HOME"] = str(home)
    from napari_photon import db

    try:
        return measure(db.connect(), args.keys, args.rounds)
    finally:
        db.EmbeddedPostgres(home).stop()
        shutil.rmtree(home, ignore_errors=True)


def measure(connection, n_keys: int, rounds: int) -> int:
    import datajoint as dj

    from napari_photon.pipeline._counts import refresh_pending
    from napari_photon.pipeline._key_steps import populate_in_thread, populate_reserved

    schema = dj.Schema("bench_populate_overhead", connection=connection)

    @schema
    class Item(dj.Manual):
        definition = """
        item : int64
        """

    @schema
    class Square(dj.Computed):
        definition = """
        -> Item
        ---
        value : int64
        """

        def make(self, key):
            self.insert1({**key, "value": key["item"] ** 2})

    def old(table, key, restrictions):
        return table._populate1(
            key, jobs=table.jobs, suppress_errors=True, return_exception_objects=True
        )

    def in_thread(table: dj.Table, keys: list[dict]) -> None:
        helper = threading.Thread(
            target=lambda: [populate_in_thread(table, key, ()) for key in keys]
        )
        helper.start()
        helper.join()

    ways: dict[str, Callable[[dj.Table, list[dict]], None]] = {
        "_populate1": lambda table, keys: [old(table, key, ()) for key in keys],
        "reserved": lambda table, keys: [populate_reserved(table, key, ()) for key in keys],
        "in thread": in_thread,
        "one call": lambda table, keys: table.populate(reserve_jobs=True, refresh=False),
    }
    Item.insert([{"item": i} for i in range(n_keys)])
    table = Square()
    seconds: dict[str, list[float]] = {name: [] for name in ways}
    names = list(ways)
    for round_index in range(rounds + 1):  # round 0 warms up
        for name in names[round_index % len(names):] + names[: round_index % len(names)]:
            way = ways[name]
            Square.delete_quick()
            table.jobs.delete_quick()
            keys = refresh_pending(table, ())
            assert len(keys) == n_keys
            start = time.perf_counter()
            way(table, keys)
            elapsed = time.perf_counter() - start
            assert len(Square()) == n_keys, name
            if round_index:
                seconds[name].append(elapsed)
    schema.drop(prompt=False)

    base = statistics.median(seconds["_populate1"])
    print(f"{n_keys} keys, median of {rounds} rounds (the order of the ways rotates), "
          "trivial make (one int inserted)")
    print(f"{'way':<12} {'ms/key':>8} {'vs _populate1':>14}")
    for name, times in seconds.items():
        median = statistics.median(times)
        print(f"{name:<12} {1000 * median / n_keys:8.2f} {median / base:13.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
