"""suite2p's ROI files: ``stat.npy`` and ``iscell.npy`` (and ``ops.npy``'s frame size).

``stat.npy`` is a pickled object array of one dict per ROI with at least ``ypix`` and
``xpix`` (pixel rows and columns) and ``lam`` (pixel weights); ``iscell.npy`` is float
(n, 2): ``[is_cell, probability]``. Reading unpickles ``stat.npy``, so read only files
you trust, as suite2p itself does.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..rois import SummaryImages
from ._errors import CurationError
from ._roiset import RoiSet

__all__ = ["read_suite2p", "write_suite2p"]

# iscell's probability column on export: the curator's verdict as a probability
_PROBABILITY = {"cell": 1.0, "not cell": 0.0, "unsure": 0.5}


def _mismatch(what: str, found: tuple[int, int], shape: tuple[int, int]) -> CurationError:
    return CurationError(f"{what} is for {found[0]}x{found[1]} frames, but the recording's "
                         f"frames are {shape[0]}x{shape[1]}: it belongs to another recording")


def read_suite2p(path: str | os.PathLike, shape: tuple[int, int], *,
                 images: SummaryImages | None = None) -> RoiSet:
    """The ROIs of a suite2p output folder (or its ``stat.npy``) on a recording's frame.

    Parameters
    ----------
    path : path
        suite2p's ``plane0`` folder, or its ``stat.npy``; ``iscell.npy`` and ``ops.npy``
        beside it are used when there.
    shape : tuple of int
        The recording's frame shape ``(height, width)``. ``ops.npy``'s ``Ly``/``Lx`` must
        match it, and every pixel must lie inside it.
    images : SummaryImages, optional
        For the image metrics.

    Returns
    -------
    RoiSet
        Origin ``"imported"``; labels ``"cell"`` where ``iscell[:, 0]`` is set, else
        ``"not cell"`` (all ``"cell"`` without ``iscell.npy``); metrics measured, plus
        ``probability`` (suite2p's classifier, ``iscell[:, 1]``) when given.
    """
    path = Path(path)
    folder = path if path.is_dir() else path.parent
    stat_path = path / "stat.npy" if path.is_dir() else path
    shape = (int(shape[0]), int(shape[1]))
    ops_path = folder / "ops.npy"
    if ops_path.exists():
        ops = np.load(ops_path, allow_pickle=True).item()
        if "Ly" in ops and "Lx" in ops and (int(ops["Ly"]), int(ops["Lx"])) != shape:
            raise _mismatch(str(ops_path), (int(ops["Ly"]), int(ops["Lx"])), shape)
    stat = np.load(stat_path, allow_pickle=True)
    pixels = []
    for i, roi in enumerate(stat):
        try:
            ys = np.asarray(roi["ypix"], np.int64)
            xs = np.asarray(roi["xpix"], np.int64)
        except (KeyError, TypeError, IndexError):
            raise CurationError(f"{stat_path}: entry {i} is not a suite2p ROI (a dict with "
                                f"ypix and xpix)") from None
        if ys.size == 0 or ys.size != xs.size:
            raise CurationError(f"{stat_path}: ROI {i} has {ys.size} ypix and {xs.size} xpix; "
                                f"a ROI needs one or more pixels, each with both")
        if ys.min() < 0 or xs.min() < 0 or ys.max() >= shape[0] or xs.max() >= shape[1]:
            raise CurationError(
                f"{stat_path}: ROI {i} reaches pixel (y={ys.max()}, x={xs.max()}), outside "
                f"the recording's {shape[0]}x{shape[1]} frames: the file is for frames of at "
                f"least {max(int(ys.max()) + 1, shape[0])}x{max(int(xs.max()) + 1, shape[1])}, "
                f"another recording")
        pixels.append(ys * shape[1] + xs)
    labels = None
    extra = {}
    iscell_path = folder / "iscell.npy"
    if iscell_path.exists():
        iscell = np.asarray(np.load(iscell_path, allow_pickle=False), np.float64)
        if iscell.ndim != 2 or len(iscell) != len(pixels):
            raise CurationError(f"{iscell_path} has shape {iscell.shape}; expected "
                                f"({len(pixels)}, 2), one row per ROI of {stat_path}")
        labels = ["cell" if flag > 0.5 else "not cell" for flag in iscell[:, 0]]
        if iscell.shape[1] > 1:
            extra["probability"] = iscell[:, 1]
    roiset = RoiSet.from_pixels(shape, pixels, labels=labels, images=images, origin="imported")
    if extra:
        roiset = RoiSet(roiset.shape, roiset.rois, {**roiset.metrics, **extra}, images)
    return roiset


def write_suite2p(roiset: RoiSet, folder: str | os.PathLike) -> tuple[Path, Path]:
    """Write ``stat.npy`` and ``iscell.npy`` of ``roiset`` into ``folder``.

    Each ROI's dict holds ``ypix``, ``xpix``, ``lam`` (uniform weights summing to 1),
    ``npix``, ``med`` (median pixel) and ``overlap`` (pixel also in another ROI).
    ``iscell`` is ``[label == "cell", p]`` with p 1 for cell, 0 for not cell, 0.5 for
    unsure. Returns the two paths.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    height, width = roiset.shape
    counts = np.zeros(height * width, np.int32)
    if len(roiset):
        counts = np.bincount(np.concatenate([r.pixels for r in roiset]),
                             minlength=height * width)
    stat = np.empty(len(roiset), dtype=object)
    for i, roi in enumerate(roiset):
        ys, xs = np.divmod(roi.pixels, width)
        stat[i] = {
            "ypix": ys.astype(np.int32), "xpix": xs.astype(np.int32),
            "lam": np.full(roi.area, 1.0 / roi.area, np.float32), "npix": roi.area,
            "med": [int(np.median(ys)), int(np.median(xs))],
            "overlap": counts[roi.pixels] > 1,
        }
    iscell = np.array([[label == "cell", _PROBABILITY[label]] for label in roiset.labels],
                      np.float64).reshape(len(roiset), 2)
    stat_path, iscell_path = folder / "stat.npy", folder / "iscell.npy"
    np.save(stat_path, stat, allow_pickle=True)
    np.save(iscell_path, iscell)
    return stat_path, iscell_path
