"""CaImAn CNMF HDF5: files written with h5py in the layout of CaImAn's save_dict_to_hdf5."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
from curation_helpers import CENTRES, RADII, SHAPE, sample_masks
from scipy import sparse

from napari_photon.curation import CurationError, read_caiman


def _footprints(shape=SHAPE) -> np.ndarray:
    """Gaussian footprints (n, h, w), zero outside each sample disk."""
    yy, xx = np.mgrid[:shape[0], :shape[1]]
    masks = sample_masks(shape)
    return np.array([np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (r ** 2)) * m
                     for (cy, cx), r, m in zip(CENTRES, RADII, masks)])


def _write_cnmf(path, footprints, idx_components=None, dims=SHAPE, dims_key="dims"):
    """As CaImAn's cnmf.save: A (pixels x n) in Fortran pixel order, as a CSC group."""
    columns = [f.ravel(order="F") for f in footprints]
    a = sparse.csc_matrix(np.stack(columns, axis=1))
    with h5py.File(path, "w") as file:
        file[dims_key] = np.array(dims)
        file["estimates/A/data"] = a.data
        file["estimates/A/indptr"] = a.indptr
        file["estimates/A/indices"] = a.indices
        file["estimates/A/shape"] = a.shape
        file["estimates/idx_components"] = (
            "NoneType" if idx_components is None else np.asarray(idx_components))
        file["estimates/C"] = np.zeros((len(footprints), 10))
    return path


def test_read_caiman_thresholds_footprints_in_fortran_order(tmp_path):
    footprints = _footprints()
    path = _write_cnmf(tmp_path / "cnmf.hdf5", footprints, idx_components=[0, 2, 5])
    roiset = read_caiman(path, SHAPE)
    expected = footprints >= 0.2 * footprints.max(axis=(1, 2), keepdims=True)
    expected &= footprints > 0
    assert np.array_equal(roiset.masks(), expected)
    assert roiset.labels == ("cell", "not cell", "cell", "not cell", "not cell", "cell")
    assert roiset.origins == ("imported",) * 6
    loose = read_caiman(path, SHAPE, threshold=0.01)
    assert (loose.metric("area") >= roiset.metric("area")).all()


def test_read_caiman_without_evaluation_labels_all_cells(tmp_path):
    path = _write_cnmf(tmp_path / "cnmf.hdf5", _footprints(), dims_key="params/data/dims")
    assert read_caiman(path, SHAPE).labels == ("cell",) * 6


def test_a_caiman_file_for_other_frames_is_refused_naming_both_shapes(tmp_path):
    other = (64, 48)  # transposed: the same pixel count
    footprints = _footprints(other)
    path = _write_cnmf(tmp_path / "cnmf.hdf5", footprints, dims=other)
    with pytest.raises(CurationError, match="is for 64x48 frames, but the recording's frames "
                                            "are 48x64"):
        read_caiman(path, SHAPE)


def test_bad_caiman_files_are_refused(tmp_path):
    with h5py.File(tmp_path / "empty.hdf5", "w") as file:
        file["something"] = np.zeros(3)
    with pytest.raises(CurationError, match="holds no frame size"):
        read_caiman(tmp_path / "empty.hdf5", SHAPE)
    path = _write_cnmf(tmp_path / "cnmf.hdf5", _footprints(), idx_components=[0, 9])
    with pytest.raises(CurationError, match="idx_components names components outside 0-5"):
        read_caiman(path, SHAPE)
    with pytest.raises(CurationError, match=r"fraction of each footprint's peak, in \(0, 1\]"):
        read_caiman(path, SHAPE, threshold=0)
    with h5py.File(tmp_path / "nofoot.hdf5", "w") as file:
        file["dims"] = np.array(SHAPE)
    with pytest.raises(CurationError, match="no estimates/A"):
        read_caiman(tmp_path / "nofoot.hdf5", SHAPE)
    with h5py.File(tmp_path / "3d.hdf5", "w") as file:
        file["dims"] = np.array((4, *SHAPE))
    with pytest.raises(CurationError, match="only 2-D"):
        read_caiman(tmp_path / "3d.hdf5", SHAPE)
