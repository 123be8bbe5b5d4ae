"""The model behind interactive ROI curation: pure Python, no Qt, napari or DataJoint.

* :class:`RoiSet` / :class:`CuratedRoi` (``_roiset``): an immutable set of ROIs kept
  sparse (sorted flat pixel indices), with labels, origins, sources and metrics; dense
  masks, a label image and ``roi_at`` on request.
* Actions (``_actions``): pure functions ``RoiSet -> RoiSet`` -- :func:`set_label`,
  :func:`merge`, :func:`split_by_correlation` (``_split``), :func:`split_by_line`,
  :func:`draw`, :func:`erase`, :func:`delete`, :func:`relabel_where` and its preview
  :func:`count_relabel`. Bad input raises :class:`CurationError` (``_errors``).
* Metrics of new ROIs (``_metrics``): the detection's ``roi_metrics``, on a window.
"""

from ._actions import (
    ACTIONS,
    OPERATORS,
    count_relabel,
    delete,
    draw,
    erase,
    merge,
    relabel_where,
    set_label,
    split_by_correlation,
    split_by_line,
)
from ._errors import CurationError
from ._metrics import measure, metric_names
from ._roiset import LABELS, ORIGINS, CuratedRoi, RoiSet

__all__ = [
    "ACTIONS",
    "LABELS",
    "OPERATORS",
    "ORIGINS",
    "CuratedRoi",
    "CurationError",
    "RoiSet",
    "count_relabel",
    "delete",
    "draw",
    "erase",
    "measure",
    "merge",
    "metric_names",
    "relabel_where",
    "set_label",
    "split_by_correlation",
    "split_by_line",
]
