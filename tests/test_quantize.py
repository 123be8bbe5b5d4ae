"""The zarr v3 quantization codec."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import zarr
from zarr.codecs import ZstdCodec

from napari_photon.storage import AnscombeQuantize, CodeOverflowError
from napari_photon.storage._quantize import dequantize, quantize


def test_quantize_round_trip_error_is_half_a_step_at_most():
    values = np.random.default_rng(0).uniform(0, 120, size=10_000).astype(np.float32)
    codes = quantize(values, 0.5, "uint8")
    assert codes.dtype == np.uint8
    error = dequantize(codes, 0.5) - values
    assert np.abs(error).max() <= 0.25 + 1e-5
    assert np.sqrt(np.mean(error**2)) == pytest.approx(0.5 / np.sqrt(12), rel=0.05)


@pytest.mark.parametrize("code_dtype", ["uint8", "uint16"])
def test_codes_are_numpys_rounded_quotients_half_to_even(code_dtype):
    rng = np.random.default_rng(1)
    values = np.concatenate([rng.uniform(0, 120, 5000), np.arange(0, 20, 0.25),
                             [127.5, 127.74]]).astype(np.float32).reshape(-1, 7)
    expected = np.rint(np.divide(values, np.float32(0.5))).astype(code_dtype)
    np.testing.assert_array_equal(quantize(values, 0.5, code_dtype), expected)
    assert quantize(np.float32([0.25, 0.75]), 0.5, code_dtype).tolist() == [0, 2]  # ties


def test_clip_negative_turns_values_below_zero_into_code_zero_only():
    values = np.float32([-3.0, -0.2, 0.2, 0.3, np.nan])
    with pytest.raises(CodeOverflowError, match="with 1 NaN"):
        quantize(values, 0.5, "uint8", clip_negative=True)
    assert quantize(values[:4], 0.5, "uint8", clip_negative=True).tolist() == [0, 0, 0, 1]


@pytest.mark.parametrize("bad", [128.0, -1.0, np.nan, np.inf])
def test_values_out_of_range_raise_instead_of_wrapping(bad):
    values = np.array([1.0, bad], dtype=np.float32)
    with pytest.raises(CodeOverflowError, match="uint8 codes at step 0.5 hold"):
        quantize(values, 0.5, "uint8")
    if np.isfinite(bad) and bad > 0:
        assert quantize(values, 0.5, "uint16")[1] == 256


def test_configuration_is_checked_and_serialized():
    with pytest.raises(ValueError, match="step must be positive"):
        AnscombeQuantize(step=0)
    with pytest.raises(ValueError, match="code dtype"):
        AnscombeQuantize(dtype="int32")
    codec = AnscombeQuantize(step=0.25, dtype="uint16")
    assert AnscombeQuantize.from_dict(codec.to_dict()) == codec


def test_zarr_array_with_the_codec(tmp_path):
    values = (np.random.default_rng(1).uniform(1, 20, size=(6, 16, 16))).astype(np.float32)
    array = zarr.create_array(
        tmp_path / "a.zarr", shape=values.shape, dtype="float32", chunks=(1, 16, 16),
        shards=(3, 16, 16), filters=[AnscombeQuantize()], compressors=[ZstdCodec(level=3)],
    )
    array[:] = values
    back = zarr.open_array(tmp_path / "a.zarr", mode="r")[:]
    assert np.abs(back - values).max() <= 0.25 + 1e-5
    with pytest.raises(ValueError, match="encodes float32"):
        zarr.create_array(tmp_path / "b.zarr", shape=(2, 4, 4), dtype="float64",
                          chunks=(1, 4, 4), filters=[AnscombeQuantize()])


def test_installed_entry_point_lets_plain_zarr_read_our_arrays(tmp_path):
    """Another program with only zarr (and this package installed) can read the data."""
    from napari_photon.storage import save_movie

    x = np.random.default_rng(2).poisson(9, size=(4, 8, 8)).astype(np.uint16)
    expected = save_movie(tmp_path / "m.zarr", x)[:]
    code = (
        "import sys, numpy as np, zarr\n"
        "assert 'napari_photon' not in sys.modules\n"
        f"a = zarr.open_array({str(tmp_path / 'm.zarr')!r}, mode='r')\n"
        "np.save(sys.stdout.buffer, a[:])\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, env=os.environ)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    import io

    np.testing.assert_array_equal(np.load(io.BytesIO(done.stdout)), expected)
