"""CaImAn results in: its motion-corrected memmap and its CNMF components as pipeline rows.

CaImAn keeps a registered movie as a memory-mapped file of float32 whose name carries its
layout, ``<base>_d1_<rows>_d2_<columns>_d3_1_order_<C|F>_frames_<T>_.mmap``: an array of
(pixels, frames) in that memory order, the pixels of each frame in Fortran order. Its CNMF
results (``cnm.save(...)``, HDF5) hold the spatial footprints ``estimates/A``, the accepted
components ``estimates/idx_components`` after evaluation, and ``mmap_file``, the memmap the
components were fitted on. The shifts are not in either file: CaImAn keeps them on the
``MotionCorrect`` object (``mc.shifts_rig``, the (row, column) shift applied to each frame),
which the user saves with ``np.save``; without them the shifts are recorded as NaN.

:func:`import_caiman` makes, through :func:`._imported.insert_imported`, the
``MotionCorrected`` row of the memmap (through the recording's calibration: CaImAn keeps
the raw values), the ``ROI`` row of the footprints (thresholded as
:func:`napari_photon.curation.read_caiman` does) and a ``Curation`` of the evaluation.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from ..calibration import Calibration
from ._imported import insert_imported, recording_to_import

__all__ = ["CaimanImportError", "caiman_memmap", "import_caiman"]

_MEMMAP_NAME = re.compile(r"_d1_(\d+)_d2_(\d+)_d3_(\d+)_order_([CF])_frames_(\d+)_?\.mmap$")


class CaimanImportError(ValueError):
    """CaImAn results that cannot be imported for the recording; the message says why."""


def caiman_memmap(path: str | Path) -> np.ndarray:
    """CaImAn's memmap as a lazy (frames, rows, columns) view of float32.

    Raises
    ------
    CaimanImportError
        A name without CaImAn's layout, a volume (``d3`` > 1), or a file whose size is
        not what its name says.
    """
    path = Path(path)
    match = _MEMMAP_NAME.search(path.name)
    if match is None:
        raise CaimanImportError(
            f"{path}: not a CaImAn memmap name; expected "
            "<base>_d1_<rows>_d2_<columns>_d3_1_order_<C|F>_frames_<T>_.mmap")
    rows, columns, planes, order, frames = (
        int(match[1]), int(match[2]), int(match[3]), match[4], int(match[5]))
    if planes != 1:
        raise CaimanImportError(f"{path} is a volume (d3={planes}); only single-plane "
                                "CaImAn movies can be imported")
    if not path.exists():
        raise CaimanImportError(f"{path}: no such file (CaImAn's registered movie)")
    expected = rows * columns * frames * 4
    if path.stat().st_size != expected:
        raise CaimanImportError(
            f"{path} holds {path.stat().st_size} bytes; its name says {frames} frames of "
            f"{rows}x{columns} float32, {expected} bytes")
    pixels = np.memmap(path, dtype=np.float32, mode="r", shape=(rows * columns, frames),
                       order=order)
    return pixels.T.reshape(frames, columns, rows).transpose(0, 2, 1)


def _memmap_of(results: Path, file: Any) -> Path:
    """The memmap the results name (``mmap_file``), or the file of that name beside them."""
    if "mmap_file" not in file:
        raise CaimanImportError(f"{results} names no mmap_file; give the registered movie "
                                "(CaImAn's .mmap) with --movie (movie= from Python)")
    value = file["mmap_file"][()]
    named = Path(value.decode() if isinstance(value, bytes) else str(value))
    return named if named.exists() else results.parent / named.name


def _shifts(path: Path, frames: int) -> tuple[np.ndarray, np.ndarray]:
    shifts = np.load(path, allow_pickle=False)
    if shifts.shape != (frames, 2) or not np.isfinite(shifts).all():
        raise CaimanImportError(
            f"{path} holds an array of shape {shifts.shape}; expected ({frames}, 2) finite "
            "(row, column) shifts, one row per frame, as CaImAn's mc.shifts_rig")
    return shifts[:, 0].astype(np.float32), shifts[:, 1].astype(np.float32)


def import_caiman(pipeline: Any, results: str | Path, recording_key: dict, *,
                  movie: str | Path | None = None, shifts: str | Path | None = None,
                  curator: str = "caiman") -> dict:
    """Import CaImAn's registered movie and CNMF components as the recording's.

    Parameters
    ----------
    pipeline : Pipeline
    results : path
        The HDF5 file ``cnm.save`` wrote.
    recording_key : dict
        Selects exactly one ``Recording``: the movie CaImAn registered.
    movie : path, optional
        The registered movie (``.mmap``); default the results' ``mmap_file`` (looked for
        beside the results when its recorded path is gone).
    shifts : path, optional
        A ``.npy`` of (frames, 2) (row, column) shifts, as ``np.save(f, mc.shifts_rig)``;
        without it the shifts are NaN (not recorded).
    curator : str
        Recorded as the curator of the curation made of the evaluation.

    Returns
    -------
    dict
        The keys made: ``motion``, ``roi`` and ``curation`` (None when CaImAn's
        components were not evaluated).

    Raises
    ------
    CaimanImportError
        Results or a movie for frames of another size or number, a file that is not
        CaImAn's, or a key that selects no or several recordings. Nothing is inserted then.
    """
    from ..curation import CurationError, read_caiman
    from ..curation._caiman import accepted_components

    results = Path(results)
    recording = recording_to_import(pipeline, recording_key, CaimanImportError)
    shape = (int(recording["height"]), int(recording["width"]))
    n_frames = int(recording["n_frames"])
    try:
        with h5py.File(results, "r") as file:
            movie = Path(movie) if movie is not None else _memmap_of(results, file)
            evaluated = accepted_components(file) is not None
    except OSError as err:
        raise CaimanImportError(f"{results}: not an HDF5 file written by CaImAn's "
                                f"cnm.save ({err})") from None
    frames = caiman_memmap(movie)
    if frames.shape != (n_frames, *shape):
        raise CaimanImportError(
            f"{movie} holds {frames.shape[0]} frames of {frames.shape[1]}x{frames.shape[2]}; "
            f"the recording has {n_frames} of {shape[0]}x{shape[1]}")
    if shifts is None:
        shift_y = shift_x = np.full(n_frames, np.nan, np.float32)
    else:
        shift_y, shift_x = _shifts(Path(shifts), n_frames)
    try:
        found = read_caiman(results, shape)
    except CurationError as err:
        raise CaimanImportError(str(err)) from None
    return insert_imported(
        pipeline, recording, tool="caiman", source=results, movie=frames,
        calibration=Calibration.from_dict(recording["calibration"]),
        shift_y=shift_y, shift_x=shift_x, found=found,
        curation_note=f"CaImAn idx_components of {results}" if evaluated else None,
        curator=curator)
