"""The registration model: everything per-block estimation needs, built once from the
reference image (by :func:`~._build_model.build_model`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._settings import Settings
from ._tiles import TileGrid


@dataclass
class Model:
    """Everything block estimation needs, built once from the reference image."""

    settings: Settings
    shape: tuple[int, int]
    reference: np.ndarray  # (h, w) float32, movie resolution
    ref_conj: np.ndarray = field(repr=False)  # binned, tapered ref spectrum (conj, filtered)
    filt: np.ndarray = field(repr=False)
    grid: TileGrid | None = None
    tile_ncc: Any = field(default=None, repr=False)  # _ncc.NCCReference of the tiles
    tile_offsets: np.ndarray | None = field(default=None, repr=False)  # (k, 2, 2) binned px
    tile_grad_ref: np.ndarray | None = field(default=None, repr=False)  # (k, 2, tb, tb)
    tile_weight_floor: np.ndarray | None = field(default=None, repr=False)  # (k, 2)
    tile_info: np.ndarray | None = field(default=None, repr=False)  # (ny, nx, 2)
    qc_ref: np.ndarray | None = field(default=None, repr=False)  # see qc_reference
    gain_inv: np.ndarray | None = field(default=None, repr=False)  # (2, 2) bias correction

    @property
    def binned_shape(self) -> tuple[int, int]:
        b = self.settings.binning
        return self.shape[0] // b, self.shape[1] // b
