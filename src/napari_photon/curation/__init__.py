"""The model behind interactive ROI curation: pure Python, no Qt, napari or DataJoint.

* :class:`RoiSet` / :class:`CuratedRoi` (``_roiset``): an immutable set of ROIs kept
  sparse (sorted flat pixel indices), with labels, origins, sources and metrics; dense
  masks, a label image and ``roi_at`` on request. Bad input raises
  :class:`CurationError` (``_errors``).
* Metrics of new ROIs (``_metrics``): the detection's ``roi_metrics``, on a window.
"""

from ._errors import CurationError
from ._metrics import measure, metric_names
from ._roiset import LABELS, ORIGINS, CuratedRoi, RoiSet

__all__ = ["LABELS", "ORIGINS", "CuratedRoi", "CurationError", "RoiSet", "measure",
           "metric_names"]
