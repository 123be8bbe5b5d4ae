"""A RoiSet as plain arrays (no pickle) and back; fingerprints."""

from __future__ import annotations

import numpy as np
import pytest
from curation_helpers import SHAPE, disk_mask, sample_images, sample_set

from napari_photon import curation as C
from napari_photon.curation import CurationError, fingerprint, pack, unpack


def _curated() -> C.RoiSet:
    roiset = C.merge(sample_set(), [0, 3])
    roiset = C.split_by_line(roiset, 4, (0, 42), (47, 42))
    roiset = C.draw(roiset, disk_mask((40, 56), 3), label="unsure")
    return C.set_label(roiset, [1], "not cell")


def test_pack_gives_plain_arrays_that_unpack_to_an_equal_set():
    roiset = _curated()
    arrays = pack(roiset)
    assert all(a.dtype != object for a in arrays.values())
    assert arrays["pixels"].dtype == np.int32
    assert arrays["pixel_offsets"][-1] == arrays["pixels"].size
    back = unpack(arrays, sample_images())
    assert back == roiset
    assert back.labels == roiset.labels and back.origins == roiset.origins
    assert back.sources == roiset.sources
    assert back.images is not None
    assert unpack(pack(C.RoiSet.from_pixels(SHAPE, []))) == C.RoiSet.from_pixels(SHAPE, [])


def test_a_packed_set_survives_npz_without_pickle(tmp_path):
    roiset = _curated()
    np.savez(tmp_path / "set.npz", **pack(roiset))
    with np.load(tmp_path / "set.npz", allow_pickle=False) as archive:
        back = unpack({k: archive[k] for k in archive.files})
    assert back == roiset


def test_fingerprint_follows_the_content():
    roiset = _curated()
    assert fingerprint(roiset) == fingerprint(unpack(pack(roiset)))
    assert fingerprint(roiset) != fingerprint(C.set_label(roiset, [0], "unsure"))
    assert fingerprint(roiset) != fingerprint(C.delete(roiset, [5]))


def test_unpack_refuses_what_pack_did_not_make():
    arrays = pack(sample_set())
    del arrays["labels"]
    with pytest.raises(CurationError, match="not a packed ROI set"):
        unpack(arrays)
