"""ROI detection on a registered movie: activity first, anatomy for still cells.

The default, ``method="auto"``, runs the sparse method (``_sparse``, ``_sparse_method``)
on movies of at least :data:`SPARSE_MIN_FRAMES` frames: the movie binned in time and
high-passed in space and time (active neuropil, bleaching and drift taken out), cells
found one at a time where the most frames rise together over a soma-sized footprint,
each found cell subtracted before the next is searched for (so overlapping cells come
apart and their masks may share pixels), every ROI labelled soma, process, out of focus or
irregular from its shape and the sharpness of its edge (``_kinds``), and still cells
added from the mean image. Shorter movies use the activity method described next.

One streaming pass over the movie (:func:`summary_images`, memory bounded by a block of
frames) accumulates, in photon units, per-pixel sums and the products of every pixel with
its 8 neighbours (over frames, or over bins of ``bin_frames`` frames). From them:

* ``correlation``: each pixel's temporal correlation with its 8 neighbours (averaged).
  Photon noise is independent from pixel to pixel, so only shared signal -- a cell's
  calcium activity -- correlates neighbours;
* ``activity``: the square root of the neighbour covariance, in photons. Photon noise has
  no covariance between pixels, so this is an unbiased image of
  ``footprint * sd(calcium)``: proportional to each active cell's spatial profile, and
  close to zero on the boundary between two independent cells. Interpolation during
  registration does give noise a neighbour covariance proportional to brightness; its
  level (``noise_covariance``, the median of covariance over mean) is removed first;
* ``mean``, ``max`` and ``std`` of the photon counts.

:func:`detect_rois` then seeds cells at local maxima of the smoothed correlation image
(above median + ``threshold`` robust SDs, the SD taken from the lower half of the values),
grows each seed by watershed on the activity image, merges seeds of one cell (high saddle
between them), and keeps the connected pixels above a fraction of each cell's peak. Cells
that never fire are looked for in the background-subtracted mean image (the anatomical
path) and added where no activity ROI lies, if round and brighter than their
surroundings. A second pass extracts neuropil-corrected traces
(:func:`napari_photon.traces.extract_all`) for the SNR and skewness metrics. Every
parameter is a plain JSON-serializable keyword argument.

:func:`detect` (threshold the correlation image, split by watershed) is kept as the
simple ``"correlation"`` method. Scoring masks against ground truth lives in
:mod:`napari_photon.evaluation`.

One concept per module: ``_photons`` (photon counts from any movie), ``_moments`` and
``_summary`` (the streaming pass), ``_segment`` (seeded watershed), ``_anatomical`` (the
mean-image path), ``_sparse`` and ``_sparse_method`` (the sparse method), ``_kinds``
(soma or not), ``_correlation_method`` (:func:`detect`), ``_metrics``
(:func:`roi_metrics`) and ``_detect`` (:func:`detect_rois`, :class:`RoiResult`).
"""

from ._correlation_method import detect
from ._detect import METHODS, SPARSE_MIN_FRAMES, RoiResult, detect_rois
from ._kinds import KINDS
from ._metrics import roi_metrics
from ._segment import segment
from ._summary import ProgressCallback, SummaryImages, summary_images

__all__ = [
    "KINDS",
    "METHODS",
    "ProgressCallback",
    "RoiResult",
    "SPARSE_MIN_FRAMES",
    "SummaryImages",
    "detect",
    "detect_rois",
    "roi_metrics",
    "segment",
    "summary_images",
]
