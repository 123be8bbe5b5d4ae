"""``napari-photon worker``: real worker processes on the session's embedded server.

Two workers share the work of two sessions and make every key once; a SIGTERM while a
worker writes a key's zarr rolls the key back (no row, no zarr, pending again) and the
worker exits 0; ``--max-keys 1`` stops after one key.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from conftest import cli_env, tiff_session, wait_for, zarr_folders

HOLD_MID_WRITE = """
import sys, time
from napari_photon.cli import main
from napari_photon.pipeline import _protocol
from napari_photon.storage import write_options

original, held = _protocol.reporting, []

def reporting(progress=None, cancel=None):
    def relay(stage, done, total):
        progress(stage, done, total)
        if stage.startswith("import") and 0 < done < total and not held:
            held.append(stage)
            print("writing", flush=True)
            while not cancel():  # until the worker is told to stop
                time.sleep(0.05)
    return original(progress=relay, cancel=cancel)

_protocol.reporting = reporting
with write_options(chunk_budget=4 * 4 * 64 * 64):  # several chunks: a check between them
    sys.exit(main(sys.argv[1:]))
"""


def start(home, *args, script: str | None = None) -> subprocess.Popen:
    head = ["-c", script] if script else ["-m", "napari_photon.cli"]
    return subprocess.Popen(
        [sys.executable, *head, "worker", *args],
        env=cli_env(home), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )


def key_lines(output: str) -> list[tuple[str, str, str]]:
    """(table, key, status) of each key line a worker printed."""
    found = []
    for line in output.splitlines():
        words = line.split()
        statuses = ("done", "error", "skipped", "empty", "cancelled")
        if len(words) >= 4 and words[-1] == "s" and words[-3] in statuses:
            found.append((words[0], " ".join(words[1:-3]), words[-3]))
    return found


#: the tables a session of 2-D TIFF stacks feeds (no volumes; nothing curated)
FED = ("Recording", "MotionCorrected", "ROI", "Trace", "Activity")


def all_done(pipeline, keys) -> bool:
    return all(
        (c := pipeline.table_counts(pipeline.table(name), keys)).total and c.done == c.total
        for name in FED
    )


def assert_each_key_made_once(pipeline, keys, outputs: list[str]) -> list[tuple[str, str]]:
    """Every key of every fed table under ``keys`` made exactly once by the workers that
    printed ``outputs``, none failed; returns their ``(table, key)`` of each key made."""
    lines = [line for out in outputs for line in key_lines(out)]
    made = [(table, key) for table, key, status in lines if status == "done"]
    assert not [line for line in lines if line[2] in ("error", "empty", "cancelled")], lines
    assert len(made) == len(set(made)), made  # no key made twice
    for table in map(pipeline.table, FED):
        expected = len(table.key_source & keys)
        assert expected > 0
        assert sum(t == table.__name__ for t, _ in made) == expected, (table.__name__, made)
    return made


def finish(worker: subprocess.Popen) -> tuple[int, str]:
    worker.send_signal(signal.SIGTERM)
    out, _ = worker.communicate(timeout=120)
    return worker.returncode, out


def test_two_workers_make_every_key_once(pipeline, photon_home):
    keys = [tiff_session(pipeline, "W", n_files=2), tiff_session(pipeline, "W")]
    args = ("--schema", pipeline.database, "--poll", "0.5")
    workers = [start(photon_home, *args), start(photon_home, *args)]
    try:
        wait_for(lambda: all_done(pipeline, keys), "the workers to make every key", 300.0,
                 interval=0.2)
    finally:
        results = [finish(w) for w in workers]
    for code, out in results:
        assert code == 0, out
        assert "worker stopped (stopped)" in out, out
    made = assert_each_key_made_once(pipeline, keys, [out for _, out in results])
    assert len(pipeline.Recording & keys) == 3 and len(pipeline.Trace & keys) > 0
    assert {t for t, _ in made} == set(FED)


def test_sigterm_while_a_key_is_written_rolls_it_back_and_exits_0(
    pipeline, photon_home, store_root
):
    key = tiff_session(pipeline, "T", n_frames=80, shape=(64, 64))
    before = zarr_folders(store_root)
    worker = start(photon_home, "--schema", pipeline.database, "--table", "Recording",
                   "--poll", "0.5", script=HOLD_MID_WRITE)
    try:
        assert "writing" in (line.strip() for line in worker.stdout)
        assert zarr_folders(store_root) != before  # its zarr is being written
        counts = pipeline.table_counts(pipeline.Recording, key)
        assert counts.reserved == 1
    finally:
        code, out = finish(worker)
    assert code == 0, out
    assert [status for _, _, status in key_lines(out)] == ["cancelled"], out
    assert "worker stopped (stopped): 0 made" in out, out
    assert len(pipeline.Recording & key) == 0
    assert zarr_folders(store_root) == before
    counts = pipeline.table_counts(pipeline.Recording, key)
    assert (counts.done, counts.pending, counts.reserved, counts.error) == (0, 1, 0, 0)


def test_max_keys_1_stops_after_one_key(pipeline, photon_home):
    tiff_session(pipeline, "M", n_files=2)
    pending = pipeline.table_counts(pipeline.Recording).pending
    made_before = len(pipeline.Recording.key_source & pipeline.Recording)
    motion_before = len(pipeline.MotionCorrected())
    worker = start(photon_home, "--schema", pipeline.database, "--max-keys", "1",
                   "--poll", "0.5")
    out, _ = worker.communicate(timeout=300)
    assert worker.returncode == 0, out
    assert pending >= 1
    assert [(t, s) for t, _, s in key_lines(out)] == [("Recording", "done")], out
    assert "worker stopped (max keys): 1 made, 0 errors" in out, out
    assert len(pipeline.Recording.key_source & pipeline.Recording) == made_before + 1
    assert len(pipeline.MotionCorrected()) == motion_before  # stopped before the next key


def test_time_limit_ends_an_idle_worker_with_exit_code_0(pipeline, photon_home):
    began = time.monotonic()
    worker = start(photon_home, "--schema", pipeline.database, "--table", "Trace",
                   "--time-limit", "2", "--poll", "30")
    out, _ = worker.communicate(timeout=120)
    assert worker.returncode == 0, out
    assert "worker stopped (time limit)" in out, out
    assert time.monotonic() - began < 25  # not the 30 s poll
