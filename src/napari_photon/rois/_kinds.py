"""What a found ROI is: a soma, a process (dendrite or axon) or an out-of-focus soma.

Two measurements tell them apart: the mask's ``compactness`` (1 for a disk; processes are
thin and long) and the footprint's ``edge`` (its mean just outside the mask, 1-3 px, over
its mean inside): an in-focus soma's footprint stops at the membrane, a soma above or
below the focal plane is blurred, its footprint spills over whatever mask is drawn.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from ._metrics import roi_metrics

KINDS = ("soma", "process", "out of focus", "irregular")


def footprint_edge(masks: np.ndarray, footprints: np.ndarray) -> np.ndarray:
    """Mean footprint in a ring 1-3 px outside each mask over its mean inside, (n,)."""
    out = np.zeros(len(masks), np.float32)
    for i, (mask, fp) in enumerate(zip(masks, footprints)):
        ring = ndimage.binary_dilation(mask, iterations=3) & ~mask
        inside = float(fp[mask].mean()) if mask.any() else 0.0
        out[i] = float(fp[ring].mean()) / inside if ring.any() and inside > 0 else 0.0
    return out


def classify(masks: np.ndarray, footprints: np.ndarray, *, min_compactness: float = 0.88,
             max_edge: float = 0.15, edge_ratio: float = 1.5, min_edge: float = -0.2,
             process_eccentricity: float = 0.85, max_shared: float = 0.35) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Label each ROI with an index into :data:`KINDS`.

    ``soma``: compact (``compactness >= min_compactness``) with an edge as sharp as the
    field's own cells: ``edge`` at most the larger of ``max_edge`` and ``edge_ratio``
    times the median edge of the compact ROIs (the focal plane's cells set what sharp
    is: optics, pixel size and the indicator all change it, and most compact ROIs are
    in-focus cells; with fewer than 5 compact ROIs nothing is called out of focus);
    ``out of focus``: compact but blurrier;
    ``process``: not compact and elongated (``eccentricity >= process_eccentricity``);
    ``irregular``: the rest (ragged pieces of neuropil or of several cells), and ROIs
    that are what was left over of a cell taken out before them: a footprint well below
    zero around the mask (``edge < min_edge``: the halo of an imperfect subtraction) or
    more than ``max_shared`` of the ROI's area inside an earlier soma (overlapping cells
    share 10-30%).

    Returns
    -------
    kinds : ndarray of int8, shape (n,)
    metrics : dict
        ``edge``, ``compactness``, ``eccentricity`` used; ``edge_limit`` (the edge
        threshold applied, a scalar).
    """
    shape = roi_metrics(masks)
    edge = footprint_edge(masks, footprints)
    compact = shape["compactness"] >= min_compactness
    limit = np.inf  # too few cells to know how sharp this field's cells are
    if compact.sum() >= 5:
        limit = max(max_edge, edge_ratio * float(np.median(edge[compact])))
    kinds = np.full(len(masks), KINDS.index("irregular"), np.int8)
    kinds[compact & (edge <= limit)] = KINDS.index("soma")
    kinds[compact & (edge > limit)] = KINDS.index("out of focus")
    kinds[~compact & (shape["eccentricity"] >= process_eccentricity)] = KINDS.index("process")
    kinds[edge < min_edge] = KINDS.index("irregular")
    taken = np.zeros(masks.shape[1:], bool)
    for i, mask in enumerate(masks):  # in the order found
        if kinds[i] != KINDS.index("soma"):
            continue
        if (mask & taken).sum() > max_shared * mask.sum():
            kinds[i] = KINDS.index("irregular")
        else:
            taken |= mask
    return kinds, {"edge": edge, "compactness": shape["compactness"],
                   "eccentricity": shape["eccentricity"], "edge_limit": np.float32(limit)}
