"""The napari-photon command line, run as a user would: a fresh home, a subprocess."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys

import pytest
from conftest import _private_tmpdir, tiff_session

from napari_photon.db import EmbeddedPostgres


@pytest.fixture(scope="module")
def cli_home():
    home = _private_tmpdir("napari-photon-cli-")
    yield home
    EmbeddedPostgres(home).stop()
    shutil.rmtree(home, ignore_errors=True)


def run(home, *args, timeout=600):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJ_", "NAPARI_PHOTON_"))}
    env.update(NAPARI_PHOTON_HOME=str(home), MPLBACKEND="Agg")
    env.pop("DISPLAY", None)
    done = subprocess.run(
        [sys.executable, "-m", "napari_photon.cli", *args],
        env=env, capture_output=True, text=True, timeout=timeout,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


def test_demo_populates_every_table_and_plots(cli_home):
    out = run(cli_home, "demo", "--frames", "120", "--size", "96", "--output", str(cli_home / "out"))
    assert "embedded PostgreSQL" in out
    rows = {line.split()[0]: line.split() for line in out.splitlines() if line[:1].isupper()}
    for table in ("Recording", "VolumeRecording", "MotionCorrected", "ROI", "Trace"):
        assert table in rows and int(rows[table][1]) > 0, out
    assert rows["Recording"][1] == "4" and rows["VolumeRecording"][1] == "1"
    ratio = float(rows["Recording"][-1].rstrip("x"))
    assert 2.5 < ratio < 6, out
    assert "registration RMS error" in out
    png = cli_home / "out" / "traces.png"
    assert png.stat().st_size > 10_000 and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "no display: not opening napari" in out


def test_storage_lists_every_movie(cli_home):
    out = run(cli_home, "storage", "--schema", "photon_demo")
    lines = [line for line in out.splitlines() if line.startswith(("Recording", "Motion", "Volume"))]
    assert len(lines) == 9  # 4 recordings, 1 volume, 4 corrected movies
    assert all(line.rstrip().endswith("active") for line in lines)
    assert "total" in out


def test_gc_dry_run_finds_nothing_after_a_clean_demo(cli_home):
    out = run(cli_home, "gc", "--schema", "photon_demo", "--dry-run", "--min-age", "0")
    assert "active: 0 orphaned zarr(s), would remove 0" in out
    assert "archive: 0 orphaned zarr(s)" in out


def test_populate_again_has_nothing_to_do(cli_home):
    out = run(cli_home, "populate", "--schema", "photon_demo")
    assert "Recording        +0" in out and "errors: 0" in out


def test_db_status(cli_home):
    out = run(cli_home, "db", "status")
    assert "127.0.0.1" in out


def test_unknown_table_is_refused(cli_home):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJ_", "NAPARI_PHOTON_"))}
    env["NAPARI_PHOTON_HOME"] = str(cli_home)
    done = subprocess.run(
        [sys.executable, "-m", "napari_photon.cli", "populate", "--schema", "photon_demo",
         "--table", "Nope"], env=env, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 2 and "unknown table(s) ['Nope']" in done.stdout


def test_populate_counts_only_the_keys_this_worker_made(pipeline, photon_home, monkeypatch, capsys):
    """Two workers with --reserve-jobs: the other one makes a key (and commits its row)
    while this one is making its own; each says +1, not the table's row growth."""
    from napari_photon.cli import _populate, main
    from napari_photon.pipeline import reporting

    keys = [tiff_session(pipeline, "W"), tiff_session(pipeline, "W")]
    command = ("populate", "--schema", pipeline.database, "--table", "Recording", "--reserve-jobs")
    other: list[str] = []

    @contextlib.contextmanager
    def other_worker_meanwhile(enabled: bool = True):
        def progress(stage: str, done: int, total: int) -> None:
            if not other:  # once, inside this worker's first make
                other.append(run(photon_home, *command))

        with reporting(progress=progress):
            yield

    monkeypatch.setattr(_populate, "terminal_progress", other_worker_meanwhile)
    assert main(list(command)) == 0
    out = capsys.readouterr().out
    assert other and "Recording        +1 " in other[0], other
    assert "Recording        +1 " in out and "errors: 0" in out, out
    assert len(pipeline.Recording & keys) == 2  # one key each


def test_populate_and_worker_take_attribute_value_keys(pipeline, capsys):
    """The same ``attribute=value`` keys as every other command, an upstream attribute
    (a session's notes) included; a bad key is refused before anything is made."""
    from napari_photon.cli import main

    mine = tiff_session(pipeline, "keyed populate")
    other = tiff_session(pipeline, "keyed other")
    schema = ["--schema", pipeline.database, "--table", "Recording"]
    assert main(["populate", *schema, "notes=keyed populate"]) == 0
    assert len(pipeline.Recording & mine) == 1 and len(pipeline.Recording & other) == 0
    assert main(["populate", *schema, "notes"]) == 2
    assert "expected attribute=value" in capsys.readouterr().out
    assert main(["worker", *schema, "--max-keys", "1", "--poll", "0.1",
                 f"mouse_id={other['mouse_id']}"]) == 0
    assert len(pipeline.Recording & other) == 1
    assert "worker stopped (max keys): 1 made" in capsys.readouterr().out
