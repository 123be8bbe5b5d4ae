"""Viewing a fetched movie through ``to_dask()`` keeps about the frames shown, not shards."""

from __future__ import annotations

import tracemalloc

import dask
import dask.array as da
import numpy as np
from dask.cache import Cache

from napari_photon.storage import save_movie

FRAMES, SIZE = 2000, 64
FRAME_BYTES = SIZE * SIZE * 4


def test_stepping_through_to_dask_holds_about_the_frames_shown(tmp_path):
    """napari shows a dask array one frame at a time with task fusion off and an
    opportunistic cache that keeps the chunks it computed
    (``napari.utils._dask_utils.configure_dask``): with shard-sized chunks every step
    reads a shard and the cache fills with shards."""
    counts = np.random.default_rng(0).poisson(8, (FRAMES, SIZE, SIZE)).astype(np.uint16)
    movie = save_movie(tmp_path / "long.zarr", counts)  # the writer's defaults
    assert movie.frames_per_chunk == FRAMES  # one 32 MB shard of float32 values
    lazy = movie.to_dask()
    cache = Cache(256 * 2**20)  # a fixed budget (napari's: a quarter of the memory)
    with cache, dask.config.set({"optimization.fuse.active": False}):
        da.zeros(2).compute()  # dask's imports at a first compute are not the stepping's
        movie[0]  # nor is opening the store
        tracemalloc.start()
        try:
            for t in range(FRAMES):
                frame = lazy[t].compute()
                # napari's cache keeps what was computed: a few copies of each frame shown
                assert cache.cache.total_bytes <= 8 * (t + 1) * FRAME_BYTES, t
                if t % 499 == 0:
                    np.testing.assert_array_equal(frame, movie[t])
                if t == 99:
                    peak = tracemalloc.get_traced_memory()[1]
                    tracemalloc.stop()
                    # 100 frames of 16 kB shown: far less than one shard read
                    assert peak < 16 * 2**20, peak
        finally:
            tracemalloc.stop()
