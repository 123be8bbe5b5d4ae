"""Three worker processes as if on three machines: each its own home, all sharing one
PostgreSQL server (the session's embedded one, reached the way a lab's server is, through
``DJ_*``) and one S3 store (moto on loopback, through ``DJ_STORES``).

Over 20 small recordings every key is made exactly once; one worker killed with SIGKILL
while it writes a recording's zarr: its key is made by another, and after ``gc`` no zarr
is left that no row references.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys

from conftest import cli_env, tiff_session, wait_for
from test_workers import (
    FED,
    HOLD_MID_WRITE,
    all_done,
    assert_each_key_made_once,
    finish,
    key_lines,
)

GC = """
import json, sys
from napari_photon import pipeline

chosen = pipeline.activate(sys.argv[1])
before = pipeline.collect_garbage(chosen.schema, dry_run=True, min_age=0)
pipeline.collect_garbage(chosen.schema, dry_run=False, min_age=0)
after = pipeline.collect_garbage(chosen.schema, dry_run=True, min_age=0)
print(json.dumps({"before": before["stores"]["active"]["orphans"],
                  "after": after["stores"]["active"]["orphans"]}))
"""


def machine_env(home, server: dict, s3: dict, raw_root) -> dict:
    """A worker's environment on its own "machine": its own home, the lab's server and
    bucket configured the DataJoint way, the raw files where every machine sees them."""
    env = cli_env(home)
    env.update(
        DJ_BACKEND="postgresql", DJ_HOST=server["host"], DJ_PORT=str(server["port"]),
        DJ_USER=server["user"], DJ_PASS=server["password"],
        DJ_STORES=json.dumps({"default": "active", "active": s3}),
        NAPARI_PHOTON_RAW_ROOT=str(raw_root),
    )
    return env


def start(env: dict, *args: str, script: str | None = None) -> subprocess.Popen:
    head = ["-c", script] if script else ["-m", "napari_photon.cli"]
    return subprocess.Popen([sys.executable, *head, "worker", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_three_machines_one_server_one_bucket_a_worker_killed(
    pipeline, photon_home, s3_endpoint, tmp_path
):
    from napari_photon.db import EmbeddedPostgres, raw_root

    keys = [tiff_session(pipeline, "S", n_files=2) for _ in range(10)]  # 20 recordings
    server = EmbeddedPostgres(photon_home).connection_params()
    bucket = {**s3_endpoint, "location": "three-machines"}
    envs = [machine_env(tmp_path / f"machine{i}", server, bucket, raw_root()) for i in range(3)]
    args = ("--schema", pipeline.database, "--poll", "0.3")

    doomed = start(envs[0], *args, script=HOLD_MID_WRITE)
    workers = [start(env, *args) for env in envs[1:]]
    try:
        assert "writing" in (line.strip() for line in doomed.stdout)
        held = pipeline.table_counts(pipeline.Recording, keys).reserved
        assert held >= 1
        doomed.send_signal(signal.SIGKILL)
        assert doomed.wait(timeout=60) == -signal.SIGKILL
        wait_for(lambda: all_done(pipeline, keys), "the two others to make every key", 600.0,
                 interval=0.3)
    finally:
        if doomed.poll() is None:
            doomed.kill()
        results = [finish(w) for w in workers]
    for code, out in results:
        assert code == 0, out
    assert_each_key_made_once(pipeline, keys, [out for _, out in results])
    assert len(pipeline.Recording & keys) == 20
    for name in FED:  # nothing left reserved or failed in the jobs tables
        counts = pipeline.table_counts(pipeline.table(name), keys)
        assert (counts.reserved, counts.error) == (0, 0), (name, counts)
    # both survivors worked, and every movie is in the bucket, none in a home's file store
    assert all(any(s == "done" for _, _, s in key_lines(out)) for _, out in results)
    assert not list(tmp_path.glob("machine*/stores/active/**/*.zarr"))

    gc = subprocess.run([sys.executable, "-c", GC, pipeline.database], env=envs[1],
                        capture_output=True, text=True, timeout=300)
    assert gc.returncode == 0, gc.stderr
    orphans = json.loads(gc.stdout.strip().splitlines()[-1])
    assert orphans["before"] >= 1  # the killed worker's half-written zarr
    assert orphans["after"] == 0
