"""Faults survived with nothing lost: a full disk, an S3 outage, ``gc`` during a write.

The worker killed mid-write is in test_orphans.py and test_workers_shared.py, a corrupted
shard and interrupted storage moves in test_tiers.py.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from conftest import (
    TEST_SCHEMA,
    _missing_tool,
    _private_tmpdir,
    cli_env,
    extra_store,
    fake_aws_environment,
    s3_store_spec,
    start_moto,
    tiff_session,
    zarr_folders,
)

from napari_photon import pipeline as module
from napari_photon.pipeline import reporting

BIG_ENOUGH = {"n_frames": 300, "shape": (96, 96)}  # about 1 MB stored: more than 256 KB


def _mount_tmpfs(root: Path, size: str, remount: bool = False) -> subprocess.CompletedProcess:
    options = f"remount,size={size}" if remount else f"size={size},mode=0777"
    return subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(root)],
                          capture_output=True, text=True)


@pytest.fixture
def tiny_store(photon_home):
    """A file store on a 256 KB tmpfs, mounted for the test (as root, as CI runs)."""
    root = Path(tempfile.mkdtemp(prefix="napari-photon-tmpfs-"))
    done = _mount_tmpfs(root, "256k")
    if done.returncode:
        root.rmdir()
        _missing_tool(f"cannot mount a tmpfs ({done.stderr.strip()}); the disk-full test "
                      "mounts one and needs root")
    try:
        with extra_store("tiny", {"protocol": "file", "location": str(root)}):
            yield root
    finally:
        subprocess.run(["umount", str(root)], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


def test_a_full_disk_fails_the_key_cleanly_and_it_is_made_once_space_is_freed(tiny_store):
    lab = module.activate(f"{TEST_SCHEMA}_faults_full", store="tiny")
    key = tiff_session(lab, "full", **BIG_ENOUGH)
    [result] = lab.populate(key, tables=("Recording",), suppress_errors=True)
    assert result.done == 0 and len(result.errors) == 1
    message = result.errors[0][1]
    assert "store 'tiny'" in message and "No space left on device" in message, message
    assert len(lab.Recording & key) == 0
    assert zarr_folders(tiny_store) == set()  # nothing half-written
    assert _mount_tmpfs(tiny_store, "64m", remount=True).returncode == 0
    [again] = lab.populate(key, tables=("Recording",))
    assert again.done == 1 and not again.errors
    movie = (lab.Recording & key).fetch1("raw_movie")
    assert movie.store == "tiny" and np.isfinite(np.asarray(movie[-1])).all()


@pytest.fixture
def s3_outage(photon_home, tmp_path):
    """A moto S3 server of this test's own, which the test stops and starts again."""
    with fake_aws_environment():
        server, port = start_moto(tmp_path)
        state = {"server": server}

        def stop() -> None:
            state["server"].stop()

        def start() -> None:
            state["server"], _ = start_moto(tmp_path, port=port)

        try:
            with extra_store("outage", s3_store_spec(port, "outage")):
                yield stop, start
        finally:
            state["server"].stop()


def test_an_s3_outage_fails_the_key_naming_the_store_and_a_retry_succeeds(s3_outage):
    stop, start = s3_outage
    lab = module.activate(f"{TEST_SCHEMA}_faults_s3", store="outage")
    first = tiff_session(lab, "s3")
    assert lab.populate(first, tables=("Recording",))[0].done == 1
    second = tiff_session(lab, "s3")
    stop()
    [result] = lab.populate(second, tables=("Recording",), suppress_errors=True)
    assert result.done == 0 and len(result.errors) == 1
    message = result.errors[0][1]
    assert "store 'outage'" in message and "s3://127.0.0.1:" in message, message
    assert "testing" not in message  # the fake secret never shows
    assert len(lab.Recording & second) == 0
    start()  # a fresh endpoint: the same address, an empty bucket
    [retry] = lab.populate(second, tables=("Recording",))
    assert retry.done == 1 and not retry.errors
    movie = (lab.Recording & second).fetch1("raw_movie")
    assert movie.store == "outage" and np.isfinite(np.asarray(movie[0])).all()


def test_gc_while_a_worker_writes_keeps_the_in_flight_zarr(pipeline, photon_home, store_root):
    """Another process runs ``napari-photon gc`` while this one is between writing a
    Recording's zarr and inserting its row: the zarr is an orphan by then (no row yet)
    and is kept for its grace period; the row then lands and reads whole."""
    key = tiff_session(pipeline, "gc", n_frames=120)
    seen: list[str] = []

    def progress(stage: str, done: int, total: int) -> None:
        if seen or not stage.startswith("import") or done < total:
            return
        in_flight = zarr_folders(store_root)
        assert in_flight - before  # the zarr is written, its row not yet inserted
        command = [sys.executable, "-m", "napari_photon.cli", "gc", "--schema",
                   pipeline.database]
        gc = subprocess.run(command, env=cli_env(photon_home), capture_output=True,
                            text=True, timeout=300)
        assert gc.returncode == 0, gc.stderr
        seen.append(gc.stdout)
        assert zarr_folders(store_root) == in_flight

    before = zarr_folders(store_root)
    with reporting(progress=progress):
        [result] = pipeline.populate(key, tables=("Recording",))
    assert result.done == 1 and seen
    assert "active: 1 orphaned zarr(s), removed 0" in seen[0], seen[0]
    movie = (pipeline.Recording & key).fetch1("raw_movie")
    assert movie.location.local_path in zarr_folders(store_root) - before
    assert np.asarray(movie[:]).shape == movie.shape


_SETUP = textwrap.dedent("""
    import sys
    from napari_photon import pipeline, synthetic
    lab = pipeline.activate(sys.argv[1])
    for mouse in range(1, int(sys.argv[2]) + 1):
        lab.Mouse.insert1({"mouse_id": mouse, "strain": "C57BL/6J", "sex": "M"})
        key = {"mouse_id": mouse, "session_date": "2026-11-25"}
        lab.Session.insert1({**key, "experimenter": "pytest", "notes": "restart"})
        folder = lab.session_folder(key)
        folder.mkdir(parents=True)
        movie = synthetic.make_movie(n_frames=600, shape=(128, 128), n_neurons=3, seed=mouse)
        synthetic.write_tiff(folder / "a.tif", movie.movie)
""")

_STATE = textwrap.dedent("""
    import json, sys
    from napari_photon import pipeline
    from napari_photon.pipeline._counts import jobs_table
    lab = pipeline.activate(sys.argv[1])
    jobs = jobs_table(lab.Recording())
    print(json.dumps({"rows": len(lab.Recording()),
                      "error": len(jobs & {"status": "error"}),
                      "reserved": len(jobs & {"status": "reserved"})}))
""")


def _populate_through_a_restart(env: dict, schema: str, restart: Callable[[], None]) -> None:
    """Six recordings made by a worker process while ``restart()`` stops and starts the
    database server after the first key: every key made exactly once, none left."""
    n = 6
    setup = subprocess.run([sys.executable, "-c", _SETUP, schema, str(n)], env=env,
                           capture_output=True, text=True, timeout=300)
    assert setup.returncode == 0, setup.stderr[-3000:]
    worker = subprocess.Popen(
        [sys.executable, "-m", "napari_photon.cli", "worker", "--schema", schema,
         "--table", "Recording", "--max-keys", str(n), "--poll", "0.2",
         "--reconnect-timeout", "120"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    for line in worker.stdout:  # until the first key is made
        lines.append(line)
        if " done " in line:
            break
    assert worker.poll() is None, "".join(lines)  # still working when the server goes
    restart()
    rest, _ = worker.communicate(timeout=300)
    output = "".join(lines) + rest
    assert worker.returncode == 0, output[-4000:]
    assert "database connection lost" in output, output[-4000:]
    made = [line for line in output.splitlines() if line.startswith("Recording") and
            " done " in line]
    mice = sorted(int(line.split("mouse_id=")[1].split()[0]) for line in made)
    assert mice == list(range(1, n + 1)), output[-4000:]
    assert f"worker stopped (max keys): {n} made, 0 errors" in output, output[-4000:]
    state = subprocess.run([sys.executable, "-c", _STATE, schema], env=env,
                           capture_output=True, text=True, timeout=120)
    assert state.returncode == 0, state.stderr[-3000:]
    assert json.loads(state.stdout.strip().splitlines()[-1]) == {
        "rows": n, "error": 0, "reserved": 0}


def test_a_database_restart_mid_populate_loses_no_key_and_makes_none_twice():
    """A worker (its own home and embedded server, as on another machine) populates six
    recordings; the server is stopped and started again while it works. The worker
    reconnects, the key it was making is made again, every key exactly once."""
    from napari_photon.db import EmbeddedPostgres

    home = _private_tmpdir("napari-photon-restart-")
    server = EmbeddedPostgres(home)

    def restart() -> None:
        port = server.status()["port"]
        server.stop()
        assert server.start()["port"] == port  # where the worker looks for it

    try:
        _populate_through_a_restart(cli_env(home), f"{TEST_SCHEMA}_faults_restart", restart)
    finally:
        server.stop()
        shutil.rmtree(home, ignore_errors=True)


@pytest.mark.mariadb
def test_a_mariadb_restart_mid_populate_loses_no_key_and_makes_none_twice(own_mariadb):
    """The same on the MySQL path: a MariaDB server of the test's own, restarted on its
    port while the worker makes the six keys."""
    home = _private_tmpdir("napari-photon-restart-mysql-")
    env = cli_env(home)
    env.update(DJ_BACKEND="mysql", DJ_HOST=own_mariadb["host"],
               DJ_PORT=str(own_mariadb["port"]), DJ_USER=own_mariadb["user"],
               DJ_PASS=own_mariadb["password"], DJ_USE_TLS="False")
    try:
        _populate_through_a_restart(env, "faults_restart_mysql", own_mariadb["restart"])
    finally:
        shutil.rmtree(home, ignore_errors=True)
