"""CaImAn results (CNMF saved as HDF5), read with ``h5py``.

CaImAn saves its estimates with ``save_dict_to_hdf5``: the spatial footprints
``estimates/A`` as a group of CSC arrays (``data``, ``indices``, ``indptr``, ``shape``) of
shape (pixels, components), pixels in Fortran order of the frame ``dims`` = ``(d1, d2)``
(rows, columns), and the accepted components ``estimates/idx_components`` (or the string
``"NoneType"`` when no evaluation ran). The frame size is ``dims`` at the top level (or
under ``estimates`` or ``params/data``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import h5py
import numpy as np
from scipy import sparse

from ..rois import SummaryImages
from ._errors import CurationError
from ._roiset import RoiSet

__all__ = ["read_caiman"]

_DIMS = ("dims", "estimates/dims", "params/data/dims")


def _dims(file: Any, path: Path) -> tuple[int, int]:
    for key in _DIMS:
        if key in file and np.asarray(file[key][()]).dtype.kind in "iuf":
            dims = tuple(int(d) for d in np.asarray(file[key][()]).ravel())
            if len(dims) == 2:
                return dims
            raise CurationError(f"{path}: {key} is {dims}; only 2-D (single plane) CaImAn "
                                f"results can be read")
    raise CurationError(f"{path} holds no frame size ({', '.join(_DIMS)}): is it a CaImAn "
                        f"CNMF file?")


def accepted_components(file: Any) -> np.ndarray | None:
    """The components CaImAn's evaluation accepted (``estimates/idx_components``) in an
    open CNMF file, or None when no evaluation ran (CaImAn then saves ``"NoneType"``)."""
    if "estimates/idx_components" not in file:
        return None
    value = np.asarray(file["estimates/idx_components"][()])
    return value.ravel() if value.dtype.kind in "iu" else None


def read_caiman(path: str | os.PathLike, shape: tuple[int, int], *,
                threshold: float = 0.2, images: SummaryImages | None = None) -> RoiSet:
    """The components of a CaImAn CNMF HDF5 file as ROIs on a recording's frame.

    Parameters
    ----------
    path : path
        The ``.hdf5`` written by ``cnmf.save``.
    shape : tuple of int
        The recording's frame shape ``(height, width)``; CaImAn's ``dims`` must equal it.
    threshold : float
        A footprint's pixels at or above this fraction of its peak weight form the mask.
    images : SummaryImages, optional
        For the image metrics.

    Returns
    -------
    RoiSet
        Origin ``"imported"``; labels ``"cell"`` for the components in
        ``idx_components`` and ``"not cell"`` for the others (all ``"cell"`` when the
        file has no evaluation).
    """
    path = Path(path)
    shape = (int(shape[0]), int(shape[1]))
    if not 0 < threshold <= 1:
        raise CurationError(f"threshold is a fraction of each footprint's peak, in (0, 1], "
                            f"not {threshold}")
    with h5py.File(path, "r") as file:
        dims = _dims(file, path)
        if dims != shape:
            raise CurationError(f"{path} is for {dims[0]}x{dims[1]} frames, but the "
                                f"recording's frames are {shape[0]}x{shape[1]}: it belongs "
                                f"to another recording")
        if "estimates/A" not in file:
            raise CurationError(f"{path} has no estimates/A (spatial footprints)")
        group = file["estimates/A"]
        footprints = sparse.csc_matrix(
            (group["data"][()], group["indices"][()], group["indptr"][()]),
            shape=tuple(int(s) for s in group["shape"][()]))
        accepted = accepted_components(file)
    if footprints.shape[0] != shape[0] * shape[1]:
        raise CurationError(f"{path}: estimates/A has {footprints.shape[0]} pixel rows; "
                            f"{shape[0]}x{shape[1]} frames have {shape[0] * shape[1]}")
    pixels = []
    for j in range(footprints.shape[1]):
        rows = footprints.indices[footprints.indptr[j]:footprints.indptr[j + 1]]
        weights = footprints.data[footprints.indptr[j]:footprints.indptr[j + 1]]
        if weights.size == 0 or weights.max() <= 0:
            raise CurationError(f"{path}: component {j} has an empty footprint")
        kept = rows[weights >= threshold * weights.max()].astype(np.int64)
        xs, ys = np.divmod(kept, shape[0])  # Fortran order: row index y varies fastest
        pixels.append(ys * shape[1] + xs)
    labels = None
    if accepted is not None:
        if accepted.size and (accepted.min() < 0 or accepted.max() >= len(pixels)):
            raise CurationError(f"{path}: idx_components names components outside "
                                f"0-{len(pixels) - 1}")
        good = np.zeros(len(pixels), bool)
        good[accepted] = True
        labels = ["cell" if g else "not cell" for g in good]
    return RoiSet.from_pixels(shape, pixels, labels=labels, images=images, origin="imported")
