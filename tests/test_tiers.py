"""Storage tiers and shard checksums: archive, restore, verify, and interrupted moves."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from conftest import cli_env, extra_store, tiff_session

from napari_photon.cli import main
from napari_photon.storage import CorruptShard, MoveError, move_movie, verify_location
from napari_photon.storage._checksums import checksum, shard_key


@pytest.fixture
def recording(pipeline):
    """A populated Recording: (pipeline, its key, the movie's stabilized frames)."""
    key = tiff_session(pipeline, "tiers", n_frames=120)
    pipeline.populate(key, tables=("Recording",))
    row_key = (pipeline.Recording & key).keys()[0]
    movie = (pipeline.Recording & row_key).fetch1("raw_movie")
    return pipeline, row_key, np.asarray(movie[:])


def _movie(pipeline, key):
    return (pipeline.Recording & key).fetch1("raw_movie")


def _shard_file(movie, shard: int = 0) -> Path:
    return movie.location.local_path / shard_key(shard, len(movie.shape))


def _flip_a_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 3] ^= 0xFF
    path.write_bytes(bytes(data))


def test_every_shard_checksum_is_recorded_in_the_row(recording):
    pipeline, key, _ = recording
    movie = _movie(pipeline, key)
    recorded = movie.metadata["shard_crc32c"]
    n = -(-movie.shape[0] // movie.frames_per_chunk)
    assert len(recorded) == n >= 1
    assert recorded == [checksum(_shard_file(movie, i).read_bytes()) for i in range(n)]
    assert verify_location(movie.location, movie.metadata) == []


def test_a_corrupted_shard_is_named_on_read_and_found_by_verify(recording, capsys):
    pipeline, key, _ = recording
    movie = _movie(pipeline, key)
    _flip_a_byte(_shard_file(movie))
    t1 = min(movie.frames_per_chunk, movie.shape[0]) - 1
    with pytest.raises(CorruptShard, match=rf"{movie.path}.*frames 0-{t1}"):
        _movie(pipeline, key)[:]
    damaged = verify_location(movie.location, movie.metadata)
    assert [(d.shard, d.frames[0]) for d in damaged] == [(0, 0)]
    assert "checksum mismatch" in damaged[0].problem
    mouse = f"mouse_id={key['mouse_id']}"
    assert main(["verify", "--schema", pipeline.database, mouse]) == 1
    out = capsys.readouterr().out
    assert f"shard c/0/0/0 (frames 0-{t1}): checksum mismatch" in out
    assert "1 movie(s) checked, 1 damaged shard(s)" in out


def test_archive_and_restore_move_the_movie_and_fetches_follow(recording, photon_home, capsys):
    pipeline, key, frames = recording
    before = _movie(pipeline, key)
    active = before.location.local_path
    mouse = f"mouse_id={key['mouse_id']}"
    assert main(["archive", "--schema", pipeline.database, mouse]) == 0
    assert "moved" in capsys.readouterr().out
    moved = _movie(pipeline, key)
    assert moved.store == "archive" and moved.path == before.path
    assert moved.location.local_path == photon_home / "stores" / "archive" / before.path
    assert not active.exists()
    np.testing.assert_array_equal(np.asarray(moved[:]), frames)
    assert main(["verify", "--schema", pipeline.database, mouse]) == 0
    assert main(["archive", "--schema", pipeline.database, mouse]) == 0  # nothing to do
    assert "already there" in capsys.readouterr().out
    assert main(["restore", "--schema", pipeline.database, mouse]) == 0
    back = _movie(pipeline, key)
    assert back.store == "active" and active.exists() and not moved.location.local_path.exists()
    np.testing.assert_array_equal(np.asarray(back[:]), frames)


def test_a_damaged_source_is_not_moved(recording, photon_home):
    pipeline, key, _ = recording
    movie = _movie(pipeline, key)
    _flip_a_byte(_shard_file(movie))
    with pytest.raises(MoveError, match="does not match its checksum"):
        move_movie(pipeline.Recording, key, "raw_movie", source="active", target="archive")
    after = _movie(pipeline, key)
    assert after.store == "active" and after.location.local_path.exists()
    assert not (photon_home / "stores" / "archive" / after.path).exists()


def test_unknown_store_and_bad_keys_are_refused(recording, capsys):
    pipeline, key, _ = recording
    with pytest.raises(MoveError, match="unknown store 'cold'"):
        move_movie(pipeline.Recording, key, "raw_movie", source="active", target="cold")
    assert main(["archive", "--schema", pipeline.database, "mouse=1"]) == 2
    assert "unknown attribute 'mouse'" in capsys.readouterr().err
    assert main(["archive", "--schema", pipeline.database, "mouse_id"]) == 2
    assert "expected attribute=value" in capsys.readouterr().err
    assert main(["archive", "--schema", pipeline.database, "mouse_id=one"]) == 2
    assert "mouse_id takes a number" in capsys.readouterr().err
    assert main(["verify", "--schema", "no_such_schema"]) == 2
    err = capsys.readouterr().err
    assert "no schema 'no_such_schema' on the server" in err
    listed = err.split("schemas there: ")[1].strip().split(", ")
    assert pipeline.database in listed and "public" not in listed  # no server schemas
    assert not any(name.startswith("pg_") for name in listed)
    assert _movie(pipeline, key).store == "active"


_DIE = textwrap.dedent("""
    import os, sys
    from napari_photon.storage import ZarrLocation, _relocate
    schema, mouse, point = sys.argv[1:]
    if point == "copying":  # the first shard written to the archive
        write = ZarrLocation.write_bytes
        def dying_write(self, key, data):
            write(self, key, data)
            if self.store_name == "archive":
                os._exit(9)
        ZarrLocation.write_bytes = dying_write
    elif point == "copied":  # copy checked, row not switched yet
        copy = _relocate.copy_zarr
        def dying_copy(*args, **kwargs):
            copy(*args, **kwargs)
            os._exit(9)
        _relocate.copy_zarr = dying_copy
    elif point == "switched":  # row points at the archive, source not deleted yet
        remove = ZarrLocation.remove
        def dying_remove(self):
            if self.store_name == "active":
                os._exit(9)
            remove(self)
        ZarrLocation.remove = dying_remove
    from napari_photon.cli import main
    main(["archive", "--schema", schema, f"mouse_id={mouse}"])
    sys.exit(3)  # not reached: the process dies inside the move
""")


@pytest.mark.parametrize("point", ["copying", "copied", "switched"])
def test_a_move_killed_at_any_point_keeps_a_complete_copy(recording, photon_home, point):
    """The process dies (``os._exit``: no cleanup runs, as with ``kill -9``) during the
    copy, between the checked copy and the row's switch, and between the switch and the
    source's deletion; the row points at a whole movie each time, and running the
    command again finishes the move."""
    pipeline, key, frames = recording
    path = _movie(pipeline, key).path
    done = subprocess.run(
        [sys.executable, "-c", _DIE, pipeline.database, str(key["mouse_id"]), point],
        env=cli_env(photon_home), capture_output=True, text=True, timeout=300)
    assert done.returncode == 9, done.stdout + done.stderr
    after = _movie(pipeline, key)
    assert after.store == ("archive" if point == "switched" else "active")
    np.testing.assert_array_equal(np.asarray(after[:]), frames)
    assert verify_location(after.location, after.metadata) == []
    assert main(["archive", "--schema", pipeline.database, f"mouse_id={key['mouse_id']}"]) == 0
    final = _movie(pipeline, key)
    assert final.store == "archive"
    assert not (photon_home / "stores" / "active" / path).exists()
    np.testing.assert_array_equal(np.asarray(final[:]), frames)


def test_a_movie_moves_to_an_s3_tier_and_back(recording, s3_endpoint):
    pipeline, key, frames = recording
    with extra_store("s3tier", s3_endpoint):
        _there_and_back(pipeline, key, frames)


def _there_and_back(pipeline, key, frames):
    moved = move_movie(pipeline.Recording, key, "raw_movie", source="active", target="s3tier")
    assert moved.action == "moved" and moved.nbytes > 0
    remote = _movie(pipeline, key)
    assert remote.store == "s3tier" and not remote.location.is_local
    np.testing.assert_array_equal(np.asarray(remote[:]), frames)
    assert verify_location(remote.location, remote.metadata) == []
    back = move_movie(pipeline.Recording, key, "raw_movie", source="s3tier", target="active")
    assert back.action == "moved" and not remote.location.exists()
    np.testing.assert_array_equal(np.asarray(_movie(pipeline, key)[:]), frames)
