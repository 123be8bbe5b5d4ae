"""Reservations of dead workers go back to pending (``pipeline/_orphans.py``).

A real ``napari-photon populate --reserve-jobs`` is killed with SIGKILL while it writes a
key's zarr; the next worker makes the key, and garbage collection leaves no zarr without a
row. The checks themselves (the process on this host, the connection on the server) are
exercised one by one on reservations rewritten in the jobs table.
"""

from __future__ import annotations

import os
import platform
import signal
import subprocess
import sys

import psutil
from conftest import cli_env, tiff_session, wait_for, zarr_folders

from napari_photon.pipeline._orphans import find_orphans, release_orphans

HOLD_MID_WRITE = """
import contextlib, signal, sys
from napari_photon.cli import _populate, main
from napari_photon.pipeline import reporting

@contextlib.contextmanager
def hold_mid_write(enabled=True):
    def progress(stage, done, total):
        if stage.startswith("import") and done > 0:  # frames in its zarr: wait to be killed
            print("writing", flush=True)
            signal.pause()
    with reporting(progress=progress):
        yield

_populate.terminal_progress = hold_mid_write
sys.exit(main(sys.argv[1:]))
"""




def server_connections(pipeline) -> set[int]:
    rows = pipeline.connection.query("SELECT pid FROM pg_stat_activity").fetchall()
    return {int(pid) for (pid,) in rows}


def test_a_worker_killed_mid_write_gives_its_key_to_the_next_worker(
    pipeline, photon_home, store_root
):
    key = tiff_session(pipeline, "K", n_frames=80, shape=(64, 64))
    before = zarr_folders(store_root)
    command = ["populate", "--schema", pipeline.database, "--table", "Recording",
               "--reserve-jobs"]
    worker = subprocess.Popen(
        [sys.executable, "-c", HOLD_MID_WRITE, *command],
        env=cli_env(photon_home), stdout=subprocess.PIPE, text=True,
    )
    try:
        assert "writing" in (line.strip() for line in worker.stdout)
        jobs = pipeline.Recording.jobs & key
        (job,) = jobs.proj("status", "pid", "host", "connection_id").to_dicts()
        assert (job["status"], job["pid"], job["host"]) == (
            "reserved", worker.pid, platform.node()
        )
        assert zarr_folders(store_root) != before  # its zarr is being written
        assert find_orphans(pipeline.Recording) == []  # alive: its key stays reserved
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=60)
    finally:
        worker.kill()
        worker.wait()
    wait_for(lambda: job["connection_id"] not in server_connections(pipeline),
             "the server to drop the killed worker's connection", 60.0)
    assert jobs.fetch1("status") == "reserved"  # nothing else gives it back
    assert len(pipeline.Recording & key) == 0

    made = subprocess.run(
        [sys.executable, "-m", "napari_photon.cli", *command],
        env=cli_env(photon_home), capture_output=True, text=True, timeout=600,
    )
    assert made.returncode == 0, made.stdout + made.stderr
    assert "Recording        +1 " in made.stdout, made.stdout
    assert len(pipeline.Recording & key) == 1
    assert not jobs & "status in ('reserved', 'pending', 'error')"  # completed

    report = pipeline.collect_garbage(dry_run=False, min_age=0)
    assert sum(s["removed"] for s in report["stores"].values()) >= 1  # the killed one's zarr
    again = pipeline.collect_garbage(dry_run=True, min_age=0)
    assert all(s["orphans"] == 0 for s in again["stores"].values()), again
    (movie,) = (pipeline.Recording & key).fetch("raw_movie")
    assert movie.shape[0] == 80 and float(movie[:2].mean()) > 0
    assert len(zarr_folders(store_root) - before) == 1  # the new row's zarr, nothing else


def rewrite(pipeline, key: dict, **reservation) -> None:
    """Make ``key``'s job a reservation by ``reservation`` (host, pid, connection_id)."""
    jobs = pipeline.Recording.jobs
    jobs.refresh(key, delay=-1)
    if (jobs & key & "status='pending'"):
        assert jobs.reserve(key)
    jobs.update1({**key, **reservation})


def status(pipeline, key: dict) -> str:
    return (pipeline.Recording.jobs & key).fetch1("status")


def test_a_live_worker_keeps_its_key_whatever_the_single_check_says(pipeline):
    key = tiff_session(pipeline, "L")
    me = {"host": platform.node(), "pid": os.getpid(),
          "connection_id": pipeline.connection.connection_id}
    rewrite(pipeline, key, **me)
    assert release_orphans(pipeline.Recording) == [] and status(pipeline, key) == "reserved"
    # its connection is gone (a reconnect) but the process runs: kept
    rewrite(pipeline, key, **{**me, "connection_id": 2**40})
    assert release_orphans(pipeline.Recording) == [] and status(pipeline, key) == "reserved"
    # another machine whose connection is alive: kept
    rewrite(pipeline, key, **{**me, "host": "elsewhere", "pid": 1})
    assert release_orphans(pipeline.Recording) == [] and status(pipeline, key) == "reserved"
    (pipeline.Recording.jobs & key).delete_quick()


def test_a_dead_process_or_connection_releases_the_key(pipeline):
    keys = [tiff_session(pipeline, "D") for _ in range(3)]
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    later = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        assert psutil.Process(later.pid).is_running()
        dead_connection = 2**40
        here = platform.node()
        # this host, the pid is gone
        rewrite(pipeline, keys[0], host=here, pid=gone.pid, connection_id=dead_connection)
        # this host, the pid belongs to a process started after the reservation (reused)
        rewrite(pipeline, keys[1], host=here, pid=later.pid, connection_id=dead_connection,
                reserved_time=_server_time_before(pipeline, seconds=30))
        # another host: only the connection tells, and it is gone
        rewrite(pipeline, keys[2], host="elsewhere", pid=1, connection_id=dead_connection)
        released = release_orphans(pipeline.Recording)
    finally:
        later.kill()
        later.wait()
    assert sorted(k["mouse_id"] for k in released) == sorted(k["mouse_id"] for k in keys)
    assert [status(pipeline, k) for k in keys] == ["pending"] * 3
    assert release_orphans(pipeline.Recording) == []  # each released once
    events = list(pipeline.run_populate(keys, tables=("Recording",)))
    assert [e.status for e in events if e.kind == "key-finished"] == ["done"] * 3


def _server_time_before(pipeline, seconds: float):
    from datetime import timedelta

    (now,) = pipeline.connection.query("SELECT LOCALTIMESTAMP(3)").fetchone()
    return now - timedelta(seconds=seconds)


def test_the_populate_loops_release_orphans_before_listing_keys(pipeline):
    key = tiff_session(pipeline, "R")
    rewrite(pipeline, key, host="elsewhere", pid=1, connection_id=2**40)
    events = list(pipeline.run_populate(key, tables=("Recording",)))
    assert [e.status for e in events if e.kind == "key-finished"] == ["done"]
    assert len(pipeline.Recording & key) == 1
