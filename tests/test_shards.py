"""Whole-shard reading and writing (storage._shards) against zarr's own codec pipeline."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import zarr

from napari_photon.storage import _writer, open_movie, save_movie, write_options
from napari_photon.storage._shards import CorruptShard, layout_of

SHARED_MOVIE = Path(__file__).resolve().parents[2] / "shared" / "data" / "real-2p-movie.zarr"


def poisson(shape, seed=0, lam=12.0) -> np.ndarray:
    return np.random.default_rng(seed).poisson(lam, size=shape).astype(np.uint16)


def save(path: Path, movie: np.ndarray, budget_frames: int, through_zarr: bool,
         monkeypatch: pytest.MonkeyPatch) -> None:
    frame_bytes = 4 * int(np.prod(movie.shape[1:]))
    with monkeypatch.context() as m:
        if through_zarr:  # the writer's fallback: zarr's per-chunk codec pipeline
            m.setattr(_writer, "layout_of", lambda array: None)
        with write_options(chunk_budget=budget_frames * frame_bytes):
            save_movie(path, movie)


@pytest.mark.parametrize("shape", [(23, 40, 56), (11, 3, 24, 32)])
def test_fast_writer_stores_what_zarr_reads(tmp_path, monkeypatch, shape):
    movie = poisson(shape)
    save(tmp_path / "fast.zarr", movie, 5, False, monkeypatch)
    save(tmp_path / "zarr.zarr", movie, 5, True, monkeypatch)
    fast, slow = open_movie(tmp_path / "fast.zarr"), open_movie(tmp_path / "zarr.zarr")
    assert fast.shard_layout is not None and fast.shard_layout.frames_per_shard == 5
    # zarr decodes the shards written without it, value for value, partial last shard too
    np.testing.assert_array_equal(fast.zarr_array[...], slow.zarr_array[...])
    # and the bytes are the same format: same files, same sizes (same zstd level)
    files = sorted(p.relative_to(tmp_path / "fast.zarr") for p in
                   (tmp_path / "fast.zarr").rglob("c/**/*") if p.is_file())
    assert files == sorted(p.relative_to(tmp_path / "zarr.zarr") for p in
                           (tmp_path / "zarr.zarr").rglob("c/**/*") if p.is_file())
    assert len(files) == (5 if shape[0] == 23 else 3)


@pytest.mark.parametrize("through_zarr", [False, True])
def test_fast_reader_matches_zarr_on_any_frame_range(tmp_path, monkeypatch, through_zarr):
    movie = poisson((37, 24, 40), seed=2)
    save(tmp_path / "m.zarr", movie, 8, through_zarr, monkeypatch)
    m = open_movie(tmp_path / "m.zarr")
    assert m.shard_layout is not None
    whole = m.zarr_array[...]
    for index in [slice(None), slice(0, 8), slice(3, 5), slice(7, 30), slice(36, 37),
                  slice(30, 99), 0, 17, -1, (slice(2, 9), slice(3, 10), 5), (4, 2),
                  Ellipsis, slice(5, 5)]:
        got = m[index]
        np.testing.assert_array_equal(got, whole[index], err_msg=str(index))
        assert got.dtype == np.float32
    out = np.empty((6, 24, 40), np.float32)
    assert m.read_into(6, 12, out) is out
    np.testing.assert_array_equal(out, whole[6:12])
    with pytest.raises(IndexError):
        m[37]


def test_missing_shard_reads_as_fill_value(tmp_path, monkeypatch):
    movie = poisson((12, 16, 16))
    save(tmp_path / "m.zarr", movie, 4, False, monkeypatch)
    m = open_movie(tmp_path / "m.zarr")
    (tmp_path / "m.zarr" / m.shard_layout.key(1)).unlink()
    np.testing.assert_array_equal(m[4:8], np.zeros((4, 16, 16), np.float32))
    np.testing.assert_array_equal(m[5], m.zarr_array[5])
    assert m[0:4].max() > 0


def test_corrupt_index_is_reported_not_decoded(tmp_path, monkeypatch):
    movie = poisson((8, 16, 16))
    save(tmp_path / "m.zarr", movie, 4, False, monkeypatch)
    m = open_movie(tmp_path / "m.zarr")
    shard = tmp_path / "m.zarr" / m.shard_layout.key(0)
    data = bytearray(shard.read_bytes())
    data[-10] ^= 0xFF  # inside the index, the checksum no longer matches
    shard.write_bytes(bytes(data))
    with pytest.raises(CorruptShard, match="checksum"):
        m[0:4]
    with pytest.raises(CorruptShard, match="checksum"):
        m[1]
    np.testing.assert_array_equal(m[4:8], m.zarr_array[4:8])  # other shards still read


def test_foreign_layouts_go_through_zarr(tmp_path):
    plain = zarr.create_array(tmp_path / "plain.zarr", shape=(4, 8, 8), dtype="float32",
                              chunks=(1, 8, 8))
    assert layout_of(plain) is None
    if not SHARED_MOVIE.exists():
        pytest.skip(f"shared real movie not found at {SHARED_MOVIE}")
    real = open_movie(SHARED_MOVIE)  # anscombe-v1 data: levels, transformed on read
    assert real.shard_layout is None
    np.testing.assert_allclose(real[3:5], real.to_dask()[3:5].compute())
