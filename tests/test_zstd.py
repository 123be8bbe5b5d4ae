"""The zstd parameters of the shard writer: standard frames, smaller and thread-safe."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import zstandard
from numcodecs import Zstd

from napari_photon.anscombe import generalized_anscombe
from napari_photon.storage._quantize import quantize
from napari_photon.storage._zstd import compress


def _codes(seed: int = 0, shape=(256, 256)) -> np.ndarray:
    """uint8 codes of a Poisson movie frame: a smooth image of 5-50 photons plus noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[: shape[0], : shape[1]]
    lam = 5 + 45 * (0.5 + 0.5 * np.sin(x / 17.0) * np.cos(y / 23.0))
    stabilized = generalized_anscombe(rng.poisson(lam).astype(np.float32))
    return quantize(stabilized, 0.5, "uint8")


def test_any_zstd_decoder_reads_it_back():
    codes = _codes()
    frame = compress(codes)
    assert zstandard.get_frame_parameters(frame).content_size == codes.nbytes
    assert np.array_equal(np.frombuffer(Zstd().decode(frame), np.uint8), codes.ravel())
    decoded = zstandard.ZstdDecompressor().decompress(frame)
    assert decoded == codes.tobytes()


def test_smaller_than_zstd_level_1_on_stabilized_codes():
    codes = _codes(1)
    ours = len(compress(codes))
    level1 = len(Zstd(level=1).encode(codes))
    assert ours <= level1
    # literals are still entropy coded (negative levels store them raw)
    assert ours < 0.8 * len(Zstd(level=-1).encode(codes))


def test_concurrent_calls_from_many_threads():
    frames = [_codes(seed) for seed in range(16)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        encoded = list(pool.map(compress, frames * 4))
    for frame, data in zip(frames * 4, encoded):
        assert Zstd().decode(data) == frame.tobytes()


def test_non_contiguous_input_is_compressed_in_c_order():
    codes = _codes(2)
    view = codes[:, ::2]
    assert Zstd().decode(compress(view)) == np.ascontiguousarray(view).tobytes()
