"""suite2p results in: its registered movie, its ROIs and its cell labels as pipeline rows.

A suite2p plane folder (``suite2p/plane0``) holds the registered movie ``data.bin``
(int16, frames x Ly x Lx; suite2p halves uint16 TIFF values on the way in), the
registration offsets (``reg_outputs.npy`` in suite2p 1.x, ``ops.npy`` before), the ROIs
(``stat.npy``) and the classifier's labels (``iscell.npy``). :func:`import_suite2p` makes of
them, for one recording (through :func:`._imported.insert_imported`):

* a ``MotionParams`` row of method ``imported`` recording the folder, and the
  ``MotionCorrected`` row under it: the binary streamed into the ``<photon@>`` store
  through the recording's calibration, the shifts (minus suite2p's offsets: suite2p
  reports displacements, the pipeline the shift applied);
* a ``RoiParams`` row of method ``imported`` and the ``ROI`` row: suite2p's pixels as
  masks, with the pipeline's metrics;
* a ``Curation`` of that ROI set labelled by ``iscell`` (when there is one).

Traces are then made by the pipeline (``populate``), from these masks. ``populate`` never
computes an ``imported`` parameter set itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..calibration import Calibration
from ._imported import insert_imported, recording_to_import

__all__ = ["Suite2pImportError", "import_suite2p"]


class Suite2pImportError(ValueError):
    """A suite2p folder that cannot be imported for the recording; the message says why."""


def _settings(folder: Path) -> dict:
    """suite2p's frame size, frame count and offsets, from 1.x files or ``ops.npy``."""
    found: dict = {}
    for name in ("ops.npy", "db.npy", "settings.npy", "reg_outputs.npy"):
        path = folder / name
        if path.exists():
            value = np.load(path, allow_pickle=True)
            value = value.item() if value.dtype == object and value.shape == () else {}
            found.update(value if isinstance(value, dict) else {})
    missing = [k for k in ("Ly", "Lx", "yoff", "xoff") if k not in found]
    if missing:
        raise Suite2pImportError(
            f"{folder}: no {', '.join(missing)} in ops.npy / db.npy / reg_outputs.npy; "
            "expected a suite2p plane folder after registration")
    return found


def import_suite2p(pipeline: Any, folder: str | Path, recording_key: dict, *,
                   curator: str = "suite2p") -> dict:
    """Import a suite2p plane folder as the recording's motion correction and ROI set.

    Parameters
    ----------
    pipeline : Pipeline
    folder : path
        suite2p's plane folder (holding ``data.bin`` and ``stat.npy``).
    recording_key : dict
        Selects exactly one ``Recording``: the movie suite2p registered.
    curator : str
        Recorded as the curator of the curation made of ``iscell.npy``.

    Returns
    -------
    dict
        The keys made: ``motion`` (MotionCorrected), ``roi`` (ROI) and ``curation``
        (None without ``iscell.npy``).

    Raises
    ------
    Suite2pImportError
        A folder without suite2p's files, or made for frames of another size or number,
        or a key that selects no or several recordings. Nothing is inserted then.
    """
    from ..curation import CurationError, read_suite2p

    folder = Path(folder)
    recording = recording_to_import(pipeline, recording_key, Suite2pImportError)
    settings = _settings(folder)
    shape = (int(recording["height"]), int(recording["width"]))
    n_frames = int(recording["n_frames"])
    if (int(settings["Ly"]), int(settings["Lx"])) != shape:
        raise Suite2pImportError(
            f"{folder} is for {settings['Ly']}x{settings['Lx']} frames; the recording's are "
            f"{shape[0]}x{shape[1]}")
    binary = folder / "data.bin"
    if not binary.exists():
        raise Suite2pImportError(f"{folder}: no data.bin (suite2p's registered movie)")
    frames = binary.stat().st_size // (2 * shape[0] * shape[1])
    if frames != n_frames or len(settings["yoff"]) != n_frames:
        raise Suite2pImportError(
            f"{folder} holds {frames} registered frames and {len(settings['yoff'])} offsets; "
            f"the recording has {n_frames}")
    try:
        found = read_suite2p(folder, shape)
    except CurationError as err:
        raise Suite2pImportError(str(err)) from None
    cal = Calibration.from_dict(recording["calibration"])
    if recording["raw_movie"].metadata.get("source_dtype", "uint16") in ("uint16", "int32"):
        # suite2p stored x // 2: half the gain, half the offset, minus the floor's 1/4
        cal = Calibration(gain=cal.gain / 2, zero_level=cal.zero_level / 2 - 0.25,
                          read_noise=cal.read_noise / 2)
    movie = np.memmap(binary, dtype=np.int16, mode="r", shape=(n_frames, *shape))
    return insert_imported(
        pipeline, recording, tool="suite2p", source=folder, movie=movie, calibration=cal,
        shift_y=-np.asarray(settings["yoff"], np.float32),
        shift_x=-np.asarray(settings["xoff"], np.float32), found=found,
        curation_note=(f"suite2p iscell.npy of {folder}"
                       if (folder / "iscell.npy").exists() else None),
        curator=curator)
