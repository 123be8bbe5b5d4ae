"""The pipeline on MariaDB (the classic DataJoint server), configured with DJ_* variables."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap

import pytest
from conftest import _private_tmpdir

SCRIPT = textwrap.dedent(
    """
    import json, warnings
    warnings.simplefilter("ignore")
    import datajoint as dj
    import numpy as np
    from napari_photon import db, pipeline, synthetic
    from napari_photon.storage import PhotonTable

    out = {"configured": db.database_is_configured()}
    lab = pipeline.activate("photon_mariadb")
    out["backend"] = lab.connection._config.database.backend
    codec_schema = dj.Schema("photon_mariadb_codec", connection=lab.connection)

    @codec_schema
    class Movie(PhotonTable, dj.Manual):
        definition = '''
        movie_id : int32
        ---
        movie : <photon@>
        '''

    x = np.random.default_rng(0).poisson(10, size=(16, 24, 24)).astype(np.uint16)
    Movie.insert1({"movie_id": 1, "movie": x})
    movie = (Movie & {"movie_id": 1}).fetch1("movie")
    out["round_trip_error"] = float(np.abs(movie.photons()[:] - x).max())
    try:
        Movie.insert1({"movie_id": 2, "movie": np.ones((4, 4))})
    except dj.DataJointError as err:
        out["bad_input"] = str(err)

    key = {"mouse_id": 1, "session_date": "2026-11-25"}
    pipeline.Mouse.insert1({"mouse_id": 1, "strain": "C57BL/6J", "sex": "M"})
    pipeline.Session.insert1({**key, "experimenter": "Jane Doe", "notes": "MariaDB"})
    folder = pipeline.session_folder(key)
    folder.mkdir(parents=True)
    truth = synthetic.make_movie(n_frames=60, shape=(64, 64), n_neurons=4, max_shift=2, seed=9)
    synthetic.write_tiff(folder / "a.tif", truth.movie, frame_rate=20.0)
    pipeline.Recording.populate(key)
    pipeline.MotionCorrected.populate(key)
    out["recordings"] = len(pipeline.Recording & key)
    out["corrected_frames"] = len((pipeline.MotionCorrected & key).fetch1("corrected_movie"))
    out["frame_rate"] = (pipeline.Recording & key).fetch1("frame_rate")
    print("RESULT" + json.dumps(out))
    """
)


@pytest.fixture
def mariadb_home():
    """napari-photon's home for the MariaDB test (its stores; no embedded server)."""
    home = _private_tmpdir("napari-photon-mariadb-")
    yield home
    shutil.rmtree(home, ignore_errors=True)


@pytest.mark.mariadb
def test_codec_and_populate_on_mariadb(mariadb_server, mariadb_home):
    home = mariadb_home
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJ_", "NAPARI_PHOTON_"))}
    env.update(
        DJ_BACKEND="mysql",
        DJ_HOST=mariadb_server["host"],
        DJ_PORT=str(mariadb_server["port"]),
        DJ_USER=mariadb_server["user"],
        DJ_PASS=mariadb_server["password"],
        DJ_USE_TLS="False",
        NAPARI_PHOTON_HOME=str(home),
    )
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=300
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT")]
    assert done.returncode == 0 and lines, done.stdout[-3000:] + done.stderr[-3000:]
    result = json.loads(lines[0][len("RESULT"):])
    assert result["configured"] is True and result["backend"] == "mysql"
    assert result["round_trip_error"] < 2.0
    assert "needs 3 or 4 dimensions" in result["bad_input"]
    assert result["recordings"] == 1 and result["corrected_frames"] == 60
    assert result["frame_rate"] == pytest.approx(20.0)
    assert not (home / "postgres").exists()  # no embedded server was started
